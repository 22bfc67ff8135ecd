"""Thin Celery tasks for orders."""

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, ignore_result=True)
def order_allocate_backorders_task() -> int:
    """Periodic sweep: allocate any backorder whose stock is there now."""
    from apps.orders.services import order_allocate_backorders

    return order_allocate_backorders()
