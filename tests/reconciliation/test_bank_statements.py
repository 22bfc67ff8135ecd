"""Bank statements: camt.053 .001.02 / .001.08 / loose files, balance check, entry dedupe, payout matching."""

from decimal import Decimal

import pytest

from apps.core.models import Incident
from apps.reconciliation.models import BankEntry, Payout, ReconciliationRun
from apps.reconciliation.services import InvalidFile, reconciliation_run_create
from tests.reconciliation.helpers import counterparts, fixture, run_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def payouts(db):
    """Payouts po_1PAYOUTA (224.40, 2026-05-04) and po_1PAYOUTB (206.86, 2026-05-05), awaiting the bank."""
    counterparts()
    run_file("settlement", fixture("stripe_payouts.csv"))
    return {p.payout_id: p for p in Payout.objects.all()}


def bank_incidents():
    """Incidents of the bank run (the settlement run before it raised its own; the trail is append-only)."""
    return Incident.objects.exclude(kind__in=["reconciliation.settlement_exceptions", "reconciliation.payout_adjusted"])


def entries(run):
    return [
        (e.position, e.bank_reference[:12], e.credit, e.amount, e.status, e.payout.payout_id if e.payout_id else None)
        for e in BankEntry.objects.filter(run=run).select_related("payout")
    ]


def test_camt053_001_02_matches_payouts_by_reference_then_by_amount_and_date(payouts):
    run = run_file("bank_statement", fixture("camt053_001_02.xml"), "stmt.xml")

    assert entries(run) == [
        (1, "BANKREF-001", True, Decimal("224.40"), "matched", "po_1PAYOUTA"),
        (2, "BANKREF-002", True, Decimal("206.86"), "matched", "po_1PAYOUTB"),
        (3, "sha256:f0b52", False, Decimal("500.00"), "not_applicable", None),
        (4, "BANKREF-004", True, Decimal("99.99"), "unmatched", None),
    ]
    assert list(BankEntry.objects.filter(run=run).values_list("note", flat=True)[:2]) == [
        "names the payout",
        "same amount within the date window",
    ]
    assert (run.status, run.lines, run.matched, run.unmatched, run.mismatched) == ("succeeded", 4, 2, 1, 0)
    assert set(Payout.objects.values_list("status", flat=True)) == {"in_bank"}
    assert run.summary["statements"] == [
        {
            "id": "STMT-2026-05-06",
            "account": "DE89370400440532013000",
            "currency": "USD",
            "opening": "1000.00",
            "closing": "1031.25",
            "entries": 4,
        }
    ]
    incident = bank_incidents().get()
    assert (incident.kind, incident.owner_team) == ("reconciliation.bank_exceptions", "finance")
    assert [e["bank_reference"] for e in incident.details["entries"]] == ["BANKREF-004"]


def test_camt053_001_08_flags_a_wrong_amount_and_a_payout_missing_after_its_window(payouts):
    run = run_file("bank_statement", fixture("camt053_001_08.xml"))

    assert entries(run) == [
        (1, "CHASE-77001", True, Decimal("206.86"), "matched", "po_1PAYOUTB"),
        (2, "CHASE-77002", True, Decimal("224.00"), "mismatched", None),
        (3, "20260521-000", False, Decimal("12.50"), "not_applicable", None),
    ]
    assert BankEntry.objects.get(bank_reference="CHASE-77002").note == (
        "names payout po_1PAYOUTA of 224.40 USD paid on 2026-05-04"
    )
    assert BankEntry.objects.filter(run=run).values_list("account", flat=True).first() == "000123456789"
    assert (run.matched, run.unmatched, run.mismatched) == (1, 0, 1)
    assert run.summary["payouts_overdue"] == ["po_1PAYOUTA"]
    missing = Incident.objects.get(kind="reconciliation.payout_not_in_bank")
    assert (missing.dedupe_key, missing.severity, missing.details["net"]) == (
        "recon-payout-missing:po_1PAYOUTA",
        "high",
        "224.40",
    )
    assert Incident.objects.filter(kind="reconciliation.bank_exceptions").count() == 1


def test_a_loose_non_schema_valid_statement_is_read_and_identical_entries_without_reference_stay_two():
    run = run_file("bank_statement", fixture("camt053_loose.xml"))

    rows = list(BankEntry.objects.filter(run=run).values_list("position", "amount", "credit", "status"))
    assert rows == [
        (1, Decimal("10.00"), True, "not_applicable"),
        (2, Decimal("10.00"), True, "not_applicable"),
        (3, Decimal("5.00"), False, "not_applicable"),
    ]
    refs = list(BankEntry.objects.filter(run=run).values_list("bank_reference", flat=True))
    assert refs[0].startswith("sha256:") and refs[1].startswith("sha256:") and refs[0] != refs[1]
    assert refs[2] == "N-3"
    assert (run.status, run.summary["pending_entries_skipped"]) == ("succeeded", 1)


def test_an_unbalanced_statement_fails_the_run_with_the_figures_and_imports_nothing(payouts):
    content = fixture("camt053_001_02.xml").replace(b"1031.25", b"1030.25")

    run = run_file("bank_statement", content, "bad.xml")

    assert run.status == "failed"
    assert run.failure == (
        "Statement STMT-2026-05-06: opening 1000.00 + credits 531.25 − debits 500.00 = 1031.25, "
        "but the closing balance is 1030.25 (difference -1.00)"
    )
    assert not BankEntry.objects.exists()
    assert set(Payout.objects.values_list("status", flat=True)) == {"awaiting_bank"}
    incident = bank_incidents().get()
    assert (incident.kind, incident.severity, incident.owner_team, incident.details["reason"]) == (
        "reconciliation.statement_unbalanced",
        "high",
        "finance",
        run.failure,
    )


def test_the_same_entries_in_another_file_are_never_imported_twice(payouts):
    first = run_file("bank_statement", fixture("camt053_001_02.xml"))
    # the bank re-sends the statement (a new message id, so a different file)
    resent = fixture("camt053_001_02.xml").replace(b"MSG-20260506-0001", b"MSG-20260507-0001")

    second = run_file("bank_statement", resent)

    assert (second.status, second.lines, second.duplicates, second.matched) == ("succeeded", 4, 4, 0)
    assert BankEntry.objects.count() == 4
    assert set(BankEntry.objects.values_list("run_id", flat=True)) == {first.pk}


def test_a_settlement_arriving_after_the_statement_pairs_with_the_waiting_credits():
    # given the bank statement came first: its payout credits wait unmatched
    run_file("bank_statement", fixture("camt053_001_02.xml"))
    assert BankEntry.objects.filter(status="unmatched").count() == 3

    # when the settlement file arrives
    counterparts()
    run_file("settlement", fixture("stripe_payouts.csv"))

    # then the two credits pair with their payouts
    assert dict(BankEntry.objects.filter(payout__isnull=False).values_list("bank_reference", "payout__payout_id")) == {
        "BANKREF-001": "po_1PAYOUTA",
        "BANKREF-002": "po_1PAYOUTB",
    }
    assert set(Payout.objects.values_list("status", flat=True)) == {"in_bank"}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<Document><BkToCstmrStmt>&b;</BkToCstmrStmt></Document>",
            id="entity-expansion-bomb",
        ),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>',
            id="external-entity",
        ),
        pytest.param(b"<Document><BkToCstmrStmt><Stmt>", id="not-well-formed"),
        pytest.param(b"<Document><BkToCstmrNtfctn/></Document>", id="camt054-not-053"),
        pytest.param(b"automatic_payout_id,gross\npo_1,1.00\n", id="a-csv"),
    ],
)
def test_unreadable_or_dangerous_xml_is_refused_and_nothing_is_written(content):
    with pytest.raises(InvalidFile):
        reconciliation_run_create(kind="bank_statement", file_name="x.xml", content=content, actor=None)

    assert not ReconciliationRun.objects.exists()


def test_a_negative_payout_is_matched_to_the_bank_debit_that_took_it():
    # given a payout whose refunds exceeded its charges
    content = (
        b"automatic_payout_id,balance_transaction_id,available_on_utc,currency,gross,fee,net,reporting_category\n"
        b"po_NEG,txn_n1,2026-07-01 00:00:00,usd,-80.00,0.00,-80.00,refund\n"
        b"po_NEG,txn_n2,2026-07-01 00:00:00,usd,30.00,1.17,28.83,charge\n"
    )
    run_file("settlement", content)
    assert Payout.objects.get().net == Decimal("-51.17")
    # and the statement where the processor debited it
    statement = b"""<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"><BkToCstmrStmt><Stmt>
      <Id>NEG-1</Id><Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>USD</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-07-01</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">48.83</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-07-02</Dt></Dt></Bal>
      <Ntry><Amt Ccy="USD">51.17</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-07-02</Dt></BookgDt>
        <AcctSvcrRef>NEG-REF-1</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>STRIPE po_NEG</Ustrd></RmtInf></TxDtls>
        </NtryDtls></Ntry>
    </Stmt></BkToCstmrStmt></Document>"""

    run = run_file("bank_statement", statement)

    entry = BankEntry.objects.get(run=run)
    assert (entry.credit, entry.status, entry.payout.payout_id) == (False, "matched", "po_NEG")
    assert Payout.objects.get().status == "in_bank"
