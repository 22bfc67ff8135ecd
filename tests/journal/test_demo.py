"""The demo ledger: a hard-closed prior month booked honestly by hand, a populated current month."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.demo import seed_demo
from apps.journal import exports, integrity, selectors
from apps.journal.models import EntryStatus, JournalEntry, Period, PeriodStatus
from tests.journal.helpers import relay

pytestmark = pytest.mark.django_db


def test_the_demo_closes_the_prior_month_and_populates_the_current_one(tmp_path):
    seed_demo(warehouses=1, stores=2, skus=20, orders=15, password="demo-pass-1")
    relay()  # what the worker does after `make demo`
    from apps.core.models import OutboxEvent

    failing = list(OutboxEvent.objects.exclude(status="delivered").values_list("name", "last_error"))
    assert failing == []

    prior = Period.objects.get(start=(timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1))
    assert prior.status == PeriodStatus.HARD_CLOSED
    assert sorted(JournalEntry.objects.filter(period=prior).values_list("description", flat=True)) == [
        "Card terminal set-up fees (processor invoice PRC-0001)",
        "Opening bank balance: capital paid in",
    ]
    current = selectors.period_get(key=f"{timezone.localdate():%Y-%m}")
    sources = set(
        JournalEntry.objects.filter(period=current, status=EntryStatus.POSTED).values_list("source_type", flat=True)
    )
    assert {"stock.receipt", "orders.order", "stock.adjustment"} <= sources
    assert JournalEntry.objects.filter(status=EntryStatus.DRAFT, manual_approval="pending").count() == 1
    rows = selectors.trial_balance(period=current)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    results = {r.check: r.ok for r in integrity.journal_verify_integrity()}
    assert results == {"trial_balance": True, "inventory": True, "grni": True}
    import subprocess

    from tests.journal.test_reports import BEAN_CHECK

    path = tmp_path / "demo.beancount"
    path.write_text(exports.beancount_export(period=current))
    result = subprocess.run([BEAN_CHECK, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
