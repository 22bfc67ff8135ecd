"""Thin Celery tasks for approvals."""

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, ignore_result=True)
def approvals_escalate_overdue_task() -> int:
    """Escalate approval tasks past their SLA, once each (an incident and an e-mail). Safe to run twice."""
    from apps.approvals.services import approval_tasks_escalate_overdue

    return approval_tasks_escalate_overdue()
