"""Stock ledger: receipts, movements, the append-only ledger, guarded levels and the invariant job."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from apps.core.errors import DomainError
from apps.core.models import Incident, OutboxEvent
from apps.orders import services as order_services
from apps.stock import services
from apps.stock.models import StockLevel, StockMovement, StockReceipt
from tests.orders.helpers import order_input

pytestmark = pytest.mark.django_db


def test_a_receipt_adds_on_hand_with_one_movement_per_line_and_an_event(warehouse, make_products):
    a, b = make_products(2)
    receipt = services.stock_receive(
        location=warehouse,
        reference="OPEN-1",
        lines=[services.ReceiptLine(a, 5, Decimal("2.50")), services.ReceiptLine(b, 3, Decimal("1.00"))],
    )
    assert sorted(StockLevel.objects.values_list("product__sku", "on_hand", "reserved")) == [
        (a.sku, 5, 0),
        (b.sku, 3, 0),
    ]
    assert sorted(
        StockMovement.objects.values_list("product__sku", "kind", "quantity", "balance_after", "reference")
    ) == [(a.sku, "receipt", 5, 5, "OPEN-1"), (b.sku, "receipt", 3, 3, "OPEN-1")]
    event = OutboxEvent.objects.get(name="stock.receipt.posted")
    assert event.payload["receipt_id"] == receipt.pk
    assert event.payload["product_ids"] == sorted([a.pk, b.pk])
    assert (event.payload["source"], event.payload["source_id"]) == ("manual", None)
    assert event.payload["lines"] == [
        {"product_id": a.pk, "sku": a.sku, "quantity": 5, "unit_cost": "2.50"},
        {"product_id": b.pk, "sku": b.sku, "quantity": 3, "unit_cost": "1.00"},
    ]


def test_balance_after_runs_on_across_receipts(warehouse, product, receive):
    receive(warehouse, product, 5)
    receive(warehouse, product, 2)
    assert list(StockMovement.objects.order_by("id").values_list("quantity", "balance_after")) == [(5, 5), (2, 7)]


def test_a_receipt_without_lines_is_refused_and_writes_nothing(warehouse):
    with pytest.raises(DomainError):
        services.stock_receive(location=warehouse, reference="EMPTY", lines=[])
    assert (StockReceipt.objects.count(), StockMovement.objects.count(), OutboxEvent.objects.count()) == (0, 0, 0)


def test_movements_cannot_take_on_hand_below_what_is_reserved(warehouse, product, receive):
    receive(warehouse, product, 5)
    order_services.order_create(data=order_input([(product, 4)]))
    before = StockMovement.objects.count()
    with pytest.raises(DomainError) as err:
        services.stock_post_movements(
            location=warehouse, changes=[(product, -2)], kind="adjustment", reference="damage"
        )
    assert err.value.code == "insufficient_stock"
    assert StockMovement.objects.count() == before
    assert StockLevel.objects.values_list("on_hand", "reserved").get() == (5, 4)


def test_posted_movements_adjust_on_hand_and_announce_increases(warehouse, product, receive):
    receive(warehouse, product, 5)
    services.stock_post_movements(location=warehouse, changes=[(product, 3)], kind="adjustment", reference="found")
    assert StockLevel.objects.get().on_hand == 8
    event = OutboxEvent.objects.get(name="stock.movements.posted")
    assert event.payload["increased_product_ids"] == [product.pk]


def test_the_database_refuses_a_level_with_more_reserved_than_on_hand(warehouse, product, receive):
    receive(warehouse, product, 2)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.update(reserved=3)
    assert StockLevel.objects.get().reserved == 0


def test_the_database_refuses_negative_on_hand(warehouse, product, receive):
    receive(warehouse, product, 2)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.update(on_hand=-1)


@pytest.mark.parametrize(
    "sql", ["UPDATE stock_stockmovement SET quantity = 99", "DELETE FROM stock_stockmovement"], ids=["update", "delete"]
)
def test_the_movement_ledger_is_append_only_in_postgresql(warehouse, product, receive, sql):
    receive(warehouse, product, 2)
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert list(StockMovement.objects.values_list("quantity", flat=True)) == [2]


def test_the_invariant_job_finds_nothing_on_a_consistent_ledger(warehouse, product, receive):
    receive(warehouse, product, 5)
    order_services.order_create(data=order_input([(product, 2)]))
    assert services.stock_verify_invariants() == []
    assert Incident.objects.count() == 0


def test_the_invariant_job_turns_injected_drift_into_one_incident(warehouse, product, receive):
    receive(warehouse, product, 5)
    order_services.order_create(data=order_input([(product, 2)]))
    with connection.cursor() as cursor:  # a write that bypassed the stock service
        cursor.execute("UPDATE stock_stocklevel SET on_hand = on_hand + 3, reserved = reserved - 1")
    level = StockLevel.objects.get()
    drifts = services.stock_verify_invariants()
    assert drifts == [
        {
            "level_id": level.pk,
            "product_id": product.pk,
            "location_id": warehouse.pk,
            "on_hand": 8,
            "movements_total": 5,
            "reserved": 1,
            "active_reservations_total": 2,
        }
    ]
    services.stock_verify_invariants()  # found again: the same incident counts it
    incident = Incident.objects.get()
    assert (incident.kind, incident.severity, incident.status, incident.occurrences) == (
        "stock.drift",
        "high",
        "open",
        2,
    )
    assert incident.subject == level
    assert incident.details["movements_total"] == 5
