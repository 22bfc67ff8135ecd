"""An event delivered twice (one after the other, or at the same moment) posts one entry and moves
the moving average cost once."""

from decimal import Decimal

import pytest
from django.db import connection

from apps.core.models import OutboxEvent
from apps.core.outbox import Event, outbox_deliver, outbox_emit
from apps.journal.models import JournalEntry, JournalLine, ProductCost
from tests.journal.helpers import relay
from tests.orders.test_concurrency import run_concurrently

RECEIPT = {
    "receipt_id": 501,
    "location": "WH1",
    "reference": "PO-7",
    "source": "purchase_order",
    "source_id": 7,
    "lines": [{"product_id": 11, "sku": "SKU-A", "quantity": 10, "unit_cost": "4.00"}],
}


def _emit_twice() -> list[int]:
    rows = outbox_emit(
        Event(name="stock.receipt.posted", aggregate_type="stock.receipt", aggregate_id=501, payload=RECEIPT),
        Event(name="stock.receipt.posted", aggregate_type="stock.receipt", aggregate_id=501, payload=RECEIPT),
    )
    return [r.pk for r in rows]


@pytest.mark.django_db
def test_the_same_event_delivered_twice_posts_once():
    _emit_twice()
    relay()
    assert JournalEntry.objects.filter(source_type="stock.receipt", source_id="501").count() == 1
    assert JournalLine.objects.count() == 2
    assert ProductCost.objects.get(product_id=11).quantity == 10
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"delivered"}


@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_concurrently_posts_once():
    assert connection.vendor == "postgresql"
    ids = []
    for _ in range(4):
        ids += _emit_twice()

    results = run_concurrently(lambda event_id: outbox_deliver(event_id=event_id), [(i,) for i in ids], workers=8)

    assert results == ["delivered"] * 8
    entry = JournalEntry.objects.get(source_type="stock.receipt", source_id="501")
    assert entry.lines.count() == 2
    assert sum(ln.debit for ln in entry.lines.all()) == Decimal("40.00")
    cost = ProductCost.objects.get(product_id=11, location="WH1")
    assert (cost.quantity, cost.value) == (10, Decimal("40.00"))
