"""Thin Celery tasks for core: the outbox relay and its clean-up."""

from celery import shared_task
from django.db import OperationalError


@shared_task(
    bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, ignore_result=True
)
def outbox_relay_task(self) -> int:
    """Deliver pending outbox events. Safe to run many times at once (rows are claimed)."""
    from apps.core.outbox import outbox_relay

    return outbox_relay()


@shared_task(acks_late=True, ignore_result=True)
def outbox_purge_task() -> int:
    """Delete delivered events past their retention (OUTBOX_RETENTION_DAYS)."""
    from apps.core.outbox import outbox_purge

    return outbox_purge()
