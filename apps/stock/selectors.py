"""Stock reads: levels with availability, movement history, adjustments and cycle counts."""

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import F, QuerySet
from django.urls import NoReverseMatch, reverse

from apps.approvals.registry import SubjectDescription
from apps.core.errors import NotFound
from apps.stock.models import (
    CycleCount,
    CycleCountLine,
    Reservation,
    ReservationStatus,
    StockAdjustment,
    StockAdjustmentHistory,
    StockAdjustmentLine,
    StockLevel,
    StockMovement,
)


def stock_level_list(
    *, sku: str | None = None, location: str | None = None, location_ids: list[int] | None = None
) -> QuerySet[StockLevel]:
    qs = StockLevel.objects.select_related("product", "location").annotate(available_qty=F("on_hand") - F("reserved"))
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
