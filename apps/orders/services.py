"""Order writes: intake, allocation and every fulfilment transition.

Each service locks the order row, calls the pure FSM transition, saves, writes a history row, the
stock effect and the outbox event in one transaction. Lock order is always order row, then stock
levels in primary-key order, so concurrent services cannot deadlock.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.utils import timezone
from django_fsm import can_proceed

from apps.catalog.models import Location, Product
from apps.core.db import bulk_insert, pipeline, pks_allocate_sql
from apps.core.errors import DomainError, InvalidTransition, NotFound
from apps.core.outbox import outbox_emit
from apps.core.types import Actor, real_user
from apps.orders.events import order_event
from apps.orders.models import Order, OrderHistory, OrderLine
from apps.orders.routing import Demand, routing_policy
from apps.orders.states import FulfillmentMethod, OrderStatus
from apps.stock.models import MovementKind, StockLevel, StockMovement
from apps.stock.services import Allocation, stock_consume, stock_release, stock_reserve

DEMAND = "order"
S = OrderStatus


@dataclass(frozen=True)
class LineInput:
    """One ordered line. Give the `sku` (the API does) or a `product` (its sku is used): intake
    resolves skus to active products in the same query that locks their stock."""

    quantity: int
    unit_price: Decimal
    sku: str = ""
    product: Product | None = None

    def __post_init__(self) -> None:
        if not self.sku and self.product is not None:
            object.__setattr__(self, "sku", self.product.sku)


@dataclass(frozen=True)
class OrderInput:
    channel: str
    external_id: str
    currency: str
    customer_email: str
    customer_name: str
    fulfillment_method: str
    lines: list[LineInput]
    pickup_location: Location | None = None
    shipping_address: dict[str, Any] = field(default_factory=dict)
    payment_method: str = ""
    payment_reference: str = ""
    payment_amount: Decimal | None = None

    @property
    def total(self) -> Decimal:
        return sum((ln.unit_price * ln.quantity for ln in self.lines), Decimal("0.00")).quantize(Decimal("0.01"))

    def fingerprint(self) -> str:
        canonical = {
            "channel": self.channel,
            "external_id": self.external_id,
            "currency": self.currency,
            "customer": [self.customer_email.lower(), self.customer_name],
            "fulfillment": [
                self.fulfillment_method,
                self.pickup_location.code if self.pickup_location else None,
                self.shipping_address,
            ],
            "payment": [
                self.payment_method,
                self.payment_reference,
                str(self.payment_amount) if self.payment_amount is not None else None,
            ],
            "lines": [[ln.sku, ln.quantity, str(ln.unit_price.quantize(Decimal("0.01")))] for ln in self.lines],
        }
        raw = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(raw.encode()).hexdigest()


class UnknownSku(DomainError):
    """Some ordered skus are not active products: bad input, answered like a field error (400)."""

    status_code = 400
    code = "invalid"

    def __init__(self, skus: Iterable[str]):
        message = f"Unknown sku: {', '.join(sorted(set(skus)))}"
        super().__init__("The request has invalid fields.", extra={"fields": {"lines": [message]}})


class TotalTooLarge(DomainError):
    """The lines add up to more than an order total can hold: bad input (400), like a field error."""

    status_code = 400
    code = "invalid"

    def __init__(self, total: Decimal, limit: Decimal):
        message = f"The lines add up to {total}, more than the largest order total ({limit})"
        super().__init__("The request has invalid fields.", extra={"fields": {"lines": [message]}})


def _largest_total() -> Decimal:
    field = Order._meta.get_field("total")
    return Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(1).scaleb(-field.decimal_places)


def _route(order: Order, lines: list[OrderLine]) -> list[Allocation] | None:
    """Lock the stock of the order's products and ask the routing policy where to take it from."""
    levels: list[StockLevel] = list(
        StockLevel.objects.filter(product_id__in={ln.product_id for ln in lines})
        .select_related("location")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    return _route_levels(order, lines, levels)


def _route_levels(order: Order, lines: list[OrderLine], levels: list[StockLevel]) -> list[Allocation] | None:
    """Ask the routing policy where to take the lines from, given their locked stock levels."""
    picks = routing_policy().route(
        demands=[Demand(i, ln.product_id, ln.quantity) for i, ln in enumerate(lines)],
        levels=levels,
        locations={lv.location_id: lv.location for lv in levels},
        pickup_location_id=order.pickup_location_id if order.fulfillment_method == FulfillmentMethod.PICKUP else None,
    )
    if picks is None:
        return None
    return [Allocation(level=p.level, line_id=p.line_index, quantity=p.quantity) for p in picks]


def order_create(*, data: OrderInput, actor: Actor | None = None) -> tuple[Order, bool]:
    """Take an order in exactly once per (channel, external_id).

    Returns (order, created). A replay with the same content returns the existing order and
    changes nothing; the same key with different content raises a 409 DomainError. A new order is
    held for review above ORDER_REVIEW_THRESHOLD, else allocated all-or-nothing or backordered.
    """
    if data.total > (limit := _largest_total()):
        raise TotalTooLarge(data.total, limit)
    fingerprint = data.fingerprint()
    try:
        with transaction.atomic():
            return _order_insert(data=data, fingerprint=fingerprint, actor=real_user(actor)), True
    except IntegrityError:
        existing = Order.objects.filter(channel=data.channel, external_id=data.external_id).first()
        if existing is None:
            raise
    if existing.request_hash != fingerprint:
        raise DomainError(
            f"external_id {data.external_id!r} was already used on channel {data.channel!r} for a different order",
            code="idempotency_conflict",
            extra={"order_id": existing.pk},
        )
    return existing, False


# Columns `_stock_lock_by_sku` reads; the other fields of these instances are deferred (loaded on access).
_LEVEL_FIELDS = ("id", "product_id", "location_id", "on_hand", "reserved")
_PRODUCT_FIELDS = ("id", "sku", "active")
_LOCATION_FIELDS = ("id", "code", "name", "kind", "priority", "active")


def _stock_lock_by_sku(
    skus: Sequence[str], *, new_lines: int
) -> tuple[dict[str, Product], list[StockLevel], tuple[int, list[int]] | None]:
    """Lock the stock levels of these skus, in primary-key order, with their products and locations.

    One statement instead of three ORM queries (products by sku, levels FOR UPDATE, locations): on
    order intake the ORM's query building and row objects cost more CPU than PostgreSQL spends on the
    query. `FOR UPDATE OF l` locks only the level rows, as they come out of the `ORDER BY l.id`
    sort, i.e. in the same primary-key order every other stock writer uses (no deadlocks). Returns
    active and inactive products by sku; a product without any level is not in the result.

    In the same round trip it takes the keys of the new order and its `new_lines` lines from their
    sequences (None where that is not possible), so the writes that follow can go in one pipeline.
    """
    columns = [
        f"{alias}.{name}"
        for alias, names in (("l", _LEVEL_FIELDS), ("p", _PRODUCT_FIELDS), ("loc", _LOCATION_FIELDS))
        for name in names
    ]
    sql = (
        f"SELECT {', '.join(columns)} FROM {StockLevel._meta.db_table} l "  # noqa: S608 - no input in names
        f"JOIN {Product._meta.db_table} p ON p.id = l.product_id "
        f"JOIN {Location._meta.db_table} loc ON loc.id = l.location_id "
        f"WHERE p.sku IN ({', '.join(['%s'] * len(skus))}) ORDER BY l.id"
    )
    if connection.features.has_select_for_update_of:  # PostgreSQL; SQLite locks the whole database anyway
        sql += " FOR UPDATE OF l"
    allocate = pks_allocate_sql([(Order, 1), (OrderLine, new_lines)])
    with connection.cursor() as cursor, connection.cursor() as pks_cursor:
        with pipeline():
            cursor.execute(sql, list(skus))
            if allocate is not None:
                pks_cursor.execute(*allocate)
        rows = cursor.fetchall()
        new_pks = pks_cursor.fetchone() if allocate is not None else None
    n_level, n_product = len(_LEVEL_FIELDS), len(_PRODUCT_FIELDS)
    products: dict[int, Product] = {}
    locations: dict[int, Location] = {}
    levels: list[StockLevel] = []
    for row in rows:
        level = StockLevel.from_db(DEFAULT_DB_ALIAS, _LEVEL_FIELDS, row[:n_level])
        product = products.get(level.product_id)
        if product is None:
            product = Product.from_db(DEFAULT_DB_ALIAS, _PRODUCT_FIELDS, row[n_level : n_level + n_product])
            products[level.product_id] = product
        location = locations.get(level.location_id)
        if location is None:
            location = Location.from_db(DEFAULT_DB_ALIAS, _LOCATION_FIELDS, row[n_level + n_product :])
            locations[level.location_id] = location
        level.product, level.location = product, location
        levels.append(level)
    by_sku = {p.sku: p for p in products.values()}
    missing = set(skus) - by_sku.keys()
    if missing:  # unknown skus, or products that were never stocked anywhere (those backorder)
        by_sku.update({p.sku: p for p in Product.objects.filter(sku__in=missing)})
    return by_sku, levels, ((new_pks[0][0], new_pks[1]) if new_pks else None)


def _order_insert(*, data: OrderInput, fingerprint: str, actor: Actor | None) -> Order:
    """Write a new order with its lines, reservations, history and events: one INSERT per table.

    The model instances are built as usual (FSM transitions included) and written with
    `bulk_insert`, which skips the ORM's per-call query compilation (see apps.core.db).
    """
    now = timezone.now()
    skus = list(dict.fromkeys(ln.sku for ln in data.lines))
    review = data.total > settings.ORDER_REVIEW_THRESHOLD
    levels: list[StockLevel] = []
    new_pks = None
    if review:  # held orders reserve nothing: no stock to lock
        products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    else:
        products, levels, new_pks = _stock_lock_by_sku(skus, new_lines=len(data.lines))
    unknown = [sku for sku in skus if sku not in products or not products[sku].active]
    if unknown:
        raise UnknownSku(unknown)
    order = Order(
        channel=data.channel,
        external_id=data.external_id,
        request_hash=fingerprint,
        customer_email=data.customer_email,
        customer_name=data.customer_name,
        fulfillment_method=data.fulfillment_method,
        pickup_location=data.pickup_location,
        shipping_address=data.shipping_address,
        currency=data.currency,
        total=data.total,
        payment_method=data.payment_method,
        payment_reference=data.payment_reference,
        payment_amount=data.payment_amount,
        created_at=now,
        updated_at=now,
    )
    lines = [
        OrderLine(line_no=i + 1, product=products[ln.sku], quantity=ln.quantity, unit_price=ln.unit_price)
        for i, ln in enumerate(data.lines)
    ]
    allocations: list[Allocation] | None = None
    if review:
        order.hold_for_review()
        reason = f"total {data.total} above review threshold {settings.ORDER_REVIEW_THRESHOLD}"
    else:
        allocations = _route_levels(order, lines, levels)
        if allocations is None:
            order.backorder()
            reason = "not enough stock to fill every line"
        else:
            order.allocate()
            reason = "stock reserved"
    if new_pks is not None:
        order.pk = new_pks[0]
        for ln, pk in zip(lines, new_pks[1], strict=True):
            ln.pk = pk
    # With the keys known up front, every write below goes to PostgreSQL in one round trip.
    with pipeline() if new_pks is not None else nullcontext():
        _order_write(order, lines, allocations, actor=actor, reason=reason, now=now)
    order._prefetched_lines = lines  # type: ignore[attr-defined]
    return order


def _order_write(
    order: Order,
    lines: list[OrderLine],
    allocations: list[Allocation] | None,
    *,
    actor: Actor | None,
    reason: str,
    now: datetime,
) -> None:
    """The rows of a new order: order, lines, reservations, the two history rows, the two events."""
    bulk_insert([order])
    for ln in lines:
        ln.order = order
        ln._allocations = []  # type: ignore[attr-defined]
    bulk_insert(lines)
    if allocations:
        reservations = stock_reserve(
            allocations=[Allocation(a.level, lines[a.line_id].pk, a.quantity) for a in allocations],
            demand_type=DEMAND,
            demand_id=order.pk,
        )
        for a, r in zip(allocations, reservations, strict=True):
            r.location = a.level.location
            lines[a.line_id]._allocations.append(r)  # type: ignore[attr-defined]
    bulk_insert(
        [
            OrderHistory(
                order=order,
                from_status="",
                to_status=S.RECEIVED,
                actor=real_user(actor),
                reason="order received",
                at=now,
            ),
            OrderHistory(
                order=order,
                from_status=S.RECEIVED,
                to_status=order.status,
                actor=real_user(actor),
                reason=reason,
                at=now,
            ),
        ]
    )
    outbox_emit(order_event(order, S.RECEIVED), order_event(order, order.status))


def order_lock(*, order_id: int) -> Order:
    """The order row, locked until the caller's transaction ends (NotFound if it does not exist).

    Every write about one order takes this lock first — transitions here, returns in apps.returns —
    so they serialize per order.
    """
    order = Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    return order


def _transition(
    *,
    order_id: int,
    name: str,
    actor: Actor | None,
    reason: str = "",
    effect: Callable[[Order], dict[str, Any] | None] | None = None,
    **kwargs: Any,
) -> Order:
    """Lock, check, transition, save, record history, apply the effect and emit the event (with
    whatever the effect returns added to its payload)."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        method = getattr(order, name)
        if not can_proceed(method):
            raise InvalidTransition(
                f"Order {order.number} cannot {name.replace('_', ' ')} from status {order.status!r}",
                extra={"status": order.status},
            )
        from_status = order.status
        method(**kwargs)
        order.updated_at = timezone.now()
        order.save()
        OrderHistory.objects.create(
            order=order, from_status=from_status, to_status=order.status, actor=real_user(actor), reason=reason[:500]
        )
        extra = effect(order) if effect is not None else None
        outbox_emit(order_event(order, order.status, previous_status=from_status, **(extra or {})))
        return order


def _allocate_locked(order: Order, *, actor: Actor | None, reason: str) -> Order:
    """Allocate a locked order all-or-nothing; if it still cannot be filled it is (or stays) backordered."""
    lines = list(order.lines.order_by("line_no"))
    allocations = _route(order, lines)
    from_status = order.status
    if allocations is None:
        if order.status == S.BACKORDERED:
            return order
        order.backorder()
        reason = reason or "not enough stock to fill every line"
    else:
        order.allocate()
        reason = reason or "stock reserved"
    order.updated_at = timezone.now()
    order.save()
    if allocations:
        stock_reserve(
            allocations=[Allocation(a.level, lines[a.line_id].pk, a.quantity) for a in allocations],
            demand_type=DEMAND,
            demand_id=order.pk,
        )
    OrderHistory.objects.create(
        order=order, from_status=from_status, to_status=order.status, actor=real_user(actor), reason=reason[:500]
    )
    outbox_emit(order_event(order, order.status, previous_status=from_status))
    return order


def order_allocate(*, order_id: int, actor: Actor | None = None, reason: str = "") -> Order:
    """Try to allocate a backordered order; a no-op for any other status or if it still cannot be filled."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if order.status != S.BACKORDERED:
            return order
        return _allocate_locked(order, actor=actor, reason=reason)


def order_allocate_backorders(*, product_ids: Iterable[int] | None = None, limit: int = 500) -> int:
    """Allocate waiting backorders, oldest first (each in its own transaction). Returns how many."""
    qs = Order.objects.filter(status=S.BACKORDERED)
    if product_ids is not None:
        qs = qs.filter(lines__product_id__in=list(product_ids))
    allocated = 0
    for order_id in qs.order_by("created_at", "id").values_list("id", flat=True).distinct()[:limit]:
        if order_allocate(order_id=order_id, reason="stock arrived").status == S.ALLOCATED:
            allocated += 1
    return allocated


def order_release(*, order_id: int, actor: Actor | None = None, reason: str = "") -> Order:
    """Release an order from fraud review into allocation (allocated, or backordered if short)."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if order.status != S.FRAUD_HOLD:
            raise InvalidTransition(
                f"Order {order.number} cannot release from status {order.status!r}", extra={"status": order.status}
            )
        return _allocate_locked(order, actor=actor, reason=reason or "released from fraud review")


def order_pick(*, order_id: int, actor: Actor | None = None, reason: str = "") -> Order:
    return _transition(order_id=order_id, name="pick", actor=actor, reason=reason or "picking started")


def _handover_payload(order: Order, movements: Iterable[StockMovement]) -> dict[str, Any]:
    """What the journal needs to post a sale from the shipped / picked-up event: how it was paid,
    the priced lines, and which location handed over how many of each product."""
    movements = list(movements)
    codes = dict(Location.objects.filter(pk__in={m.location_id for m in movements}).values_list("pk", "code"))
    skus = dict(Product.objects.filter(pk__in={m.product_id for m in movements}).values_list("pk", "sku"))
    handed: dict[tuple[int, int], int] = {}
    for m in movements:
        handed[(m.product_id, m.location_id)] = handed.get((m.product_id, m.location_id), 0) - m.quantity
    return {
        "payment_method": order.payment_method,
        "payment_amount": str(order.payment_amount) if order.payment_amount is not None else None,
        "lines": [
            {
                "line_no": ln.line_no,
                "product_id": ln.product_id,
                "quantity": ln.quantity,
                "unit_price": str(ln.unit_price),
            }
            for ln in order.lines.order_by("line_no")
        ],
        "fulfilment": [
            {"product_id": pid, "sku": skus.get(pid, ""), "location": codes[lid], "quantity": q}
            for (pid, lid), q in sorted(handed.items())
        ],
    }


def order_ship(
    *,
    order_id: int,
    actor: Actor | None = None,
    carrier: str = "",
    tracking_number: str = "",
    reason: str = "",
) -> Order:
    """Ship: the reservations are consumed and on_hand falls, with a shipment movement."""

    def consume(order: Order) -> dict[str, Any]:
        movements = stock_consume(
            demand_type=DEMAND,
            demand_id=order.pk,
            kind=MovementKind.SHIPMENT,
            reference=f"{order.number} shipment",
            actor=real_user(actor),
        )
        return _handover_payload(order, movements)

    return _transition(
        order_id=order_id,
        name="ship",
        actor=actor,
        reason=reason or "shipped",
        effect=consume,
        carrier=carrier,
        tracking_number=tracking_number,
    )


def order_mark_ready(*, order_id: int, actor: Actor | None = None, reason: str = "") -> Order:
    return _transition(order_id=order_id, name="mark_ready", actor=actor, reason=reason or "ready for pickup")


def order_collect(*, order_id: int, actor: Actor | None = None, reason: str = "") -> Order:
    """The customer collected in store: reservations consumed with a pickup movement."""

    def consume(order: Order) -> dict[str, Any]:
        movements = stock_consume(
            demand_type=DEMAND,
            demand_id=order.pk,
            kind=MovementKind.PICKUP,
            reference=f"{order.number} pickup",
            actor=real_user(actor),
        )
        return _handover_payload(order, movements)

    return _transition(order_id=order_id, name="collect", actor=actor, reason=reason or "collected", effect=consume)


def order_deliver(*, order_id: int, actor: Actor | None = None, reason: str = "") -> Order:
    return _transition(order_id=order_id, name="deliver", actor=actor, reason=reason or "delivered")


def order_close(*, order_id: int, actor: Actor | None = None, reason: str = "") -> Order:
    return _transition(order_id=order_id, name="close", actor=actor, reason=reason or "closed")


def order_cancel(*, order_id: int, actor: Actor | None = None, reason: str = "") -> Order:
    """Cancel: any reservation is released in the same transaction."""

    def release(order: Order) -> None:
        stock_release(demand_type=DEMAND, demand_id=order.pk)

    return _transition(order_id=order_id, name="cancel", actor=actor, reason=reason or "cancelled", effect=release)


TRANSITIONS: dict[str, Callable[..., Order]] = {
    "pick": order_pick,
    "ship": order_ship,
    "mark-ready": order_mark_ready,
    "collect": order_collect,
    "deliver": order_deliver,
    "release": order_release,
    "cancel": order_cancel,
    "close": order_close,
}
