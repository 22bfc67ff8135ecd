"""Upload → run with a real Celery worker on Redis: the queued run completes on its own."""

import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.models import OutboxEvent
from apps.reconciliation.models import ReconciliationRun
from tests.reconciliation.helpers import counterparts, fixture

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_an_uploaded_settlement_file_is_reconciled_by_the_worker(celery_worker_thread, api):
    counterparts()

    r = api.post(
        "/api/v1/reconciliation/settlements/",
        {"file": SimpleUploadedFile("payouts.csv", fixture("stripe_payouts.csv"))},
        format="multipart",
    )
    assert r.status_code == 202
    run_id = r.json()["run_id"]

    assert wait_for(lambda: ReconciliationRun.objects.get(pk=run_id).status == "succeeded")
    body = api.get(f"/api/v1/reconciliation/runs/{run_id}/").json()
    assert (body["progress"]["percent"], body["counts"]["matched"], body["counts"]["mismatched"]) == (100, 4, 3)
    assert OutboxEvent.objects.filter(name="reconciliation.payout.settled").count() == 2


def test_each_settled_payout_posts_one_balanced_journal_entry(celery_worker_thread, api):
    # given the journal listens to reconciliation.payout.settled (Dr bank net, Dr fees, Cr card clearing)
    from apps.journal.models import JournalLine

    counterparts()

    r = api.post(
        "/api/v1/reconciliation/settlements/",
        {"file": SimpleUploadedFile("payouts.csv", fixture("stripe_payouts.csv"))},
        format="multipart",
    )

    # then the worker imports, settles and relays, and the ledger holds exactly the payouts' figures
    assert wait_for(lambda: ReconciliationRun.objects.get(pk=r.json()["run_id"]).status == "succeeded")
    assert wait_for(lambda: not OutboxEvent.objects.exclude(status="delivered").exists())
    lines = JournalLine.objects.filter(entry__source_type="reconciliation.payout").order_by(
        "entry__source_id", "account__code"
    )
    assert [(ln.entry.source_id, ln.account.code, ln.debit, ln.credit) for ln in lines] == [
        ("po_1PAYOUTA", "1000", Decimal("224.40"), Decimal("0.00")),
        ("po_1PAYOUTA", "1100", Decimal("0.00"), Decimal("235.00")),
        ("po_1PAYOUTA", "6000", Decimal("10.60"), Decimal("0.00")),
        ("po_1PAYOUTB", "1000", Decimal("206.86"), Decimal("0.00")),
        ("po_1PAYOUTB", "1100", Decimal("0.00"), Decimal("215.00")),
        ("po_1PAYOUTB", "6000", Decimal("8.14"), Decimal("0.00")),
    ]
