"""Stock reads: levels with availability, movement history."""

from django.db.models import F, QuerySet

from apps.stock.models import Reservation, ReservationStatus, StockLevel, StockMovement


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
