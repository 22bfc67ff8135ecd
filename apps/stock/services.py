"""Stock writes. This module is the only writer of levels, movements and reservations.

Every change of `on_hand` appends a StockMovement in the same transaction. Rows are locked in
primary-key order (so concurrent multi-line operations cannot deadlock), quantities are written
with F() expressions, and the database CHECKs are the last line of defence against overselling.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone

from apps.catalog.models import Location, Product
from apps.core.errors import DomainError
from apps.core.outbox import Event, outbox_emit
from apps.core.services import incident_raise
from apps.stock.models import (
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
    StockReceipt,
    StockReceiptLine,
)

EVENT_RECEIPT_POSTED = "stock.receipt.posted"
EVENT_MOVEMENTS_POSTED = "stock.movements.posted"


@dataclass(frozen=True)
class Allocation:
    """Reserve `quantity` of a locked level for one demand line."""

    level: StockLevel
    line_id: int
    quantity: int


@dataclass(frozen=True)
class ReceiptLine:
    product: Product
    quantity: int
    unit_cost: Decimal


def stock_levels_lock(*, product_ids: Iterable[int], location_ids: Iterable[int] | None = None) -> list[StockLevel]:
    """Lock the levels of these products (at these locations, else everywhere) in primary-key order."""
    qs = StockLevel.objects.filter(product_id__in=set(product_ids))
    if location_ids is not None:
        qs = qs.filter(location_id__in=set(location_ids))
    return list(qs.select_for_update(of=("self",)).order_by("pk"))


def _levels_ensure_locked(*, location_id: int, product_ids: Sequence[int]) -> dict[int, StockLevel]:
    """Create missing levels (race-free) and lock all of them; returns product_id → level."""
    StockLevel.objects.bulk_create(
        [StockLevel(product_id=pid, location_id=location_id) for pid in set(product_ids)],
        ignore_conflicts=True,
    )
    levels = stock_levels_lock(product_ids=product_ids, location_ids=[location_id])
    return {level.product_id: level for level in levels}


def _apply_level_deltas(deltas: dict[int, tuple[int, int]]) -> None:
    """One UPDATE for many levels: level id → (change of on_hand, change of reserved)."""
    if not deltas:
        return
    on_hand = [When(pk=pk, then=Value(d[0])) for pk, d in deltas.items() if d[0]]
    reserved = [When(pk=pk, then=Value(d[1])) for pk, d in deltas.items() if d[1]]
    values = {"updated_at": timezone.now()}
    if on_hand:
        values["on_hand"] = F("on_hand") + Case(*on_hand, default=Value(0), output_field=IntegerField())
    if reserved:
        values["reserved"] = F("reserved") + Case(*reserved, default=Value(0), output_field=IntegerField())
    StockLevel.objects.filter(pk__in=list(deltas)).update(**values)


def _movements_write(
    *,
    changes: Sequence[tuple[StockLevel, int]],
    kind: str,
    reference: str,
    actor: AbstractBaseUser | None,
    reserved_deltas: dict[int, int] | None = None,
) -> list[StockMovement]:
    """Append movements for (locked level, signed quantity) pairs and apply them to the levels.

    `reserved_deltas` (level id → change of reserved) goes into the same UPDATE: the CHECK
    reserved <= on_hand holds per statement, so on_hand and reserved must fall together.
    """
    now = timezone.now()
    running: dict[int, int] = {}
    movements: list[StockMovement] = []
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for level, quantity in changes:
        if quantity == 0:
            continue
        balance = running.get(level.pk, level.on_hand) + quantity
        if balance < 0:
            raise DomainError(
                f"Not enough stock of product {level.product_id} at location {level.location_id}",
                code="insufficient_stock",
            )
        running[level.pk] = balance
        deltas[level.pk][0] += quantity
        movements.append(
            StockMovement(
                level=level,
                product_id=level.product_id,
                location_id=level.location_id,
                kind=kind,
                quantity=quantity,
                balance_after=balance,
                reference=reference[:120],
                actor=actor if actor is not None and actor.is_authenticated else None,
                created_at=now,
            )
        )
    for pk, d in (reserved_deltas or {}).items():
        deltas[pk][1] += d
    _apply_level_deltas({pk: (d[0], d[1]) for pk, d in deltas.items()})
    for level, _ in changes:
        if level.pk in running:
            level.on_hand = running[level.pk]
    return StockMovement.objects.bulk_create(movements)


@transaction.atomic
def stock_receive(
    *,
    location: Location,
    reference: str,
    lines: Sequence[ReceiptLine],
    actor: AbstractBaseUser | None = None,
    kind: str = MovementKind.RECEIPT,
) -> StockReceipt:
    """Take goods into a location: a receipt, its movements, and `stock.receipt.posted` (which
    lets waiting backorders allocate)."""
    if not lines:
        raise DomainError("A receipt needs at least one line", code="empty_receipt")
    receipt = StockReceipt.objects.create(
        location=location,
        reference=reference,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
    )
    StockReceiptLine.objects.bulk_create(
        [
            StockReceiptLine(receipt=receipt, product=ln.product, quantity=ln.quantity, unit_cost=ln.unit_cost)
            for ln in lines
        ]
    )
    levels = _levels_ensure_locked(location_id=location.pk, product_ids=[ln.product.pk for ln in lines])
    _movements_write(
        changes=[(levels[ln.product.pk], ln.quantity) for ln in lines],
        kind=kind,
        reference=reference or f"receipt {receipt.pk}",
        actor=actor,
    )
    outbox_emit(
        Event(
            name=EVENT_RECEIPT_POSTED,
            aggregate_type="stock.receipt",
            aggregate_id=receipt.pk,
            payload={
                "receipt_id": receipt.pk,
                "location": location.code,
                "reference": reference,
                "product_ids": sorted({ln.product.pk for ln in lines}),
                "lines": [
                    {"sku": ln.product.sku, "quantity": ln.quantity, "unit_cost": str(ln.unit_cost)} for ln in lines
                ],
            },
        )
    )
    return receipt


def stock_post_movements(
    *,
    location: Location,
    changes: Sequence[tuple[Product, int]],
    kind: str,
    reference: str,
    actor: AbstractBaseUser | None = None,
) -> list[StockMovement]:
    """Apply signed on_hand changes at one location (adjustments, counts, transfers, returns).

    Refuses (DomainError) to take on_hand below what is reserved or below zero; emits
    `stock.movements.posted` so increases can allocate backorders.
    """
    with transaction.atomic():
        levels = _levels_ensure_locked(location_id=location.pk, product_ids=[p.pk for p, _ in changes])
        net: dict[int, int] = defaultdict(int)
        for product, quantity in changes:
            net[product.pk] += quantity
        for product_id, delta in net.items():
            level = levels[product_id]
            if level.on_hand + delta < level.reserved:
                raise DomainError(
                    f"Posting {delta:+d} of product {product_id} at {location.code} would leave less on "
                    f"hand ({level.on_hand + delta}) than is reserved ({level.reserved})",
                    code="insufficient_stock",
                )
        movements = _movements_write(
            changes=[(levels[p.pk], q) for p, q in changes], kind=kind, reference=reference, actor=actor
        )
        outbox_emit(
            Event(
                name=EVENT_MOVEMENTS_POSTED,
                aggregate_type="stock.location",
                aggregate_id=location.pk,
                payload={
                    "location": location.code,
                    "kind": kind,
                    "reference": reference,
                    "increased_product_ids": sorted(pid for pid, d in net.items() if d > 0),
                    "changes": [{"product_id": pid, "quantity": d} for pid, d in sorted(net.items())],
                },
            )
        )
        return movements


def stock_reserve(*, allocations: Sequence[Allocation], demand_type: str, demand_id: int) -> list[Reservation]:
    """Reserve locked levels for a demand. The caller holds the level locks (stock_levels_lock)."""
    need: dict[int, int] = defaultdict(int)
    by_pk: dict[int, StockLevel] = {}
    for a in allocations:
        need[a.level.pk] += a.quantity
        by_pk[a.level.pk] = a.level
    for pk, quantity in need.items():
        level = by_pk[pk]
        if level.available < quantity:
            raise DomainError(
                f"Only {level.available} available at location {level.location_id}", code="insufficient_stock"
            )
    _apply_level_deltas({pk: (0, q) for pk, q in need.items()})
    for pk, quantity in need.items():
        by_pk[pk].reserved += quantity
    now = timezone.now()
    return Reservation.objects.bulk_create(
        [
            Reservation(
                level=a.level,
                product_id=a.level.product_id,
                location_id=a.level.location_id,
                demand_type=demand_type,
                demand_id=demand_id,
                line_id=a.line_id,
                quantity=a.quantity,
                created_at=now,
            )
            for a in allocations
        ]
    )


def _active_reservations_locked(*, demand_type: str, demand_id: int) -> tuple[list[Reservation], dict[int, StockLevel]]:
    reservations = list(
        Reservation.objects.filter(demand_type=demand_type, demand_id=demand_id, status=ReservationStatus.ACTIVE)
    )
    levels = {
        lv.pk: lv
        for lv in StockLevel.objects.filter(pk__in={r.level_id for r in reservations})
        .select_for_update(of=("self",))
        .order_by("pk")
    }
    return reservations, levels


def stock_release(*, demand_type: str, demand_id: int) -> int:
    """Release every active reservation of a demand; returns the quantity released."""
    with transaction.atomic():
        reservations, levels = _active_reservations_locked(demand_type=demand_type, demand_id=demand_id)
        if not reservations:
            return 0
        deltas: dict[int, int] = defaultdict(int)
        for r in reservations:
            deltas[r.level_id] -= r.quantity
        _apply_level_deltas({pk: (0, d) for pk, d in deltas.items()})
        Reservation.objects.filter(pk__in=[r.pk for r in reservations]).update(
            status=ReservationStatus.RELEASED, closed_at=timezone.now()
        )
        return -sum(deltas.values())


def stock_consume(
    *, demand_type: str, demand_id: int, kind: str, reference: str, actor: AbstractBaseUser | None = None
) -> list[StockMovement]:
    """Turn a demand's reservations into stock leaving: on_hand and reserved fall together."""
    with transaction.atomic():
        reservations, levels = _active_reservations_locked(demand_type=demand_type, demand_id=demand_id)
        if not reservations:
            raise DomainError("Nothing is reserved for this demand", code="nothing_reserved")
        reserved: dict[int, int] = defaultdict(int)
        for r in reservations:
            reserved[r.level_id] -= r.quantity
        movements = _movements_write(
            changes=[(levels[r.level_id], -r.quantity) for r in reservations],
            kind=kind,
            reference=reference,
            actor=actor,
            reserved_deltas=reserved,
        )
        for pk, d in reserved.items():
            levels[pk].reserved += d
        Reservation.objects.filter(pk__in=[r.pk for r in reservations]).update(
            status=ReservationStatus.CONSUMED, closed_at=timezone.now()
        )
        return movements


_DRIFT_SQL = """
SELECT l.id, l.product_id, l.location_id, l.on_hand, COALESCE(m.total, 0), l.reserved, COALESCE(r.total, 0)
FROM stock_stocklevel l
LEFT JOIN (SELECT level_id, SUM(quantity) AS total FROM stock_stockmovement GROUP BY level_id) m
       ON m.level_id = l.id
LEFT JOIN (SELECT level_id, SUM(quantity) AS total FROM stock_reservation WHERE status = 'active'
           GROUP BY level_id) r
       ON r.level_id = l.id
WHERE l.on_hand <> COALESCE(m.total, 0) OR l.reserved <> COALESCE(r.total, 0)
ORDER BY l.id
"""


def stock_verify_invariants() -> list[dict]:
    """Check every level against its ledger and reservations; each drift becomes an incident."""
    with connection.cursor() as cursor:
        cursor.execute(_DRIFT_SQL)
        rows = cursor.fetchall()
    drifts = []
    for level_id, product_id, location_id, on_hand, moved, reserved, active in rows:
        drift = {
            "level_id": level_id,
            "product_id": product_id,
            "location_id": location_id,
            "on_hand": on_hand,
            "movements_total": int(moved),
            "reserved": reserved,
            "active_reservations_total": int(active),
        }
        drifts.append(drift)
        level = StockLevel.objects.get(pk=level_id)
        incident_raise(
            kind="stock.drift",
            severity="high",
            title=f"Stock level {level_id} disagrees with its ledger",
            subject=level,
            details=drift,
            dedupe_key=f"stock.drift:{level_id}",
            location=location_id,
            owner_team="inventory",
        )
    return drifts
