"""Admin for the catalogue: products and locations are master data a superuser may edit."""

from django.contrib import admin

from apps.catalog.models import Location, Product
from apps.core.admin import SuperuserAdmin


class NoDeleteAdmin(SuperuserAdmin):
    """Orders and the stock ledger point at these rows: deactivate instead of deleting."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(NoDeleteAdmin):
    list_display = ("sku", "name", "price", "cost", "active")
    list_filter = ("active",)
    search_fields = ("sku", "name")

    def get_readonly_fields(self, request, obj=None):
        # The SKU is the key other systems send us; it does not change once a product exists.
        return ("sku",) if obj is not None else ()


@admin.register(Location)
class LocationAdmin(NoDeleteAdmin):
    list_display = ("code", "name", "kind", "priority", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()
