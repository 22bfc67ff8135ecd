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
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import can_proceed

from apps.catalog.models import Location, LocationKind, Product
from apps.core.db import bulk_insert
from apps.core.errors import DomainError, InvalidTransition, NotFound, PermissionDenied
from apps.core.locks import job_lock
from apps.core.outbox import Event, outbox_emit
from apps.core.services import incident_raise
from apps.core.types import Actor, real_user
from apps.stock.models import (
    AdjustmentReason,
    AdjustmentStatus,
    CycleCount,
    CycleCountLine,
    MovementKind,
    ReplenishmentRule,
    Reservation,
    ReservationStatus,
    StockAdjustment,
    StockAdjustmentHistory,
    StockAdjustmentLine,
    StockLevel,
    StockMovement,
    StockReceipt,
    StockReceiptLine,
    StockTransfer,
    StockTransferHistory,
    StockTransferLine,
    TransferStatus,
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
    """One UPDATE for many levels: level id → (change of on_hand, change of reserved).

    Plain SQL on purpose: it runs on every order, and building the equivalent Case/When
    expression through the ORM cost more CPU than the rest of the reservation. The CHECKs on the
    table still guard the result; callers hold the row locks.
    """
    if not deltas:
        return
    rows = sorted(deltas.items())
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    params: list[Any] = [x for pk, (d_on_hand, d_reserved) in rows for x in (pk, d_on_hand, d_reserved)]
    table = StockLevel._meta.db_table
    # A CTE with named columns and UPDATE … FROM work on PostgreSQL and on SQLite ≥ 3.33 (embedded demo).
    sql = (
        f"WITH d(id, d_on_hand, d_reserved) AS (VALUES {values}) "  # noqa: S608 - only placeholders
        f"UPDATE {table} SET on_hand = {table}.on_hand + d.d_on_hand, "
        f"reserved = {table}.reserved + d.d_reserved, updated_at = %s FROM d WHERE {table}.id = d.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, timezone.now()])


def _movements_write(
    *,
    changes: Sequence[tuple[StockLevel, int]],
    kind: str,
    reference: str,
    actor: Actor | None,
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
    actor: Actor | None = None,
    kind: str = MovementKind.RECEIPT,
    source: str = "manual",
    source_id: int | None = None,
) -> StockReceipt:
    """Take goods into a location: a receipt, its movements, and `stock.receipt.posted` (which
    lets waiting backorders allocate and the journal value the goods).

    `unit_cost` is in the company currency. `source` says where the goods come from ("manual",
    "opening" or "purchase_order" with `source_id` = the purchase order) so the journal can credit
    goods-received-not-invoiced for purchases and opening equity for the rest.
    """
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
                "source": source,
                "source_id": source_id,
                "received_on": timezone.localdate().isoformat(),
                "product_ids": sorted({ln.product.pk for ln in lines}),
                "lines": [
                    {
                        "product_id": ln.product.pk,
                        "sku": ln.product.sku,
                        "quantity": ln.quantity,
                        "unit_cost": str(ln.unit_cost),
                    }
                    for ln in lines
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
    actor: Actor | None = None,
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
    # bulk_insert: one INSERT without the ORM's per-call compilation (every order intake runs this).
    return list(
        bulk_insert(
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
    *, demand_type: str, demand_id: int, kind: str, reference: str, actor: Actor | None = None
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
EVENT_ADJUSTMENT_WITHDRAWN = "stock.adjustment.withdrawn"
EVENT_COUNT_SUBMITTED = "stock.count.submitted"


@dataclass(frozen=True)
class AdjustmentLineInput:
    product: Product
    quantity_delta: int


@dataclass(frozen=True)
class CountLineInput:
    product: Product
    counted: int


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


def _adjustment_lines_payload(lines: Sequence[StockAdjustmentLine]) -> list[dict]:
    """The posted quantities, for the journal (it values them at its own moving average cost)."""
    return [{"product_id": ln.product_id, "sku": ln.product.sku, "quantity_delta": ln.quantity_delta} for ln in lines]


def _adjustment_history(
    adjustment: StockAdjustment, from_status: str, actor: Actor | None, reason: str, at: datetime
) -> StockAdjustmentHistory:
    return StockAdjustmentHistory(
        adjustment=adjustment,
        from_status=from_status,
        to_status=adjustment.status,
        actor=real_user(actor),
        reason=reason[:500],
        at=at,
    )


def _adjustment_post_movements(adjustment: StockAdjustment, lines: Sequence[StockAdjustmentLine], actor) -> None:
    stock_post_movements(
        location=adjustment.location,
        changes=[(line.product, line.quantity_delta) for line in lines],
        kind=MovementKind.ADJUSTMENT,
        reference=f"{adjustment.number} {adjustment.get_reason_display().lower()}",
        actor=real_user(actor),
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
    requested_by: Actor,
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
    actor: Actor,
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
            location=adjustment.location,
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
        events.append(_adjustment_event(adjustment, EVENT_ADJUSTMENT_POSTED, lines=_adjustment_lines_payload(lines)))
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
            _adjustment_event(adjustment, EVENT_ADJUSTMENT_POSTED, lines=_adjustment_lines_payload(lines)),
        )
    return adjustment


def stock_adjustment_withdraw(*, adjustment_id: int, actor: Actor, reason: str = "") -> StockAdjustment:
    """The requester takes back an adjustment waiting for approval: it ends withdrawn, stock untouched,
    and its approval request ends withdrawn (only the requester or a manager of approvals)."""
    from apps.approvals.services import approval_request_withdraw

    with transaction.atomic():
        adjustment = _adjustment_lock(adjustment_id)
        if not can_proceed(adjustment.withdraw):
            raise InvalidTransition(
                f"Stock adjustment {adjustment.number} cannot be withdrawn from status {adjustment.status!r}",
                extra={"status": adjustment.status},
            )
        approval_request_withdraw(
            subject_type=SUBJECT_ADJUSTMENT, subject_id=adjustment.pk, actor=actor, comment=reason
        )
        now = timezone.now()
        adjustment.withdraw()
        adjustment.decided_at = adjustment.updated_at = now
        adjustment.save()
        _adjustment_history(
            adjustment, AdjustmentStatus.PENDING_APPROVAL, actor, reason.strip() or "withdrawn by the requester", now
        ).save()
        outbox_emit(_adjustment_event(adjustment, EVENT_ADJUSTMENT_WITHDRAWN, reason=reason[:200]))
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
    counted_by: Actor,
    note: str = "",
) -> CycleCount:
    """Record a cycle count against on_hand at this moment (the levels are locked while it is read) and
    turn the non-zero variances into one `count_variance` adjustment that follows the approval policy.
    Emits `stock.count.submitted`."""
    _check_lines([ln.product for ln in lines], "count")
    if any(ln.counted < 0 for ln in lines):
        raise DomainError("A counted quantity cannot be negative", code="negative_count")
    counter = real_user(counted_by)
    if counter is None:
        raise PermissionDenied("A count is recorded by a signed-in user")
    with transaction.atomic():
        levels = _levels_ensure_locked(location_id=location.pk, product_ids=[ln.product.pk for ln in lines])
        count = CycleCount.objects.create(
            location=location, counted_by=counter, note=note.strip()[:500], created_at=timezone.now()
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


# --- transfers between locations and store replenishment -----------------------------------------
# A transfer is requested, then submitted: within the "stock.transfer" approval policy it is approved
# at once, otherwise it waits for an approval process. Approval reserves at the source (demand
# "transfer", all-or-nothing); dispatch consumes the reservation (TRANSFER_OUT) into the lines'
# `dispatched` quantities, which are in transit until the destination receives them (TRANSFER_IN).
SUBJECT_TRANSFER = "stock.transfer"
DEMAND_TRANSFER = "transfer"
EVENT_TRANSFER_REQUESTED = "stock.transfer.requested"
EVENT_TRANSFER_SUBMITTED = "stock.transfer.submitted"
EVENT_TRANSFER_APPROVED = "stock.transfer.approved"
EVENT_TRANSFER_REJECTED = "stock.transfer.rejected"
EVENT_TRANSFER_PICKED = "stock.transfer.picking_started"
EVENT_TRANSFER_DISPATCHED = "stock.transfer.dispatched"
EVENT_TRANSFER_RECEIVED = "stock.transfer.received"
EVENT_TRANSFER_CANCELLED = "stock.transfer.cancelled"
EVENT_TRANSFER_WITHDRAWN = "stock.transfer.withdrawn"
INCIDENT_TRANSFER_DISCREPANCY = "stock.transfer_discrepancy"


class TransferInputError(DomainError):
    """The client asked for something the transfer cannot express (bad input: 400)."""

    status_code = 400
    code = "invalid_input"


@dataclass(frozen=True)
class TransferLineInput:
    product: Product
    quantity: int


def _transfer_event(transfer: StockTransfer, name: str, **extra: Any) -> Event:
    payload = {
        "transfer_id": transfer.pk,
        "number": transfer.number,
        "source": transfer.source.code,
        "destination": transfer.destination.code,
        "status": transfer.status,
        "proposed": transfer.proposed,
        "value": str(transfer.value),
        "currency": transfer.currency,
    }
    payload.update(extra)
    return Event(name=name, aggregate_type="stock.transfer", aggregate_id=transfer.pk, payload=payload)


def _transfer_history(
    transfer: StockTransfer, from_status: str, actor: Actor | None, reason: str, at: datetime
) -> StockTransferHistory:
    return StockTransferHistory(
        transfer=transfer,
        from_status=from_status,
        to_status=transfer.status,
        actor=real_user(actor),
        reason=reason[:500],
        at=at,
    )


def stock_transfer_create(
    *,
    source: Location,
    destination: Location,
    lines: Sequence[TransferLineInput],
    requested_by: Actor | None,
    note: str = "",
    proposed: bool = False,
) -> StockTransfer:
    """Record a transfer in `requested` (history row, `stock.transfer.requested`). Nothing is reserved yet."""
    if source.pk == destination.pk:
        raise TransferInputError("Source and destination must differ", code="same_location")
    if not source.active or not destination.active:
        raise DomainError("Both locations must be active", code="inactive_location")
    _check_lines([ln.product for ln in lines], "transfer")
    if any(ln.quantity <= 0 for ln in lines):
        raise TransferInputError("Every quantity must be positive", code="invalid_quantity")
    with transaction.atomic():
        now = timezone.now()
        transfer = StockTransfer(
            source=source,
            destination=destination,
            note=note.strip()[:500],
            proposed=proposed,
            currency=settings.COMPANY_CURRENCY,
            value=sum((ln.product.cost * ln.quantity for ln in lines), Decimal("0.00")).quantize(Decimal("0.01")),
            requested_by=real_user(requested_by),
            created_at=now,
            updated_at=now,
        )
        transfer.save(force_insert=True)
        StockTransferLine.objects.bulk_create(
            [
                StockTransferLine(
                    transfer=transfer, product=ln.product, quantity=ln.quantity, unit_cost=ln.product.cost
                )
                for ln in lines
            ]
        )
        _transfer_history(
            transfer, "", requested_by, "proposed by replenishment" if proposed else "requested", now
        ).save()
        outbox_emit(_transfer_event(transfer, EVENT_TRANSFER_REQUESTED, lines=len(lines)))
    return transfer


def _transfer_lock(transfer_id: int) -> StockTransfer:
    transfer = (
        StockTransfer.objects.select_for_update(of=("self",))
        .select_related("source", "destination")
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise NotFound(f"Stock transfer {transfer_id} does not exist")
    return transfer


def _transfer_check(transfer: StockTransfer, transition: Any, verb: str) -> None:
    if not can_proceed(transition):
        raise InvalidTransition(
            f"Stock transfer {transfer.number} cannot be {verb} from status {transfer.status!r}",
            extra={"status": transfer.status, "transfer_id": transfer.pk},
        )


def _transfer_lines(transfer: StockTransfer) -> list[StockTransferLine]:
    return list(transfer.lines.select_related("product").order_by("id"))


def _transfer_shortfalls(lines: Sequence[StockTransferLine], levels: dict[int, StockLevel]) -> list[dict]:
    shortfalls = []
    for ln in lines:
        level = levels.get(ln.product_id)
        available = level.available if level else 0
        if available < ln.quantity:
            shortfalls.append({"sku": ln.product.sku, "requested": ln.quantity, "available": available})
    return shortfalls


def _transfer_reserve(transfer: StockTransfer, lines: Sequence[StockTransferLine]) -> None:
    """Reserve every line at the source, all or nothing; the caller's transaction is rolled back on refusal."""
    levels = {
        lv.product_id: lv
        for lv in stock_levels_lock(product_ids=[ln.product_id for ln in lines], location_ids=[transfer.source_id])
    }
    shortfalls = _transfer_shortfalls(lines, levels)
    if shortfalls:
        raise DomainError(
            f"Not enough available at {transfer.source.code} for {transfer.number}: "
            + ", ".join(f"{s['sku']} needs {s['requested']}, has {s['available']}" for s in shortfalls),
            code="insufficient_stock",
            extra={"shortfalls": shortfalls},
        )
    stock_reserve(
        allocations=[Allocation(level=levels[ln.product_id], line_id=ln.pk, quantity=ln.quantity) for ln in lines],
        demand_type=DEMAND_TRANSFER,
        demand_id=transfer.pk,
    )


def _transfer_approval_reasons(transfer: StockTransfer, lines: Sequence[StockTransferLine]) -> list[str]:
    """Why this transfer needs approval: its value, or a source falling below its replenishment minimum."""
    reasons = []
    if transfer.value > settings.TRANSFER_APPROVAL_VALUE:
        reasons.append(f"value {transfer.value} above {settings.TRANSFER_APPROVAL_VALUE}")
    rules = {
        r.product_id: r
        for r in ReplenishmentRule.objects.filter(
            location_id=transfer.source_id, product_id__in=[ln.product_id for ln in lines], active=True
        )
    }
    if rules:
        levels = {
            lv.product_id: lv
            for lv in StockLevel.objects.filter(location_id=transfer.source_id, product_id__in=list(rules))
        }
        for ln in lines:
            rule = rules.get(ln.product_id)
            level = levels.get(ln.product_id)
            left = (level.available if level else 0) - ln.quantity
            if rule is not None and left < rule.min_qty:
                reasons.append(f"{ln.product.sku} at {transfer.source.code} would fall to {left}, below {rule.min_qty}")
    return reasons


def stock_transfer_submit(*, transfer_id: int, actor: Actor) -> StockTransfer:
    """Submit a requested transfer. Within the approval policy it is approved at once and reserved at the
    source (all-or-nothing: a shortfall raises `insufficient_stock` and nothing is written); otherwise it
    waits in `pending_approval` with an approval process started."""
    from apps.approvals.services import approval_evaluate, approval_request_start

    with transaction.atomic():
        transfer = _transfer_lock(transfer_id)
        if transfer.status != TransferStatus.REQUESTED:
            raise InvalidTransition(
                f"Stock transfer {transfer.number} cannot be submitted from status {transfer.status!r}",
                extra={"status": transfer.status, "transfer_id": transfer.pk},
            )
        lines = _transfer_lines(transfer)
        reasons = _transfer_approval_reasons(transfer, lines)
        evaluation = approval_evaluate(
            subject_type=SUBJECT_TRANSFER,
            metrics={
                "risk_score": 1 if reasons else 0,
                "amount": transfer.value,
                "quantity": sum(ln.quantity for ln in lines),
            },
        )
        now = timezone.now()
        transfer.approval_levels = evaluation.levels
        transfer.updated_at = now
        if evaluation.required:
            transfer.submit()
            transfer.save()
            _transfer_history(
                transfer, TransferStatus.REQUESTED, actor, "needs approval: " + "; ".join(reasons), now
            ).save()
            approval_request_start(
                evaluation=evaluation,
                subject_id=transfer.pk,
                requested_by=actor,
                summary=f"{transfer.number} {transfer.source.code} → {transfer.destination.code}: "
                f"{len(lines)} line(s), {transfer.value} {transfer.currency}; " + "; ".join(reasons),
                currency=transfer.currency,
                location=transfer.source,  # the stock that leaves is the source's
            )
            outbox_emit(_transfer_event(transfer, EVENT_TRANSFER_SUBMITTED, reasons=reasons))
        else:
            _transfer_reserve(transfer, lines)
            transfer.approve()
            transfer.approved_at = now
            transfer.save()
            _transfer_history(transfer, TransferStatus.REQUESTED, actor, "needs no approval: reserved", now).save()
            outbox_emit(_transfer_event(transfer, EVENT_TRANSFER_APPROVED))
    return transfer


def stock_transfer_apply_approval(decided: Any) -> StockTransfer:
    """The approval process approved the transfer: reserve at the source and approve it. A shortfall
    raises and undoes the approval with it."""
    with transaction.atomic():
        transfer = _transfer_lock(int(decided.subject_id))
        _transfer_check(transfer, transfer.approve, "approved")
        if transfer.status != TransferStatus.PENDING_APPROVAL:
            raise InvalidTransition(
                f"Stock transfer {transfer.number} is not waiting for approval", extra={"status": transfer.status}
            )
        _transfer_reserve(transfer, _transfer_lines(transfer))
        now = timezone.now()
        transfer.approve()
        transfer.approved_at = transfer.updated_at = now
        transfer.save()
        _transfer_history(
            transfer,
            TransferStatus.PENDING_APPROVAL,
            decided.actor,
            f"approved by {_decided_by(decided)} (approval #{decided.request_id}): reserved",
            now,
        ).save()
        outbox_emit(_transfer_event(transfer, EVENT_TRANSFER_APPROVED, approval_request_id=decided.request_id))
    return transfer


def stock_transfer_apply_rejection(decided: Any) -> StockTransfer:
    """The approval process rejected the transfer: it ends cancelled, nothing was reserved."""
    with transaction.atomic():
        transfer = _transfer_lock(int(decided.subject_id))
        _transfer_check(transfer, transfer.reject, "rejected")
        now = timezone.now()
        transfer.reject()
        transfer.updated_at = now
        transfer.save()
        _transfer_history(
            transfer,
            TransferStatus.PENDING_APPROVAL,
            decided.actor,
            f"rejected by {_decided_by(decided)}: {decided.comment}",
            now,
        ).save()
        outbox_emit(_transfer_event(transfer, EVENT_TRANSFER_REJECTED, approval_request_id=decided.request_id))
    return transfer


def stock_transfer_pick(*, transfer_id: int, actor: Actor) -> StockTransfer:
    """The source starts picking an approved transfer (status only; the reservation stands)."""
    with transaction.atomic():
        transfer = _transfer_lock(transfer_id)
        _transfer_check(transfer, transfer.pick, "picked")
        now = timezone.now()
        transfer.pick()
        transfer.updated_at = now
        transfer.save()
        _transfer_history(transfer, TransferStatus.APPROVED, actor, "picking", now).save()
        outbox_emit(_transfer_event(transfer, EVENT_TRANSFER_PICKED))
    return transfer


def _transfer_lines_payload(transfer: StockTransfer) -> list[dict]:
    """Dispatched and received quantities per product, for the journal's goods-in-transit entries."""
    return [
        {"product_id": ln.product_id, "sku": ln.product.sku, "dispatched": ln.dispatched, "received": ln.received}
        for ln in _transfer_lines(transfer)
    ]


def stock_transfer_dispatch(*, transfer_id: int, actor: Actor) -> StockTransfer:
    """Stock leaves the source: TRANSFER_OUT movements consume the reservation (on_hand and reserved fall
    together) and every line's quantity becomes `dispatched`, i.e. in transit to the destination."""
    with transaction.atomic():
        transfer = _transfer_lock(transfer_id)
        _transfer_check(transfer, transfer.dispatch, "dispatched")
        from_status = transfer.status
        stock_consume(
            demand_type=DEMAND_TRANSFER,
            demand_id=transfer.pk,
            kind=MovementKind.TRANSFER_OUT,
            reference=f"{transfer.number} to {transfer.destination.code}",
            actor=real_user(actor),
        )
        StockTransferLine.objects.filter(transfer=transfer).update(dispatched=F("quantity"))
        now = timezone.now()
        transfer.dispatch()
        transfer.dispatched_at = transfer.updated_at = now
        transfer.save()
        _transfer_history(transfer, from_status, actor, "dispatched", now).save()
        outbox_emit(_transfer_event(transfer, EVENT_TRANSFER_DISPATCHED, lines=_transfer_lines_payload(transfer)))
    return transfer


def stock_transfer_receive(*, transfer_id: int, actor: Actor, received: dict[int, int] | None = None) -> StockTransfer:
    """The destination takes the goods in: TRANSFER_IN movements (so backorders can allocate via
    `stock.movements.posted`) and the transit clears. `received` (product id → quantity, default: as
    dispatched) may be short; any difference becomes one `stock.transfer_discrepancy` incident."""
    with transaction.atomic():
        transfer = _transfer_lock(transfer_id)
        _transfer_check(transfer, transfer.receive, "received")
        lines = _transfer_lines(transfer)
        by_product = {ln.product_id: ln for ln in lines}
        quantities = {ln.product_id: ln.dispatched for ln in lines}
        for product_id, quantity in (received or {}).items():
            line = by_product.get(product_id)
            if line is None:
                raise TransferInputError(f"Product {product_id} is not on {transfer.number}", code="unknown_line")
            if quantity < 0 or quantity > line.dispatched:
                raise TransferInputError(
                    f"{line.product.sku}: received quantity must be between 0 and {line.dispatched} (dispatched)",
                    code="invalid_quantity",
                )
            quantities[product_id] = quantity
        changes = [(ln.product, quantities[ln.product_id]) for ln in lines if quantities[ln.product_id] > 0]
        if changes:
            stock_post_movements(
                location=transfer.destination,
                changes=changes,
                kind=MovementKind.TRANSFER_IN,
                reference=f"{transfer.number} from {transfer.source.code}",
                actor=real_user(actor),
            )
        for ln in lines:
            ln.received = quantities[ln.product_id]
        StockTransferLine.objects.bulk_update(lines, ["received"])
        now = timezone.now()
        transfer.receive()
        transfer.received_at = transfer.updated_at = now
        transfer.save()
        differences: list[dict[str, Any]] = [
            {
                "sku": ln.product.sku,
                "dispatched": ln.dispatched,
                "received": ln.received,
                "difference": ln.received - ln.dispatched,
            }
            for ln in lines
            if ln.received != ln.dispatched
        ]
        reason = "received" if not differences else f"received with {len(differences)} discrepancy line(s)"
        _transfer_history(transfer, TransferStatus.IN_TRANSIT, actor, reason, now).save()
        if differences:
            incident_raise(
                kind=INCIDENT_TRANSFER_DISCREPANCY,
                severity="medium",
                title=f"{transfer.number} {transfer.source.code} → {transfer.destination.code} received "
                f"{-sum(d['difference'] for d in differences)} unit(s) short",
                subject=transfer,
                details={"transfer": transfer.number, "lines": differences},
                dedupe_key=f"{INCIDENT_TRANSFER_DISCREPANCY}:{transfer.pk}",
                location=transfer.destination_id,
                owner_team="inventory",
            )
        outbox_emit(
            _transfer_event(
                transfer, EVENT_TRANSFER_RECEIVED, discrepancies=differences, lines=_transfer_lines_payload(transfer)
            )
        )
    return transfer


def stock_transfer_withdraw(*, transfer_id: int, actor: Actor, reason: str = "") -> StockTransfer:
    """Take a transfer waiting for approval back to `requested` (nothing was reserved yet); its approval
    request ends withdrawn (only the requester or a manager of approvals). It can then be submitted
    again or cancelled."""
    from apps.approvals.services import approval_request_withdraw

    with transaction.atomic():
        transfer = _transfer_lock(transfer_id)
        _transfer_check(transfer, transfer.withdraw, "withdrawn")
        approval_request_withdraw(subject_type=SUBJECT_TRANSFER, subject_id=transfer.pk, actor=actor, comment=reason)
        now = timezone.now()
        transfer.withdraw()
        transfer.approval_levels = 0
        transfer.updated_at = now
        transfer.save()
        _transfer_history(
            transfer, TransferStatus.PENDING_APPROVAL, actor, reason.strip() or "withdrawn from approval", now
        ).save()
        outbox_emit(_transfer_event(transfer, EVENT_TRANSFER_WITHDRAWN, reason=reason[:200]))
    return transfer


def stock_transfer_cancel(*, transfer_id: int, actor: Actor, reason: str = "") -> StockTransfer:
    """Cancel a transfer before dispatch: its reservations at the source are released."""
    with transaction.atomic():
        transfer = _transfer_lock(transfer_id)
        _transfer_check(transfer, transfer.cancel, "cancelled")
        from_status = transfer.status
        released = stock_release(demand_type=DEMAND_TRANSFER, demand_id=transfer.pk)
        now = timezone.now()
        transfer.cancel()
        transfer.updated_at = now
        transfer.save()
        _transfer_history(transfer, from_status, actor, reason.strip() or "cancelled", now).save()
        outbox_emit(_transfer_event(transfer, EVENT_TRANSFER_CANCELLED, released=released))
    return transfer


def stock_transfer_proposals_accept(*, transfer_ids: Sequence[int], actor: Actor) -> list[dict]:
    """Submit several proposed transfers, each in its own transaction: one refusal does not stop the rest."""
    results = []
    for transfer_id in dict.fromkeys(transfer_ids):
        try:
            proposal = StockTransfer.objects.filter(pk=transfer_id, proposed=True).first()
            if proposal is None:
                raise NotFound(f"Proposed transfer {transfer_id} does not exist")
            transfer = stock_transfer_submit(transfer_id=transfer_id, actor=actor)
            results.append({"id": transfer_id, "ok": True, "status": transfer.status})
        except DomainError as error:
            results.append({"id": transfer_id, "ok": False, "code": error.code, "detail": error.detail})
    return results


def stock_replenishment_propose(*, now: datetime | None = None) -> list[StockTransfer]:
    """Propose transfers for stores whose available + incoming stock is below a rule's minimum, ordered up to
    its maximum from the preferred warehouses that have stock: one proposal per store and source. Incoming
    counts every open transfer to the store, so a second run proposes nothing new."""
    with transaction.atomic():
        job_lock("stock.replenishment_propose")  # two runs would both see the same shortfall
        return _replenishment_propose()


def _replenishment_propose() -> list[StockTransfer]:
    from apps.stock.selectors import stock_incoming_quantities

    rules = list(
        ReplenishmentRule.objects.filter(active=True, location__active=True, location__kind=LocationKind.STORE)
        .select_related("location", "product")
        .order_by("location_id", "product_id")
    )
    if not rules:
        return []
    incoming = stock_incoming_quantities(location_ids=[r.location_id for r in rules])
    available = {
        (lv.location_id, lv.product_id): lv.available
        for lv in StockLevel.objects.filter(product_id__in={r.product_id for r in rules})
    }
    warehouses = list(Location.objects.filter(active=True, kind=LocationKind.WAREHOUSE).order_by("priority", "code"))
    open_proposals = set(
        StockTransfer.objects.filter(proposed=True, status=TransferStatus.REQUESTED).values_list(
            "source_id", "destination_id"
        )
    )
    plan: dict[tuple[int, int], list[TransferLineInput]] = defaultdict(list)
    for rule in rules:
        have = available.get((rule.location_id, rule.product_id), 0) + incoming.get(
            (rule.location_id, rule.product_id), 0
        )
        if have >= rule.min_qty:
            continue
        need = rule.max_qty - have
        for warehouse in warehouses:
            if need <= 0:
                break
            key = (warehouse.pk, rule.location_id)
            if key in open_proposals:
                continue
            spare = available.get((warehouse.pk, rule.product_id), 0)
            if spare <= 0:
                continue
            quantity = min(need, spare)
            available[(warehouse.pk, rule.product_id)] = spare - quantity
            plan[key].append(TransferLineInput(product=rule.product, quantity=quantity))
            need -= quantity
    by_pk = {w.pk: w for w in warehouses} | {r.location_id: r.location for r in rules}
    return [
        stock_transfer_create(
            source=by_pk[source_id],
            destination=by_pk[destination_id],
            lines=lines,
            requested_by=None,
            note="replenishment proposal",
            proposed=True,
        )
        for (source_id, destination_id), lines in sorted(plan.items())
    ]
