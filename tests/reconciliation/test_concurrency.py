"""Concurrent uploads and executions on real PostgreSQL with real threads: one run, one import, one event."""

import pytest
from django.db import connection

from apps.core.errors import DomainError
from apps.core.models import OutboxEvent
from apps.reconciliation.models import ReconciliationRun, SettlementLine
from apps.reconciliation.services import reconciliation_run_create, reconciliation_run_execute
from tests.orders.test_concurrency import run_concurrently
from tests.reconciliation.helpers import counterparts, fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_file_uploaded_six_times_at_once_makes_one_run():
    assert connection.vendor == "postgresql"
    content = fixture("stripe_payouts.csv")

    def attempt(i):
        return reconciliation_run_create(kind="settlement", file_name=f"{i}.csv", content=content, actor=None).pk

    results = run_concurrently(attempt, [(i,) for i in range(6)], workers=6)

    runs = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(runs) == 1 and len(refused) == 5
    assert {(e.code, e.extra["run_id"]) for e in refused} == {("duplicate_file", runs[0])}
    assert ReconciliationRun.objects.count() == 1


def test_four_workers_handed_the_same_run_import_it_once():
    counterparts()
    run = reconciliation_run_create(
        kind="settlement", file_name="p.csv", content=fixture("stripe_payouts.csv"), actor=None
    )

    run_concurrently(lambda: reconciliation_run_execute(run_id=run.pk), [() for _ in range(4)], workers=4)

    run.refresh_from_db()
    assert (run.status, run.matched, run.unmatched, run.mismatched) == ("succeeded", 4, 1, 3)
    assert SettlementLine.objects.count() == 9
    assert OutboxEvent.objects.filter(name="reconciliation.payout.settled").count() == 2
