"""Concurrency on real PostgreSQL with real threads: a task ends with exactly one owner."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.approvals import selectors, services
from apps.approvals.errors import NotClaimable
from apps.approvals.models import ApprovalEvent, ApprovalRequest, ApprovalTask
from apps.stock.models import StockAdjustment, StockMovement
from tests.approvals.helpers import adjust, make_shop, make_staff, person

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(calls):
    """Run every call on its own thread, released at the same moment; return results or exceptions."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=10)
            return call()
        except Exception as exc:  # noqa: BLE001 - returned to the test to assert on
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_two_approvers_claiming_one_task_at_once_end_with_exactly_one_owner():
    assert connection.vendor == "postgresql"
    shop = make_shop()
    staff = make_staff(shop)
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    request = ApprovalRequest.objects.get(subject_id=str(adjustment.pk))
    task = selectors.approval_request_open_task(request=request)
    approvers = [staff["approver"], staff["approver2"], staff["ops"], person("amy", "approver")]

    for _ in range(3):  # the race is re-run on fresh tasks: no lucky ordering
        results = run_together(
            [lambda user=user, pk=task.pk: services.approval_task_claim(task_id=pk, user=user) for user in approvers]
        )

        winners = [r for r in results if isinstance(r, ApprovalTask)]
        losers = [r for r in results if not isinstance(r, ApprovalTask)]
        assert len(winners) == 1
        assert all(isinstance(r, NotClaimable) for r in losers), losers
        stored = ApprovalTask.objects.get(pk=task.pk)
        assert (stored.status, stored.owner_id) == ("ASSIGNED", winners[0].owner_id)
        assert ApprovalEvent.objects.filter(task=task, action="claimed").count() == 1

        adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -150)])
        task = selectors.approval_request_open_task(request=ApprovalRequest.objects.get(subject_id=str(adjustment.pk)))


def test_approving_and_rejecting_one_held_task_at_once_decides_it_once():
    shop = make_shop()
    staff = make_staff(shop)
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    task = selectors.approval_request_open_task(request=ApprovalRequest.objects.get(subject_id=str(adjustment.pk)))
    services.approval_task_claim(task_id=task.pk, user=staff["approver"])

    results = run_together(
        [
            lambda: services.approval_task_approve(task_id=task.pk, user=staff["approver"]),
            lambda: services.approval_task_reject(task_id=task.pk, user=staff["approver"], comment="no"),
        ]
    )

    assert sum(isinstance(r, ApprovalTask) for r in results) == 1
    status = StockAdjustment.objects.get(pk=adjustment.pk).status
    assert status in ("posted", "rejected")
    assert StockMovement.objects.filter(kind="adjustment").count() == (1 if status == "posted" else 0)
    assert ApprovalEvent.objects.filter(task=task, action__in=["approved", "rejected"]).count() == 1
