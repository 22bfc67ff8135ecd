"""Order services: intake, routing, every transition's stock effect, and rejected actions leaving no trace."""

from decimal import Decimal

import pytest

from apps.core.errors import DomainError, InvalidTransition
from apps.core.models import OutboxEvent
from apps.orders import services
from apps.orders.models import Order, OrderHistory, OrderLine
from apps.orders.states import OrderStatus
from apps.stock.models import Reservation, StockLevel, StockMovement
from tests.factories import LocationFactory, ProductFactory, StoreFactory
from tests.orders.helpers import order_input

S = OrderStatus


def level(product, location):
    lv = StockLevel.objects.filter(product=product, location=location).first()
    return (lv.on_hand, lv.reserved) if lv else (0, 0)


def allocations(order):
    return sorted(
        (r.product.sku, r.location.code, r.quantity, r.status)
        for r in Reservation.objects.filter(demand_type="order", demand_id=order.pk).select_related(
            "product", "location"
        )
    )


def events(order):
    return list(
        OutboxEvent.objects.filter(aggregate_type="orders.order", aggregate_id=str(order.pk))
        .order_by("id")
        .values_list("name", flat=True)
    )


@pytest.mark.django_db
def test_an_order_that_fits_is_allocated_with_history_and_events(warehouse, product, receive):
    receive(warehouse, product, 5)
    order, created = services.order_create(data=order_input([(product, 2)]))
    assert created is True
    assert order.status == S.ALLOCATED
    assert order.total == Decimal("20.00")
    assert allocations(order) == [("SKU-A", "WH1", 2, "active")]
    assert level(product, warehouse) == (5, 2)
    assert list(OrderHistory.objects.filter(order=order).values_list("from_status", "to_status")) == [
        ("", "received"),
        ("received", "allocated"),
    ]
    assert events(order) == ["orders.order.received", "orders.order.allocated"]


@pytest.mark.django_db
def test_an_order_that_does_not_fit_is_backordered_and_reserves_nothing(warehouse, receive, make_products):
    a, b = make_products(2)
    receive(warehouse, a, 9)
    receive(warehouse, b, 1)
    order, _ = services.order_create(data=order_input([(a, 1), (b, 3)]))
    assert order.status == S.BACKORDERED
    assert allocations(order) == []
    assert level(a, warehouse) == (9, 0) and level(b, warehouse) == (1, 0)


@pytest.mark.django_db
def test_orders_above_the_review_threshold_wait_in_fraud_hold_reserving_nothing(warehouse, product, receive, settings):
    settings.ORDER_REVIEW_THRESHOLD = Decimal("100.00")
    receive(warehouse, product, 50)
    order, _ = services.order_create(data=order_input([(product, 11)]))
    assert order.status == S.FRAUD_HOLD
    assert level(product, warehouse) == (50, 0)
    released = services.order_release(order_id=order.pk, reason="checked with the customer")
    assert released.status == S.ALLOCATED
    assert level(product, warehouse) == (50, 11)
    assert OrderHistory.objects.filter(order=order).last().reason == "checked with the customer"


@pytest.mark.django_db
def test_a_replay_with_the_same_content_returns_the_same_order_and_writes_nothing(warehouse, product, receive):
    receive(warehouse, product, 5)
    first, _ = services.order_create(data=order_input([(product, 2)]))
    counts = (
        Order.objects.count(),
        OrderLine.objects.count(),
        Reservation.objects.count(),
        OrderHistory.objects.count(),
        OutboxEvent.objects.count(),
    )
    again, created = services.order_create(data=order_input([(product, 2)]))
    assert (again.pk, created) == (first.pk, False)
    assert (
        Order.objects.count(),
        OrderLine.objects.count(),
        Reservation.objects.count(),
        OrderHistory.objects.count(),
        OutboxEvent.objects.count(),
    ) == counts
    assert level(product, warehouse) == (5, 2)


@pytest.mark.django_db
def test_the_same_external_id_with_different_content_is_refused_and_writes_nothing(warehouse, product, receive):
    receive(warehouse, product, 5)
    services.order_create(data=order_input([(product, 2)]))
    events_before = OutboxEvent.objects.count()
    with pytest.raises(DomainError) as err:
        services.order_create(data=order_input([(product, 3)]))
    assert err.value.code == "idempotency_conflict"
    assert Order.objects.count() == 1
    assert OutboxEvent.objects.count() == events_before
    assert level(product, warehouse) == (5, 2)


@pytest.mark.django_db
def test_the_same_external_id_on_another_channel_is_another_order(warehouse, product, receive):
    receive(warehouse, product, 5)
    a, _ = services.order_create(data=order_input([(product, 1)], channel="web"))
    b, created = services.order_create(data=order_input([(product, 1)], channel="marketplace"))
    assert created and a.pk != b.pk


@pytest.mark.django_db
def test_shipping_prefers_one_location_that_fills_every_line(receive, make_products):
    near, far = LocationFactory(code="NEAR", priority=1), LocationFactory(code="FAR", priority=2)
    a, b = make_products(2)
    receive(near, a, 5)
    receive(far, a, 5)
    receive(far, b, 5)
    order, _ = services.order_create(data=order_input([(a, 1), (b, 1)]))
    assert [(loc, q) for _, loc, q, _ in allocations(order)] == [("FAR", 1), ("FAR", 1)]


@pytest.mark.django_db
def test_shipping_splits_line_by_line_in_priority_order_when_no_location_fills_alone(receive, product):
    locs = [LocationFactory(code=f"P{p}", priority=p) for p in (3, 1, 2)]
    for loc in locs:
        receive(loc, product, 2)
    order, _ = services.order_create(data=order_input([(product, 5)]))
    assert order.status == S.ALLOCATED
    assert allocations(order) == [
        ("SKU-A", "P1", 2, "active"),
        ("SKU-A", "P2", 2, "active"),
        ("SKU-A", "P3", 1, "active"),
    ]


@pytest.mark.django_db
def test_inactive_locations_are_never_allocated(receive, product):
    closed = LocationFactory(code="CLOSED", priority=1, active=False)
    receive(closed, product, 10)
    order, _ = services.order_create(data=order_input([(product, 1)]))
    assert order.status == S.BACKORDERED


@pytest.mark.django_db
def test_pickup_uses_only_the_pickup_store(warehouse, store, product, receive):
    receive(warehouse, product, 10)
    order, _ = services.order_create(data=order_input([(product, 1)], method="pickup", pickup=store))
    assert order.status == S.BACKORDERED
    receive(store, product, 1, reference="store delivery")
    services.order_allocate_backorders(product_ids=[product.pk])
    order.refresh_from_db()
    assert order.status == S.ALLOCATED
    assert allocations(order) == [("SKU-A", store.code, 1, "active")]
    assert level(product, warehouse) == (10, 0)


@pytest.mark.django_db
def test_backorders_allocate_oldest_first_when_stock_arrives(warehouse, product, receive):
    first, _ = services.order_create(data=order_input([(product, 2)], external_id="A"))
    second, _ = services.order_create(data=order_input([(product, 2)], external_id="B"))
    receive(warehouse, product, 3)
    assert services.order_allocate_backorders(product_ids=[product.pk]) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (S.ALLOCATED, S.BACKORDERED)
    assert level(product, warehouse) == (3, 2)


@pytest.mark.django_db
def test_ship_consumes_the_reservation_and_writes_a_movement(warehouse, product, receive, user):
    receive(warehouse, product, 5)
    order, _ = services.order_create(data=order_input([(product, 2)]))
    services.order_pick(order_id=order.pk, actor=user)
    shipped = services.order_ship(order_id=order.pk, actor=user, carrier="UPS", tracking_number="1Z")
    assert (shipped.status, shipped.carrier, shipped.tracking_number) == (S.SHIPPED, "UPS", "1Z")
    assert level(product, warehouse) == (3, 0)
    assert allocations(order) == [("SKU-A", "WH1", 2, "consumed")]
    movement = StockMovement.objects.filter(kind="shipment").get()
    assert (movement.quantity, movement.balance_after, movement.actor) == (-2, 3, user)
    assert events(order)[-2:] == ["orders.order.picking", "orders.order.shipped"]


@pytest.mark.django_db
def test_pickup_flow_consumes_stock_when_collected(store, product, receive):
    receive(store, product, 3)
    order, _ = services.order_create(data=order_input([(product, 1)], method="pickup", pickup=store, channel="store"))
    services.order_mark_ready(order_id=order.pk)
    assert level(product, store) == (3, 1)
    collected = services.order_collect(order_id=order.pk)
    assert collected.status == S.PICKED_UP
    assert level(product, store) == (2, 0)
    assert StockMovement.objects.filter(kind="pickup").get().quantity == -1


@pytest.mark.django_db
def test_cancel_releases_every_reservation(receive, product):
    a, b = LocationFactory(code="A", priority=1), LocationFactory(code="B", priority=2)
    receive(a, product, 1)
    receive(b, product, 1)
    order, _ = services.order_create(data=order_input([(product, 2)]))
    assert level(product, a) == (1, 1) and level(product, b) == (1, 1)
    services.order_cancel(order_id=order.pk, reason="customer request")
    assert level(product, a) == (1, 0) and level(product, b) == (1, 0)
    assert allocations(order) == [("SKU-A", "A", 1, "released"), ("SKU-A", "B", 1, "released")]
    entry = OrderHistory.objects.filter(order=order).last()
    assert (entry.from_status, entry.to_status, entry.reason) == ("allocated", "cancelled", "customer request")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "service,kwargs",
    [
        (services.order_ship, {}),
        (services.order_pick, {}),
        (services.order_collect, {}),
        (services.order_release, {}),
        (services.order_deliver, {}),
    ],
    ids=["ship", "pick", "collect", "release", "deliver"],
)
def test_a_transition_not_allowed_from_cancelled_changes_nothing(warehouse, product, receive, service, kwargs):
    receive(warehouse, product, 3)
    order, _ = services.order_create(data=order_input([(product, 1)]))
    services.order_cancel(order_id=order.pk)
    before = (OrderHistory.objects.count(), OutboxEvent.objects.count(), StockMovement.objects.count())
    with pytest.raises(InvalidTransition):
        service(order_id=order.pk, **kwargs)
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    assert (OrderHistory.objects.count(), OutboxEvent.objects.count(), StockMovement.objects.count()) == before
    assert level(product, warehouse) == (3, 0)


@pytest.mark.django_db
def test_a_pickup_order_cannot_be_shipped(store, product, receive):
    receive(store, product, 3)
    order, _ = services.order_create(data=order_input([(product, 1)], method="pickup", pickup=store))
    with pytest.raises(InvalidTransition):
        services.order_ship(order_id=order.pk)
    assert level(product, store) == (3, 1)


@pytest.mark.django_db
def test_delivered_orders_close(warehouse, product, receive):
    receive(warehouse, product, 3)
    order, _ = services.order_create(data=order_input([(product, 1)]))
    for step in (services.order_ship, services.order_deliver, services.order_close):
        order = step(order_id=order.pk)
    assert order.status == S.CLOSED
    assert [h.to_status for h in OrderHistory.objects.filter(order=order)] == [
        "received",
        "allocated",
        "shipped",
        "delivered",
        "closed",
    ]


@pytest.mark.django_db
def test_two_lines_of_one_product_are_routed_together(warehouse, product, receive):
    receive(warehouse, product, 3)
    order, _ = services.order_create(data=order_input([(product, 2), (product, 2)]))
    assert order.status == S.BACKORDERED
    assert level(product, warehouse) == (3, 0)


@pytest.mark.django_db
def test_a_store_can_ship_when_it_is_the_only_stock(product, receive):
    store = StoreFactory(code="ST9", priority=50)
    receive(store, product, 2)
    order, _ = services.order_create(data=order_input([(product, 1)]))
    assert allocations(order) == [("SKU-A", "ST9", 1, "active")]


@pytest.mark.django_db
def test_a_new_product_without_stock_rows_is_backordered(warehouse):
    product = ProductFactory(sku="NEW")
    order, _ = services.order_create(data=order_input([(product, 1)]))
    assert order.status == S.BACKORDERED
    assert StockLevel.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["ship", "pickup"])
def test_the_last_fully_reserved_units_can_leave(store, product, receive, method):
    receive(store, product, 2)
    pickup = store if method == "pickup" else None
    first, _ = services.order_create(data=order_input([(product, 1)], external_id="A", method=method, pickup=pickup))
    services.order_create(data=order_input([(product, 1)], external_id="B", method=method, pickup=pickup))
    assert level(product, store) == (2, 2)
    if method == "pickup":
        services.order_mark_ready(order_id=first.pk)
        services.order_collect(order_id=first.pk)
    else:
        services.order_ship(order_id=first.pk)
    assert level(product, store) == (1, 1)
