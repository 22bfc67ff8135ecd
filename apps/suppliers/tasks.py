"""Thin Celery tasks for procurement jobs (scheduled in CELERY_BEAT_SCHEDULE)."""

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def purchase_orders_flag_overdue_task() -> int:
    from apps.suppliers.services import purchase_orders_flag_overdue

    return purchase_orders_flag_overdue()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def purchase_orders_propose_task() -> int:
    from apps.suppliers.services import purchase_orders_propose

    return len(purchase_orders_propose())
