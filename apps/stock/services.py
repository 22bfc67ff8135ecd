"""Stock writes. This module is the only writer of levels, movements and reservations.

Every change of `on_hand` appends a StockMovement in the same transaction. Rows are locked in
primary-key order (so concurrent multi-line operations cannot deadlock), quantities are written
with F() expressions, and the database CHECKs are the last line of defence against overselling.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone
from django_fsm import can_proceed

from apps.catalog.models import Location, Product
from apps.core.errors import DomainError, InvalidTransition, NotFound
from apps.core.outbox import Event, outbox_emit
from apps.core.services import incident_raise
from apps.stock.models import (
    AdjustmentReason,
    AdjustmentStatus,
    CycleCount,
    CycleCountLine,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockAdjustment,
    StockAdjustmentHistory,
    StockAdjustmentLine,
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


# --- inventory control: adjustments and cycle counts ---------------------------------------------
# An adjustment is valued at Σ |quantity delta| × product cost and submitted against the approval
# policy of SUBJECT_ADJUSTMENT: within it, it posts at once; above it, it waits for an approval
# process (apps.approvals) whose outcome comes back through the two apply_* services below, in the
# transaction that completes the process.
SUBJECT_ADJUSTMENT = "stock.adjustment"
EVENT_ADJUSTMENT_SUBMITTED = "stock.adjustment.submitted"
EVENT_ADJUSTMENT_APPROVED = "stock.adjustment.approved"
EVENT_ADJUSTMENT_POSTED = "stock.adjustment.posted"
EVENT_ADJUSTMENT_REJECTED = "stock.adjustment.rejected"
EVENT_COUNT_SUBMITTED = "stock.count.submitted"


@dataclass(frozen=True)
class AdjustmentLineInput:
    product: Product
    quantity_delta: int


@dataclass(frozen=True)
class CountLineInput:
    product: Product
    counted: int


def _real_user(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return actor if actor is not None and actor.is_authenticated else None


def _adjustment_event(adjustment: StockAdjustment, name: str, **extra: Any) -> Event:
    payload = {
        "adjustment_id": adjustment.pk,
        "number": adjustment.number,
        "location": adjustment.location.code,
        "reason": adjustment.reason,
        "status": adjustment.status,
        "value": str(adjustment.value),
        "currency": adjustment.currency,
        "count_id": adjustment.count_id,
    }
    payload.update(extra)
    return Event(name=name, aggregate_type="stock.adjustment", aggregate_id=adjustment.pk, payload=payload)


def _adjustment_history(
    adjustment: StockAdjustment, from_status: str, actor: AbstractBaseUser | None, reason: str, at: datetime
) -> StockAdjustmentHistory:
    return StockAdjustmentHistory(
        adjustment=adjustment,
        from_status=from_status,
        to_status=adjustment.status,
        actor=_real_user(actor),
        reason=reason[:500],
        at=at,
    )


def _adjustment_post_movements(adjustment: StockAdjustment, lines: Sequence[StockAdjustmentLine], actor) -> None:
    stock_post_movements(
        location=adjustment.location,
        changes=[(line.product, line.quantity_delta) for line in lines],
        kind=MovementKind.ADJUSTMENT,
        reference=f"{adjustment.number} {adjustment.get_reason_display().lower()}",
        actor=_real_user(actor),
    )


def _check_lines(products: Sequence[Product], what: str) -> None:
    if not products:
        raise DomainError(f"A {what} needs at least one line", code=f"empty_{what.replace(' ', '_')}")
    seen: set[int] = set()
    for product in products:
        if product.pk in seen:
            raise DomainError(f"Product {product.sku} appears twice in the {what}", code="duplicate_line")
        seen.add(product.pk)


def stock_adjustment_create(
    *,
    location: Location,
    reason: str,
    lines: Sequence[AdjustmentLineInput],
    requested_by: AbstractBaseUser,
    note: str = "",
    count: CycleCount | None = None,
) -> StockAdjustment:
    """Record an adjustment and submit it, in one transaction.

    Within the approval policy it posts at once (movements, `stock.adjustment.submitted` and
    `.posted`); above it, it waits in `pending_approval` with an approval process started. A posting
    that would take on_hand below reserved (or zero) is refused and nothing is written.
    """
    _check_lines([ln.product for ln in lines], "adjustment")
    if any(ln.quantity_delta == 0 for ln in lines):
        raise DomainError("A quantity delta of zero changes nothing", code="zero_delta")
    if reason not in AdjustmentReason.values:
        raise DomainError(f"Unknown reason {reason!r}", code="unknown_reason")
    with transaction.atomic():
        now = timezone.now()
        adjustment = StockAdjustment(
            location=location,
            reason=reason,
            note=note.strip()[:500],
            currency=settings.COMPANY_CURRENCY,
            count=count,
            requested_by=requested_by,
            created_at=now,
            updated_at=now,
        )
        adjustment.save(force_insert=True)
        rows = StockAdjustmentLine.objects.bulk_create(
            [
                StockAdjustmentLine(
                    adjustment=adjustment,
                    product=ln.product,
                    quantity_delta=ln.quantity_delta,
                    unit_cost=ln.product.cost,
                )
                for ln in lines
            ]
        )
        history = [_adjustment_history(adjustment, "", requested_by, "recorded", now)]
        _adjustment_submit(adjustment, rows, actor=requested_by, at=now, history=history)
    return adjustment


def _adjustment_submit(
    adjustment: StockAdjustment,
    lines: Sequence[StockAdjustmentLine],
    *,
    actor: AbstractBaseUser,
    at: datetime,
    history: list[StockAdjustmentHistory],
) -> None:
    from apps.approvals.services import approval_evaluate, approval_request_start

    adjustment.value = sum((ln.value for ln in lines), Decimal("0.00"))
    evaluation = approval_evaluate(
        subject_type=SUBJECT_ADJUSTMENT,
        metrics={"amount": adjustment.value, "quantity": sum(abs(ln.quantity_delta) for ln in lines)},
    )
    adjustment.approval_levels = evaluation.levels
    adjustment.submitted_at = at
    events = []
    if evaluation.required:
        adjustment.submit()
        adjustment.save()
        policy = evaluation.policy.name if evaluation.policy else ""
        history.append(
            _adjustment_history(
                adjustment,
                AdjustmentStatus.DRAFT,
                actor,
                f"value {adjustment.value} {adjustment.currency} needs {evaluation.levels} approval level(s) "
                f"under policy {policy!r}",
                at,
            )
        )
        approval_request_start(
            evaluation=evaluation,
            subject_id=adjustment.pk,
            requested_by=actor,
            summary=f"{adjustment.number} at {adjustment.location.code}: {adjustment.get_reason_display().lower()}, "
            f"{len(lines)} line(s), {adjustment.value} {adjustment.currency}",
            currency=adjustment.currency,
        )
        events.append(_adjustment_event(adjustment, EVENT_ADJUSTMENT_SUBMITTED, approval_levels=evaluation.levels))
    else:
        adjustment.post()
        adjustment.posted_at = at
        adjustment.save()
        history.append(
            _adjustment_history(
                adjustment,
                AdjustmentStatus.DRAFT,
                actor,
                f"value {adjustment.value} {adjustment.currency} needs no approval: posted",
                at,
            )
        )
        _adjustment_post_movements(adjustment, lines, actor)
        events.append(_adjustment_event(adjustment, EVENT_ADJUSTMENT_SUBMITTED, approval_levels=0))
        events.append(_adjustment_event(adjustment, EVENT_ADJUSTMENT_POSTED))
    StockAdjustmentHistory.objects.bulk_create(history)
    outbox_emit(*events)


def _adjustment_lock(adjustment_id: int) -> StockAdjustment:
    adjustment = (
        StockAdjustment.objects.select_for_update(of=("self",))
        .select_related("location")
        .filter(pk=adjustment_id)
        .first()
    )
    if adjustment is None:
        raise NotFound(f"Stock adjustment {adjustment_id} does not exist")
    return adjustment


def _decided_by(decided: Any) -> str:
    who = decided.actor.get_username() if decided.actor else "system"
    if decided.on_behalf_of is not None:
        who += f" on behalf of {decided.on_behalf_of.get_username()}"
    return who


def stock_adjustment_apply_approval(decided: Any) -> StockAdjustment:
    """The approval process approved the adjustment: approve and post it (movements, history, events).

    Runs inside the transaction that completes the approval; a refused posting (below reserved)
    raises and undoes the approval with it.
    """
    with transaction.atomic():
        adjustment = _adjustment_lock(int(decided.subject_id))
        if not can_proceed(adjustment.approve):
            raise InvalidTransition(
                f"Stock adjustment {adjustment.number} cannot be approved from status {adjustment.status!r}",
                extra={"status": adjustment.status},
            )
        now = timezone.now()
        adjustment.approve()
        approved = _adjustment_history(
            adjustment,
            AdjustmentStatus.PENDING_APPROVAL,
            decided.actor,
            f"approved by {_decided_by(decided)} (approval #{decided.request_id})"
            + (f": {decided.comment}" if decided.comment else ""),
            now,
        )
        adjustment.post()
        posted = _adjustment_history(adjustment, AdjustmentStatus.APPROVED, decided.actor, "posted", now)
        adjustment.decided_at = adjustment.posted_at = adjustment.updated_at = now
        adjustment.save()
        lines = list(adjustment.lines.select_related("product").order_by("id"))
        try:
            _adjustment_post_movements(adjustment, lines, decided.actor)
        except DomainError as error:
            raise DomainError(
                f"{adjustment.number} cannot be posted: {error.detail}",
                code=error.code,
                extra={**error.extra, "adjustment_id": adjustment.pk},
            ) from error
        StockAdjustmentHistory.objects.bulk_create([approved, posted])
        outbox_emit(
            _adjustment_event(adjustment, EVENT_ADJUSTMENT_APPROVED, approval_request_id=decided.request_id),
            _adjustment_event(adjustment, EVENT_ADJUSTMENT_POSTED),
        )
    return adjustment


def stock_adjustment_apply_rejection(decided: Any) -> StockAdjustment:
    """The approval process rejected the adjustment: it ends rejected, stock untouched."""
    with transaction.atomic():
        adjustment = _adjustment_lock(int(decided.subject_id))
        if not can_proceed(adjustment.reject):
            raise InvalidTransition(
                f"Stock adjustment {adjustment.number} cannot be rejected from status {adjustment.status!r}",
                extra={"status": adjustment.status},
            )
        now = timezone.now()
        adjustment.reject()
        adjustment.decided_at = adjustment.updated_at = now
        adjustment.save()
        _adjustment_history(
            adjustment,
            AdjustmentStatus.PENDING_APPROVAL,
            decided.actor,
            f"rejected by {_decided_by(decided)}: {decided.comment}",
            now,
        ).save()
        outbox_emit(
            _adjustment_event(
                adjustment,
                EVENT_ADJUSTMENT_REJECTED,
                approval_request_id=decided.request_id,
                comment=decided.comment,
            )
        )
    return adjustment


def stock_count_submit(
    *,
    location: Location,
    lines: Sequence[CountLineInput],
    counted_by: AbstractBaseUser,
    note: str = "",
) -> CycleCount:
    """Record a cycle count against on_hand at this moment (the levels are locked while it is read) and
    turn the non-zero variances into one `count_variance` adjustment that follows the approval policy.
    Emits `stock.count.submitted`."""
    _check_lines([ln.product for ln in lines], "count")
    if any(ln.counted < 0 for ln in lines):
        raise DomainError("A counted quantity cannot be negative", code="negative_count")
    with transaction.atomic():
        levels = _levels_ensure_locked(location_id=location.pk, product_ids=[ln.product.pk for ln in lines])
        count = CycleCount.objects.create(
            location=location, counted_by=counted_by, note=note.strip()[:500], created_at=timezone.now()
        )
        rows = CycleCountLine.objects.bulk_create(
            [
                CycleCountLine(
                    count=count,
                    product=ln.product,
                    counted=ln.counted,
                    expected=levels[ln.product.pk].on_hand,
                    variance=ln.counted - levels[ln.product.pk].on_hand,
                )
                for ln in lines
            ]
        )
        variances = [
            AdjustmentLineInput(product=row.product, quantity_delta=row.variance) for row in rows if row.variance
        ]
        adjustment = None
        if variances:
            adjustment = stock_adjustment_create(
                location=location,
                reason=AdjustmentReason.COUNT_VARIANCE,
                lines=variances,
                requested_by=counted_by,
                note=f"{count.number}" + (f": {note.strip()}" if note.strip() else ""),
                count=count,
            )
        outbox_emit(
            Event(
                name=EVENT_COUNT_SUBMITTED,
                aggregate_type="stock.count",
                aggregate_id=count.pk,
                payload={
                    "count_id": count.pk,
                    "location": location.code,
                    "lines": [
                        {"sku": r.product.sku, "counted": r.counted, "expected": r.expected, "variance": r.variance}
                        for r in rows
                    ],
                    "adjustment_id": adjustment.pk if adjustment else None,
                },
            )
        )
    return count
