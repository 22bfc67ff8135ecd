"""Order reads: filtered lists with lines and allocations in a constant number of queries."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django_fsm import can_proceed

from apps.core.errors import NotFound
from apps.orders.models import Order, OrderHistory, OrderLine
from apps.orders.states import OrderStatus
from apps.stock.models import Reservation
from apps.stock.selectors import reservations_for_demands

DEMAND = "order"


def order_list(
    *,
    status: Sequence[str] | None = None,
    channel: str | None = None,
    location: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    number: str | None = None,
    search: str | None = None,
    location_ids: Sequence[int] | None = None,
) -> QuerySet[Order]:
    qs = Order.objects.select_related("pickup_location")
    if status:
        qs = qs.filter(status__in=list(status))
    if channel:
        qs = qs.filter(channel=channel)
    if location:
        touches = Reservation.objects.filter(demand_type=DEMAND, demand_id=OuterRef("pk"), location__code=location)
        qs = qs.filter(Q(pickup_location__code=location) | Exists(touches))
    if location_ids is not None:
        qs = _scoped(qs, location_ids)
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    if number:
        order_id = order_id_from_number(number)
        qs = qs.filter(pk=order_id if order_id is not None else -1)
    if search:
        order_id = order_id_from_number(search)
        q = Q(external_id=search) | Q(customer_email__iexact=search) | Q(payment_reference=search)
        if order_id is not None:
            q |= Q(pk=order_id)
        qs = qs.filter(q)
    return qs.order_by("-created_at", "-id")


def order_id_from_number(number: str) -> int | None:
    digits = number.strip().upper().removeprefix("RO-")
    return int(digits) if digits.isdigit() and len(digits) <= 18 else None


def order_get(*, order_id: int, location_ids: Sequence[int] | None = None) -> Order:
    """The order, if it exists and (when `location_ids` is given) touches one of those locations."""
    qs = Order.objects.select_related("pickup_location").filter(pk=order_id)
    if location_ids is not None:
        qs = _scoped(qs, location_ids)
    order = qs.first()
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    return order


def _scoped(qs: QuerySet[Order], location_ids: Sequence[int]) -> QuerySet[Order]:
    touches = Reservation.objects.filter(demand_type=DEMAND, demand_id=OuterRef("pk"), location_id__in=location_ids)
    return qs.filter(Q(pickup_location_id__in=location_ids) | Exists(touches))


def orders_with_lines(orders: Sequence[Order]) -> Sequence[Order]:
    """Attach lines (with products) and their allocations to each order: two queries in all."""
    if not orders:
        return orders
    ids = [o.pk for o in orders]
    lines_by_order: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=ids).select_related("product").order_by("order_id", "line_no"):
        lines_by_order[line.order_id].append(line)
    allocs: dict[int, list[Reservation]] = defaultdict(list)
    for r in reservations_for_demands(demand_type=DEMAND, demand_ids=ids):
        allocs[r.line_id].append(r)
    for order in orders:
        order_lines = lines_by_order[order.pk]
        order._prefetched_lines = order_lines  # type: ignore[attr-defined]
        for line in order_lines:
            line._allocations = allocs[line.pk]  # type: ignore[attr-defined]
    return orders


def order_history(*, order_id: int, location_ids: Sequence[int] | None = None) -> QuerySet[OrderHistory]:
    order_get(order_id=order_id, location_ids=location_ids)
    return OrderHistory.objects.filter(order_id=order_id).select_related("actor").order_by("at", "id")


# The model transition behind each action of apps.orders.services.TRANSITIONS, in the order a
# person would take them. "release" has no FSM method of its own: its service accepts fraud hold only.
_ACTION_METHODS = {
    "pick": "pick",
    "ship": "ship",
    "mark-ready": "mark_ready",
    "collect": "collect",
    "deliver": "deliver",
    "close": "close",
    "cancel": "cancel",
}


def order_actions_available(*, order: Order) -> list[str]:
    """The actions (keys of services.TRANSITIONS) the order's current status allows, by the FSM's own rules."""
    actions = ["release"] if order.status == OrderStatus.FRAUD_HOLD else []
    actions += [action for action, method in _ACTION_METHODS.items() if can_proceed(getattr(order, method))]
    return actions
