"""Admin for orders. The status moves only through apps.orders.services (history, stock and events
in one transaction), so here it is read-only, as are lines and history; orders arrive by intake."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin, ReadOnlyInline, SuperuserAdmin
from apps.orders.models import Order, OrderHistory, OrderLine


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("line_no", "product", "quantity", "unit_price")


class OrderHistoryInline(ReadOnlyInline):
    model = OrderHistory
    fields = ("at", "from_status", "to_status", "actor", "reason")
    ordering = ("at", "id")


@admin.register(Order)
class OrderAdmin(SuperuserAdmin):
    list_display = ("number", "channel", "external_id", "status", "customer_email", "total", "currency", "created_at")
    list_filter = ("status", "channel", "fulfillment_method")
    search_fields = ("=external_id", "customer_email", "=payment_reference")
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, OrderHistoryInline]
    # Contact details may be corrected; what was ordered, paid and where it stands may not.
    readonly_fields = (
        "number",
        "status",
        "channel",
        "external_id",
        "request_hash",
        "fulfillment_method",
        "pickup_location",
        "currency",
        "total",
        "payment_method",
        "payment_reference",
        "payment_amount",
        "carrier",
        "tracking_number",
        "created_at",
        "updated_at",
    )
    fields = ("number", "status", "customer_name", "customer_email", "shipping_address", *readonly_fields[2:])

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OrderHistory)
class OrderHistoryAdmin(ReadOnlyAdmin):
    list_display = ("order", "at", "from_status", "to_status", "actor", "reason")
    list_select_related = ("order", "actor")
    list_filter = ("to_status",)
    search_fields = ("=order__id", "reason")
    date_hierarchy = "at"
