"""Admin for stock: read-only. Levels, movements, reservations and receipts change only through
apps.stock.services, so that every change of on_hand has its movement in the ledger."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin, ReadOnlyInline
from apps.stock.models import (
    ReplenishmentRule,
    Reservation,
    StockLevel,
    StockMovement,
    StockReceipt,
    StockReceiptLine,
    StockTransfer,
    StockTransferLine,
)


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ("product", "location", "on_hand", "reserved", "available", "updated_at")
    list_select_related = ("product", "location")
    list_filter = ("location",)
    search_fields = ("=product__sku",)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "product",
        "location",
        "kind",
        "quantity",
        "balance_after",
        "reference",
        "actor",
    )
    list_select_related = ("product", "location", "actor")
    list_filter = ("kind", "location")
    search_fields = ("=product__sku", "reference")
    date_hierarchy = "created_at"


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ("id", "product", "location", "demand_type", "demand_id", "line_id", "quantity", "status")
    list_select_related = ("product", "location")
    list_filter = ("status", "demand_type", "location")
    search_fields = ("=demand_id", "=product__sku")


class StockReceiptLineInline(ReadOnlyInline):
    model = StockReceiptLine
    fields = ("product", "quantity", "unit_cost")


@admin.register(StockReceipt)
class StockReceiptAdmin(ReadOnlyAdmin):
    list_display = ("id", "reference", "location", "kind", "actor", "created_at")
    list_select_related = ("location", "actor")
    list_filter = ("kind", "location")
    search_fields = ("reference",)
    inlines = [StockReceiptLineInline]


@admin.register(ReplenishmentRule)
class ReplenishmentRuleAdmin(admin.ModelAdmin):
    """Min/max per store and product: plain data, edited here; the replenishment job reads it."""

    list_display = ("location", "product", "min_qty", "max_qty", "active")
    list_select_related = ("location", "product")
    list_filter = ("active", "location")
    list_editable = ("min_qty", "max_qty", "active")
    search_fields = ("=product__sku", "location__code")
    raw_id_fields = ("product",)


class StockTransferLineInline(ReadOnlyInline):
    model = StockTransferLine
    fields = ("product", "quantity", "unit_cost", "dispatched", "received")


@admin.register(StockTransfer)
class StockTransferAdmin(ReadOnlyAdmin):
    """Read-only: transfers change only through apps.stock.services (API and portal)."""

    list_display = ("id", "source", "destination", "status", "proposed", "value", "created_at")
    list_select_related = ("source", "destination")
    list_filter = ("status", "proposed", "source", "destination")
    inlines = [StockTransferLineInline]
