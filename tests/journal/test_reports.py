"""Reports: trial balance, GL detail, P&L by channel and location, CSV, and a beancount export that
`bean-check` (an independent implementation of double-entry) accepts."""

import csv
import io
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from apps.journal import exports, selectors, services
from apps.journal.models import Account
from apps.orders import services as order_services
from apps.stock.services import ReceiptLine, stock_receive
from tests.journal.helpers import D, emit, relay
from tests.orders.helpers import order_input

pytestmark = pytest.mark.django_db

BEAN_CHECK = shutil.which("bean-check") or str(Path(sys.executable).parent / "bean-check")


@pytest.fixture
def ledger(warehouse, store, product):
    """A month of activity: opening stock at two locations, web and store sales, a payout, a reversal."""
    for location, qty, cost in ((warehouse, 10, "4.00"), (store, 5, "6.00")):
        stock_receive(
            location=location,
            reference="opening",
            lines=[ReceiptLine(product=product, quantity=qty, unit_cost=Decimal(cost))],
            source="opening",
        )
    web, _ = order_services.order_create(data=order_input([(product, 3)], external_id="W1"))
    order_services.order_ship(order_id=web.pk)
    pickup, _ = order_services.order_create(
        data=order_input([(product, 1)], external_id="S1", channel="store", method="pickup", pickup=store)
    )
    order_services.order_mark_ready(order_id=pickup.pk)
    order_services.order_collect(order_id=pickup.pk)
    emit(
        "reconciliation.payout.settled",
        {"payout_id": "po_1", "currency": "USD", "charges": "40.00", "refunds": "0.00", "fees": "1.20",
         "net": "38.80", "paid_on": timezone.localdate().isoformat(), "run_id": 1},
    )  # fmt: skip
    relay()
    services.entry_reverse(entry_id=selectors.entry_list(source_id="po_1").get().pk, actor=None, reason="test")
    return services.period_for(day=timezone.localdate())


def test_the_trial_balance_balances_and_shows_each_account(ledger):
    rows = {r.code: r for r in selectors.trial_balance(period=ledger)}
    assert sum(r.debit for r in rows.values()) == sum(r.credit for r in rows.values())
    assert rows["1300"].balance == D("40.00") + D("30.00") - D("12.00") - D("6.00")
    assert rows["3000"].balance == D("70.00")
    assert rows["4000"].balance == D("30.00")
    assert rows["4010"].balance == D("10.00")
    assert rows["1000"].balance == D("0.00")  # payout and its reversal


def test_gl_detail_filters_by_location_and_runs_a_balance(ledger):
    lines = list(selectors.ledger_lines(account="1300", period=ledger, location="ST1"))
    assert [(ln.debit, ln.credit) for ln in lines] == [(D("30.00"), D("0")), (D("0"), D("6.00"))]
    rows = list(csv.DictReader(io.StringIO(exports.ledger_csv(lines=lines))))
    assert [r["balance"] for r in rows] == ["30.00", "24.00"]


def test_pnl_by_channel_and_location(ledger):
    rows = {(r.channel, r.location): r for r in selectors.profit_and_loss(period=ledger)}
    assert (rows[("web", "WH1")].revenue, rows[("web", "WH1")].cogs, rows[("web", "WH1")].gross_margin) == (
        D("30.00"),
        D("12.00"),
        D("18.00"),
    )
    assert (rows[("store", "ST1")].revenue, rows[("store", "ST1")].cogs) == (D("10.00"), D("6.00"))
    assert rows[("", "")].other_expenses == D("0.00")  # fees 1.20 and their reversal
    body = list(csv.DictReader(io.StringIO(exports.pnl_csv(period=ledger))))
    assert {(r["channel"], r["location"], r["profit"]) for r in body} >= {
        ("web", "WH1", "18.00"),
        ("store", "ST1", "4.00"),
    }


def test_trial_balance_csv_totals(ledger):
    rows = list(csv.reader(io.StringIO(exports.trial_balance_csv(period=ledger))))
    assert rows[0] == ["account", "name", "type", "debit", "credit", "debit_minus_credit"]
    assert rows[-1][3] == rows[-1][4]


def _bean_check(tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "ledger.beancount"
    path.write_text(text)
    return subprocess.run([BEAN_CHECK, str(path)], capture_output=True, text=True, timeout=60)


def test_the_beancount_export_passes_bean_check(ledger, tmp_path):
    text = exports.beancount_export(period=ledger)
    result = _bean_check(tmp_path, text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert f"open {exports.beancount_account(Account.objects.get(code='1300'))} USD" in text


def test_bean_check_catches_a_tampered_export(ledger, tmp_path):
    # the oracle is real: move one cent and it refuses (unbalanced transaction and a failed balance assertion)
    text = exports.beancount_export(period=ledger).replace("-38.80 USD", "-38.81 USD", 1)
    result = _bean_check(tmp_path, text)
    assert result.returncode != 0


def test_the_next_period_carries_balances_forward_and_still_passes(ledger, tmp_path):
    nxt = services.period_for(day=ledger.end + timezone.timedelta(days=1))
    emit(
        "reconciliation.payout.settled",
        {"payout_id": "po_2", "currency": "USD", "charges": "10.00", "refunds": "0.00", "fees": "0.30",
         "net": "9.70", "paid_on": nxt.start.isoformat(), "run_id": 2},
    )  # fmt: skip
    relay()
    text = exports.beancount_export(period=nxt)
    assert "Balances brought forward" in text
    result = _bean_check(tmp_path, text)
    assert result.returncode == 0, result.stdout + result.stderr
