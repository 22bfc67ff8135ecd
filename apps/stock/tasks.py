"""Thin Celery tasks for stock."""

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, ignore_result=True)
def stock_verify_invariants_task() -> int:
    """Compare every level with its movements and reservations; drift becomes an incident."""
    from apps.stock.services import stock_verify_invariants

    return len(stock_verify_invariants())


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, ignore_result=True)
def stock_replenishment_propose_task() -> int:
    """Propose transfers for stores below their minimum; safe to run twice (open proposals count as incoming)."""
    from apps.stock.services import stock_replenishment_propose

    return len(stock_replenishment_propose())
