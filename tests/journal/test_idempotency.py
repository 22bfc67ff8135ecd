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


@pytest.mark.django_db(transaction=True)
def test_concurrent_receipts_and_sales_of_one_product_keep_the_average_and_the_ledger_in_step():
    # twenty receipts of 2 units at 1.00 … 20.00 and ten sales of 1 unit, all delivered at once
    ids = [
        r.pk
        for r in outbox_emit(
            *[
                Event(
                    name="stock.receipt.posted",
                    aggregate_type="stock.receipt",
                    aggregate_id=600 + n,
                    payload={**RECEIPT, "receipt_id": 600 + n,
                             "lines": [{"product_id": 11, "sku": "SKU-A", "quantity": 2, "unit_cost": f"{n}.00"}]},
                )
                for n in range(1, 21)
            ]
        )
    ]  # fmt: skip
    relay_first = ids[:5]
    for event_id in relay_first:  # some stock first, so the sales have an average to take
        outbox_deliver(event_id=event_id)
    sales = outbox_emit(
        *[
            Event(
                name="orders.order.shipped",
                aggregate_type="orders.order",
                aggregate_id=900 + n,
                payload={"order_id": 900 + n, "number": f"O-{n}", "channel": "web", "currency": "USD",
                         "payment_method": "card", "payment_amount": "10.00",
                         "lines": [{"line_no": 1, "product_id": 11, "quantity": 1, "unit_price": "10.00"}],
                         "fulfilment": [{"product_id": 11, "sku": "SKU-A", "location": "WH1", "quantity": 1}]},
            )
            for n in range(10)
        ]
    )  # fmt: skip

    results = run_concurrently(
        lambda event_id: outbox_deliver(event_id=event_id), [(i,) for i in ids[5:] + [s.pk for s in sales]], workers=8
    )

    assert results == ["delivered"] * 25
    cost = ProductCost.objects.get(product_id=11, location="WH1")
    assert cost.quantity == 40 - 10
    inventory = JournalLine.objects.filter(account__code="1300", location="WH1")
    assert sum(ln.debit - ln.credit for ln in inventory) == cost.value
    assert sum(ln.debit for ln in inventory) == Decimal("420.00")  # 2 × (1 + … + 20)
