"""Stock reads: levels with availability, movement history, adjustments and cycle counts."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from django.db.models import Case, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.urls import NoReverseMatch, reverse

from apps.approvals.registry import SubjectDescription
from apps.core.errors import NotFound
from apps.stock.models import (
    TRANSFER_OPEN,
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
    StockTransfer,
    StockTransferHistory,
    StockTransferLine,
    TransferStatus,
)


def stock_level_list(
    *, sku: str | None = None, location: str | None = None, location_ids: list[int] | None = None
) -> QuerySet[StockLevel]:
    qs = StockLevel.objects.select_related("product", "location").annotate(
        available_qty=F("on_hand") - F("reserved"), in_transit_qty=stock_in_transit_subquery()
    )
    if sku:
        qs = qs.filter(product__sku=sku)
    if location:
        qs = qs.filter(location__code=location)
    if location_ids is not None:
        qs = qs.filter(location_id__in=location_ids)
    return qs.order_by("product__sku", "location__priority", "location__code")


def stock_movement_list(
    *,
    sku: str | None = None,
    location: str | None = None,
    kind: str | None = None,
    location_ids: list[int] | None = None,
) -> QuerySet[StockMovement]:
    qs = StockMovement.objects.select_related("product", "location", "actor")
    if sku:
        qs = qs.filter(product__sku=sku)
    if location:
        qs = qs.filter(location__code=location)
    if kind:
        qs = qs.filter(kind=kind)
    if location_ids is not None:
        qs = qs.filter(location_id__in=location_ids)
    return qs.order_by("-created_at", "-id")


def reservations_for_demands(*, demand_type: str, demand_ids: list[int]) -> list[Reservation]:
    """Reservations that still stand or were fulfilled (released ones are history)."""
    return list(
        Reservation.objects.filter(demand_type=demand_type, demand_id__in=demand_ids)
        .exclude(status=ReservationStatus.RELEASED)
        .select_related("location")
        .order_by("id")
    )


# --- inventory control: adjustments and cycle counts ---------------------------------------------
def stock_adjustment_list(
    *,
    location_ids: list[int] | None = None,
    location: str | None = None,
    status: str | None = None,
    reason: str | None = None,
) -> QuerySet[StockAdjustment]:
    qs = StockAdjustment.objects.select_related("location", "requested_by", "count")
    if location_ids is not None:
        qs = qs.filter(location_id__in=location_ids)
    if location:
        qs = qs.filter(location__code=location)
    if status:
        qs = qs.filter(status=status)
    if reason:
        qs = qs.filter(reason=reason)
    return qs.order_by("-created_at", "-id")


def stock_adjustment_get(*, adjustment_id: int, location_ids: list[int] | None = None) -> StockAdjustment:
    """The adjustment, if it exists and (when `location_ids` is given) is at one of those locations."""
    qs = StockAdjustment.objects.select_related("location", "requested_by", "count").filter(pk=adjustment_id)
    if location_ids is not None:
        qs = qs.filter(location_id__in=location_ids)
    adjustment = qs.first()
    if adjustment is None:
        raise NotFound(f"Stock adjustment {adjustment_id} does not exist")
    return adjustment


def stock_adjustments_with_lines(adjustments: Sequence[StockAdjustment]) -> Sequence[StockAdjustment]:
    """Attach lines (with products) to each adjustment: one query in all."""
    by_adjustment: dict[int, list[StockAdjustmentLine]] = defaultdict(list)
    if adjustments:
        for line in (
            StockAdjustmentLine.objects.filter(adjustment_id__in=[a.pk for a in adjustments])
            .select_related("product")
            .order_by("adjustment_id", "id")
        ):
            by_adjustment[line.adjustment_id].append(line)
    for adjustment in adjustments:
        adjustment._prefetched_lines = by_adjustment[adjustment.pk]  # type: ignore[attr-defined]
    return adjustments


def stock_adjustment_history(*, adjustment_id: int) -> QuerySet[StockAdjustmentHistory]:
    qs = StockAdjustmentHistory.objects.filter(adjustment_id=adjustment_id).select_related("actor")
    return qs.order_by("at", "id")


def stock_count_list(*, location_ids: list[int] | None = None, location: str | None = None) -> QuerySet[CycleCount]:
    qs = CycleCount.objects.select_related("location", "counted_by", "adjustment")
    if location_ids is not None:
        qs = qs.filter(location_id__in=location_ids)
    if location:
        qs = qs.filter(location__code=location)
    return qs.order_by("-created_at", "-id")


def stock_count_get(*, count_id: int, location_ids: list[int] | None = None) -> CycleCount:
    qs = CycleCount.objects.select_related("location", "counted_by", "adjustment").filter(pk=count_id)
    if location_ids is not None:
        qs = qs.filter(location_id__in=location_ids)
    count = qs.first()
    if count is None:
        raise NotFound(f"Cycle count {count_id} does not exist")
    return count


def stock_count_lines(*, count_id: int) -> list[CycleCountLine]:
    return list(CycleCountLine.objects.filter(count_id=count_id).select_related("product").order_by("id"))


def stock_adjustment_describe(subject_id: str) -> SubjectDescription | None:
    """How an adjustment looks to an approver: facts, and per line the stock at the location right now."""
    qs = StockAdjustment.objects.select_related("location", "requested_by", "count")
    adjustment = qs.filter(pk=subject_id).first()
    if adjustment is None:
        return None
    lines = list(adjustment.lines.select_related("product").order_by("id"))
    levels = {
        lv.product_id: lv
        for lv in StockLevel.objects.filter(
            location_id=adjustment.location_id, product_id__in=[ln.product_id for ln in lines]
        )
    }
    try:
        url = reverse("stock:adjustments:detail", args=[adjustment.pk])
    except NoReverseMatch:
        url = ""
    facts = [
        ("Adjustment", adjustment.number),
        ("Location", f"{adjustment.location.code} {adjustment.location.name}"),
        ("Reason", adjustment.get_reason_display()),
        ("Status", adjustment.get_status_display()),
        ("Value", f"{adjustment.value} {adjustment.currency}"),
        ("Note", adjustment.note or "—"),
    ]
    if adjustment.count_id:
        facts.append(("From count", adjustment.count.number))
    rows = []
    for ln in lines:
        level = levels.get(ln.product_id)
        rows.append(
            [
                ln.product.sku,
                ln.product.name,
                f"{ln.quantity_delta:+d}",
                str(level.on_hand if level else 0),
                str(level.reserved if level else 0),
                str(ln.unit_cost),
                str(ln.value),
            ]
        )
    return SubjectDescription(
        title=f"Stock adjustment {adjustment.number} at {adjustment.location.code}",
        url=url,
        facts=facts,
        columns=["SKU", "Product", "Δ qty", "On hand now", "Reserved now", "Unit cost", "Value"],
        rows=rows,
    )


# --- transfers between locations and store replenishment -----------------------------------------
def stock_in_transit_subquery() -> Coalesce:
    """Per stock level row: units dispatched to its location and not yet received (one correlated subquery)."""
    in_transit = (
        StockTransferLine.objects.filter(
            transfer__destination_id=OuterRef("location_id"),
            product_id=OuterRef("product_id"),
            transfer__status=TransferStatus.IN_TRANSIT,
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum(F("dispatched") - F("received")))
        .values("total")
    )
    return Coalesce(Subquery(in_transit, output_field=IntegerField()), Value(0))


def stock_in_transit_quantities(*, location_ids: Sequence[int] | None = None) -> dict[tuple[int, int], int]:
    """(destination id, product id) → units in transit to it."""
    qs = StockTransferLine.objects.filter(transfer__status=TransferStatus.IN_TRANSIT)
    if location_ids is not None:
        qs = qs.filter(transfer__destination_id__in=list(location_ids))
    rows = (
        qs.order_by()
        .values("transfer__destination_id", "product_id")
        .annotate(total=Sum(F("dispatched") - F("received")))
    )
    return {(r["transfer__destination_id"], r["product_id"]): int(r["total"] or 0) for r in rows}


def stock_incoming_quantities(*, location_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """(destination id, product id) → units on their way: in transit, or on an open transfer not yet dispatched."""
    rows = (
        StockTransferLine.objects.filter(
            transfer__status__in=TRANSFER_OPEN, transfer__destination_id__in=list(location_ids)
        )
        .order_by()
        .values("transfer__destination_id", "product_id")
        .annotate(
            total=Sum(
                Case(
                    When(transfer__status=TransferStatus.IN_TRANSIT, then=F("dispatched") - F("received")),
                    default=F("quantity"),
                    output_field=IntegerField(),
                )
            )
        )
    )
    return {(r["transfer__destination_id"], r["product_id"]): int(r["total"] or 0) for r in rows}


def stock_transfer_list(
    *,
    location_ids: list[int] | None = None,
    status: str | None = None,
    proposed: bool | None = None,
    location: str | None = None,
) -> QuerySet[StockTransfer]:
    """Transfers touching the given locations (as source or destination)."""
    qs = StockTransfer.objects.select_related("source", "destination", "requested_by")
    if location_ids is not None:
        qs = qs.filter(Q(source_id__in=location_ids) | Q(destination_id__in=location_ids))
    if location:
        qs = qs.filter(Q(source__code=location) | Q(destination__code=location))
    if status:
        qs = qs.filter(status=status)
    if proposed is not None:
        qs = qs.filter(proposed=proposed)
    return qs.order_by("-created_at", "-id")


def stock_transfer_get(*, transfer_id: int, location_ids: list[int] | None = None) -> StockTransfer:
    """The transfer, if it exists and (when `location_ids` is given) touches one of those locations."""
    transfer = stock_transfer_list(location_ids=location_ids).filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound(f"Stock transfer {transfer_id} does not exist")
    return transfer


def stock_transfers_with_lines(transfers: Sequence[StockTransfer]) -> Sequence[StockTransfer]:
    """Attach lines (with products) to each transfer: one query in all."""
    by_transfer: dict[int, list[StockTransferLine]] = defaultdict(list)
    if transfers:
        for line in (
            StockTransferLine.objects.filter(transfer_id__in=[t.pk for t in transfers])
            .select_related("product")
            .order_by("transfer_id", "id")
        ):
            by_transfer[line.transfer_id].append(line)
    for transfer in transfers:
        transfer._prefetched_lines = by_transfer[transfer.pk]  # type: ignore[attr-defined]
    return transfers


def stock_transfer_history(*, transfer_id: int) -> QuerySet[StockTransferHistory]:
    return StockTransferHistory.objects.filter(transfer_id=transfer_id).select_related("actor").order_by("at", "id")


def replenishment_rule_list(*, location_ids: list[int] | None = None) -> QuerySet[ReplenishmentRule]:
    qs = ReplenishmentRule.objects.select_related("location", "product")
    if location_ids is not None:
        qs = qs.filter(location_id__in=location_ids)
    return qs.order_by("location__code", "product__sku")


def stock_transfer_describe(subject_id: str) -> SubjectDescription | None:
    """How a transfer looks to an approver: facts, and per line what the source has available now."""
    transfer = (
        StockTransfer.objects.select_related("source", "destination", "requested_by").filter(pk=subject_id).first()
    )
    if transfer is None:
        return None
    lines = list(transfer.lines.select_related("product").order_by("id"))
    levels = {
        lv.product_id: lv
        for lv in StockLevel.objects.filter(
            location_id=transfer.source_id, product_id__in=[ln.product_id for ln in lines]
        )
    }
    try:
        url = reverse("stock:transfers:detail", args=[transfer.pk])
    except NoReverseMatch:
        url = ""
    rows = []
    for ln in lines:
        level = levels.get(ln.product_id)
        rows.append(
            [ln.product.sku, ln.product.name, str(ln.quantity), str(level.available if level else 0), str(ln.unit_cost)]
        )
    return SubjectDescription(
        title=f"Stock transfer {transfer.number} {transfer.source.code} → {transfer.destination.code}",
        url=url,
        facts=[
            ("Transfer", transfer.number),
            ("From", f"{transfer.source.code} {transfer.source.name}"),
            ("To", f"{transfer.destination.code} {transfer.destination.name}"),
            ("Status", transfer.get_status_display()),
            ("Value", f"{transfer.value} {transfer.currency}"),
            ("Proposed by replenishment", "yes" if transfer.proposed else "no"),
            ("Note", transfer.note or "—"),
        ],
        columns=["SKU", "Product", "Quantity", "Available at source now", "Unit cost"],
        rows=rows,
    )


def stock_available_by(*, location_ids: Sequence[int], product_ids: Sequence[int]) -> dict[tuple[int, int], int]:
    """(location id, product id) → on_hand − reserved, for the levels that exist."""
    rows = StockLevel.objects.filter(location_id__in=location_ids, product_id__in=product_ids).values_list(
        "location_id", "product_id", "on_hand", "reserved"
    )
    return {(loc, prod): on_hand - reserved for loc, prod, on_hand, reserved in rows}


# What leaves a location to meet demand: customer shipments and pickups, and transfers out to stores.
DEMAND_KINDS = (MovementKind.SHIPMENT, MovementKind.PICKUP, MovementKind.TRANSFER_OUT)


def stock_daily_outflow(*, location_id: int, product_id: int, start: date, end: date) -> list[float]:
    """Units that left the location for demand on each day of [start, end) — zero days included."""
    from django.db.models.functions import TruncDate

    rows = (
        StockMovement.objects.filter(
            location_id=location_id,
            product_id=product_id,
            kind__in=DEMAND_KINDS,
            created_at__date__gte=start,
            created_at__date__lt=end,
        )
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(out=Sum("quantity"))
    )
    by_day = {r["day"]: -r["out"] for r in rows}
    return [float(by_day.get(start + timedelta(days=n), 0)) for n in range((end - start).days)]


def stock_on_hand_by_location() -> list[tuple[str, int, int]]:
    """(location code, product id, on hand) of every level holding stock: the journal's inventory check
    values these at its moving average cost."""
    return list(
        StockLevel.objects.filter(on_hand__gt=0)
        .order_by("location__code", "product_id")
        .values_list("location__code", "product_id", "on_hand")
    )
