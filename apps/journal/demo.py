"""Demo ledger: a closed prior month and a populated current month.

Every demo order, receipt and adjustment is created at seed time, so the events they emit post into
the current month when the worker relays them (within seconds of `make demo`). Nothing is
back-dated to fake history. The prior month holds only what a
retailer would honestly book there by hand: the opening bank balance and the shop fit-out paid
before trading started, entered by finance, approved by a second person through the approval
engine; then finance soft- and hard-closes that month. A further manual entry waits in the
approval queue of the current month.
"""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from apps.core.types import Actor
from apps.journal import services
from apps.journal.services import Line


def _approve(entry_id: int, approver: Actor) -> None:
    from apps.approvals import selectors as approval_selectors
    from apps.approvals import services as approvals
    from apps.approvals.models import ApprovalRequest

    request = ApprovalRequest.objects.get(subject_type=services.SUBJECT_MANUAL_ENTRY, subject_id=str(entry_id))
    task = approval_selectors.approval_request_open_task(request=request)
    assert task is not None  # the request was started a moment ago
    approvals.approval_task_claim(task_id=task.pk, user=approver)
    approvals.approval_task_approve(task_id=task.pk, user=approver, comment="checked against the bank statement")


def seed(*, author: Actor, approver: Actor, log: Callable[[str], None] = lambda m: None) -> None:
    """Book and close the prior month and leave one current-month entry waiting for approval."""
    today = timezone.localdate()
    prior_start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    opening = services.manual_entry_create(
        day=prior_start,
        description="Opening bank balance: capital paid in",
        currency=settings.COMPANY_CURRENCY,
        lines=[Line("1000", debit=Decimal("250000.00")), Line("3000", credit=Decimal("250000.00"))],
        author=author,
    )
    _approve(opening.pk, approver)
    fees = services.manual_entry_create(
        day=prior_start + timedelta(days=20),
        description="Card terminal set-up fees (processor invoice PRC-0001)",
        currency=settings.COMPANY_CURRENCY,
        lines=[Line("6000", debit=Decimal("1450.00")), Line("1000", credit=Decimal("1450.00"))],
        author=author,
    )
    _approve(fees.pk, approver)
    key = f"{prior_start:%Y-%m}"
    services.period_close(period=key, hard=False, actor=author)
    services.period_close(period=key, hard=True, actor=author)
    services.manual_entry_create(
        day=today,
        description="Payment processor monthly fee (invoice PRC-0002 expected)",
        currency=settings.COMPANY_CURRENCY,
        lines=[Line("6000", debit=Decimal("380.00")), Line("2000", credit=Decimal("380.00"))],
        author=author,
    )
    log(f"ledger: {key} booked and hard closed; 1 manual entry awaiting approval (events post as the worker relays)")
