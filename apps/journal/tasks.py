"""Thin Celery tasks of the journal."""

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, ignore_result=True)
def journal_verify_integrity_task() -> int:
    """Returns how many checks drifted (each is an incident)."""
    from apps.journal.integrity import journal_verify_integrity

    return sum(1 for r in journal_verify_integrity() if r.ok is False)
