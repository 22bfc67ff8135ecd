"""Demo reconciliation: a Stripe payout file for the demo's card orders and the bank statement that
credits the payouts, imported and matched through the services, leaving a few exceptions to work.

Called once from apps.core.demo after the orders exist. Files are generated (the demo's payment
references are random), in the published formats, exactly as a finance clerk would upload them.
"""

import csv
import io
import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from apps.orders.models import Order
from apps.orders.selectors import order_list
from apps.orders.states import FULFILLED
from apps.reconciliation.models import ReconciliationRun
from apps.reconciliation.services import reconciliation_run_create, reconciliation_run_execute

CENT = Decimal("0.01")
COLUMNS = [
    "automatic_payout_id",
    "automatic_payout_effective_at_utc",
    "balance_transaction_id",
    "created_utc",
    "available_on_utc",
    "currency",
    "gross",
    "fee",
    "net",
    "reporting_category",
    "source_id",
    "description",
    "charge_id",
    "payment_intent_id",
]


def _fee(gross: Decimal) -> Decimal:
    return (abs(gross) * Decimal("0.029") + Decimal("0.30")).quantize(CENT, rounding=ROUND_HALF_UP)


def settlement_csv(*, orders: Sequence[Order], rng: random.Random, today: date) -> tuple[bytes, dict[str, Decimal]]:
    """Two payouts over the orders' card payments, with one amount off, one unknown charge and one unknown
    refund. Returns the file and each payout's net."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    half = len(orders) // 2
    payouts = {"po_demo_" + f"{rng.getrandbits(40):010x}": today - timedelta(days=3)}
    payouts["po_demo_" + f"{rng.getrandbits(40):010x}"] = today - timedelta(days=2)
    ids = list(payouts)
    nets = dict.fromkeys(ids, Decimal("0.00"))

    def line(payout: str, category: str, gross: Decimal, ref: str, description: str, fee: Decimal) -> None:
        paid = payouts[payout]
        txn = f"txn_{rng.getrandbits(48):012x}"
        created = paid - timedelta(days=2)
        refund = category == "refund"
        writer.writerow(
            [
                payout,
                f"{paid} 00:00:00",
                txn,
                f"{created} {rng.randint(8, 20):02d}:{rng.randint(0, 59):02d}:00",
                f"{paid} 00:00:00",
                "usd",
                f"{gross:.2f}",
                f"{fee:.2f}",
                f"{gross - fee:.2f}",
                category,
                ref if refund else f"ch_{ref.removeprefix('pay_')}",
                description,
                "" if refund else f"ch_{ref.removeprefix('pay_')}",
                "" if refund else ref,
            ]
        )
        nets[payout] += gross - fee

    for i, order in enumerate(orders):
        gross = order.payment_amount if order.payment_amount is not None else order.total
        if i == 3:
            gross += Decimal("1.00")  # the processor captured a different amount: mismatched
        line(ids[0] if i < half else ids[1], "charge", gross, order.payment_reference, order.number, _fee(gross))
    line(ids[0], "charge", Decimal("42.50"), "pay_unknown000001", "Order from another shop", _fee(Decimal("42.50")))
    line(ids[1], "refund", Decimal("-15.00"), "re_demo_unknown", "REFUND FOR CHARGE", Decimal("0.00"))
    return out.getvalue().encode(), nets


def statement_xml(*, nets: dict[str, Decimal], today: date) -> bytes:
    """A camt.053.001.08 day statement: payout 1 named, payout 2 by amount only, rent, and a stray credit."""
    (first, net1), (_second, net2) = nets.items()
    opening = Decimal("25000.00")
    entries = [
        (net1, "CRDT", today - timedelta(days=3), f"STRIPE PAYOUT {first}", "DEMO-0001"),
        (net2, "CRDT", today - timedelta(days=1), "STRIPE TRANSFER", "DEMO-0002"),
        (Decimal("4200.00"), "DBIT", today - timedelta(days=1), "Rent warehouse WH-EAST", "DEMO-0003"),
        (Decimal("87.13"), "CRDT", today, "STRIPE PAYOUT po_demo_unknown", "DEMO-0004"),
    ]
    closing = opening + sum((a if ind == "CRDT" else -a for a, ind, *_ in entries), Decimal("0"))
    ntry = "".join(
        f"""
      <Ntry>
        <Amt Ccy="USD">{amount:.2f}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>{ref}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{"RCDT" if ind == "CRDT" else "ICDT"}</Cd>
          <SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls>
      </Ntry>"""
        for amount, ind, day, text, ref in entries
    )
    start = today - timedelta(days=3)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>DEMO-{today:%Y%m%d}</MsgId><CreDtTm>{today}T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>DEMO-STMT-{today:%Y%m%d}</Id>
      <FrToDt><FrDtTm>{start}T00:00:00</FrDtTm><ToDtTm>{today}T23:59:59</ToDtTm></FrToDt>
      <Acct><Id><IBAN>US00DEMO0000000000001234</IBAN></Id><Ccy>USD</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">{opening:.2f}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{start}</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">{closing:.2f}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{today}</Dt></Dt></Bal>{ntry}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()


def seed(*, rng: random.Random, actor: AbstractBaseUser | None, orders: int = 24) -> list[ReconciliationRun]:
    """Import a settlement file for up to `orders` fulfilled card orders, then the bank statement."""
    paid = list(
        order_list(status=FULFILLED)
        .filter(payment_method="card", currency="USD")
        .exclude(payment_reference="")
        .order_by("id")[:orders]
    )
    if len(paid) < 4:
        return []
    today = timezone.localdate()
    content, nets = settlement_csv(orders=paid, rng=rng, today=today)
    runs = []
    for kind, name, data in (
        ("settlement", f"stripe-payouts-{today}.csv", content),
        ("bank_statement", f"camt053-{today}.xml", statement_xml(nets=nets, today=today)),
    ):
        run = reconciliation_run_create(kind=kind, file_name=name, content=data, actor=actor)
        runs.append(reconciliation_run_execute(run_id=run.pk) or run)
    return runs
