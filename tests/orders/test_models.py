"""The order state machine: which transitions each status allows, and their guards."""

import pytest
from django_fsm import TransitionNotAllowed, can_proceed

from apps.orders.models import Order
from apps.orders.states import FulfillmentMethod, OrderStatus

S = OrderStatus
TRANSITIONS = [
    "hold_for_review",
    "allocate",
    "backorder",
    "pick",
    "ship",
    "mark_ready",
    "collect",
    "deliver",
    "close",
    "cancel",
]

ALLOWED_SHIP = {
    S.RECEIVED: {"hold_for_review", "allocate", "backorder", "cancel"},
    S.FRAUD_HOLD: {"allocate", "backorder", "cancel"},
    S.BACKORDERED: {"allocate", "cancel"},
    S.ALLOCATED: {"pick", "ship", "cancel"},
    S.PICKING: {"ship", "cancel"},
    S.SHIPPED: {"deliver"},
    S.DELIVERED: {"close"},
    S.READY_FOR_PICKUP: {"cancel"},
    S.PICKED_UP: {"close"},
    S.CANCELLED: set(),
    S.CLOSED: set(),
}


def _order(status, method=FulfillmentMethod.SHIP):
    return Order(status=status, fulfillment_method=method)


@pytest.mark.parametrize("status", list(ALLOWED_SHIP), ids=str)
def test_a_ship_order_allows_exactly_these_transitions(status):
    order = _order(status)
    allowed = {name for name in TRANSITIONS if can_proceed(getattr(order, name))}
    assert allowed == ALLOWED_SHIP[status]


def test_a_pickup_order_goes_ready_then_collected_and_never_ships():
    order = _order(S.PICKING, FulfillmentMethod.PICKUP)
    assert not can_proceed(order.ship)
    order.mark_ready()
    assert order.status == S.READY_FOR_PICKUP
    order.collect()
    assert order.status == S.PICKED_UP


def test_a_ship_order_cannot_be_marked_ready_or_collected():
    order = _order(S.PICKING)
    assert not can_proceed(order.mark_ready)
    with pytest.raises(TransitionNotAllowed):
        order.mark_ready()
    assert order.status == S.PICKING


def test_ship_records_carrier_and_tracking():
    order = _order(S.PICKING)
    order.ship(carrier="UPS", tracking_number="1Z999")
    assert (order.status, order.carrier, order.tracking_number) == (S.SHIPPED, "UPS", "1Z999")


def test_status_cannot_be_assigned_directly():
    order = _order(S.ALLOCATED)
    with pytest.raises(AttributeError):
        order.status = S.SHIPPED
    assert order.status == S.ALLOCATED
