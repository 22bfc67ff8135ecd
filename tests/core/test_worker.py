"""The relay with a real Celery worker on Redis: stock that arrives allocates a waiting backorder."""

import time

import pytest

from apps.core.models import OutboxEvent
from apps.core.outbox import handlers_for
from apps.orders import services
from apps.orders.states import OrderStatus
from apps.stock.models import StockLevel
from tests.factories import LocationFactory, ProductFactory
from tests.orders.helpers import order_input

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_a_receipt_relayed_by_the_worker_allocates_the_backorder(celery_worker_thread, receive):
    warehouse, product = LocationFactory(code="WH1"), ProductFactory(sku="LATE")
    order, _ = services.order_create(data=order_input([(product, 2)]))
    assert order.status == OrderStatus.BACKORDERED

    receive(warehouse, product, 5)  # commits; the on-commit nudge reaches the worker through Redis

    assert wait_for(lambda: services.Order.objects.get(pk=order.pk).status == OrderStatus.ALLOCATED)
    assert StockLevel.objects.values_list("on_hand", "reserved").get() == (5, 2)
    assert wait_for(lambda: not OutboxEvent.objects.exclude(status="delivered").exists())
    receipt_event = OutboxEvent.objects.get(name="stock.receipt.posted")
    # each handler (backorder allocation, the journal's receipt posting) ran exactly once
    handlers = sorted(key for key, _ in handlers_for("stock.receipt.posted"))
    assert "apps.journal.rules.post_receipt" in handlers
    assert sorted(receipt_event.deliveries.values_list("handler", flat=True)) == handlers
