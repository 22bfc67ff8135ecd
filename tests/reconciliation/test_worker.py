"""Upload → run with a real Celery worker on Redis: the queued run completes on its own."""

import time

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
