"""Staff UI for stock: levels by location and the movement ledger, read through apps.stock.selectors."""

import django_filters
from django.db.models import QuerySet
from viewflow.utils import viewprop
from viewflow.views import ListModelView

from apps.accounts.scoping import user_location_ids
from apps.catalog.selectors import location_list
from apps.stock import selectors
from apps.stock.models import MovementKind, StockLevel, StockMovement


def _location_choices() -> list[tuple[str, str]]:
    return [(loc.code, f"{loc.code} {loc.name}") for loc in location_list()]


def _keep_sort(qs: QuerySet, requested: QuerySet) -> QuerySet:
    """Apply a column sort chosen in the table header to the selector's rows."""
    return qs.order_by(*requested.query.order_by) if requested.query.order_by else qs


class StockLevelFilter(django_filters.FilterSet):
    location = django_filters.ChoiceFilter(choices=_location_choices)
    sku = django_filters.CharFilter(label="SKU")

    class Meta:
        model = StockLevel
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[StockLevel]) -> QuerySet[StockLevel]:
        data = self.form.cleaned_data
        qs = selectors.stock_level_list(
            sku=(data.get("sku") or "").strip() or None,
            location=data.get("location") or None,
            location_ids=user_location_ids(self.request.user),
        )
        return _keep_sort(qs, queryset)


class StockLevelListView(ListModelView):
    model = StockLevel
    filterset_class = StockLevelFilter
    columns = ("sku", "product_name", "location_code", "on_hand", "reserved", "available")
    object_link_columns: tuple[str, ...] = ()
    paginate_by = 50
    template_name = "stock/stocklevel_list.html"

    @viewprop
    def queryset(self) -> QuerySet[StockLevel]:
        return selectors.stock_level_list(location_ids=user_location_ids(self.request.user))

    def sku(self, level: StockLevel) -> str:
        return level.product.sku

    sku.short_description = "SKU"  # type: ignore[attr-defined]
    sku.orderby_column = "product__sku"  # type: ignore[attr-defined]

    def product_name(self, level: StockLevel) -> str:
        return level.product.name

    product_name.short_description = "Product"  # type: ignore[attr-defined]

    def location_code(self, level: StockLevel) -> str:
        return level.location.code

    location_code.short_description = "Location"  # type: ignore[attr-defined]
    location_code.orderby_column = "location__code"  # type: ignore[attr-defined]

    def available(self, level: StockLevel) -> int:
        return level.available_qty  # type: ignore[attr-defined]

    available.short_description = "Available"  # type: ignore[attr-defined]
    available.column_type = "numeric"  # type: ignore[attr-defined]
    available.orderby_column = "available_qty"  # type: ignore[attr-defined]


class StockMovementFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(label="SKU")
    location = django_filters.ChoiceFilter(choices=_location_choices)
    kind = django_filters.ChoiceFilter(choices=MovementKind.choices)

    class Meta:
        model = StockMovement
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[StockMovement]) -> QuerySet[StockMovement]:
        data = self.form.cleaned_data
        qs = selectors.stock_movement_list(
            sku=(data.get("sku") or "").strip() or None,
            location=data.get("location") or None,
            kind=data.get("kind") or None,
            location_ids=user_location_ids(self.request.user),
        )
        return _keep_sort(qs, queryset)


class StockMovementListView(ListModelView):
    model = StockMovement
    filterset_class = StockMovementFilter
    columns = ("created_at", "sku", "location_code", "kind", "quantity", "balance_after", "reference", "actor_name")
    object_link_columns: tuple[str, ...] = ()
    paginate_by = 50
    template_name = "stock/stockmovement_list.html"

    @viewprop
    def queryset(self) -> QuerySet[StockMovement]:
        return selectors.stock_movement_list(location_ids=user_location_ids(self.request.user))

    def sku(self, movement: StockMovement) -> str:
        return movement.product.sku

    sku.short_description = "SKU"  # type: ignore[attr-defined]

    def location_code(self, movement: StockMovement) -> str:
        return movement.location.code

    location_code.short_description = "Location"  # type: ignore[attr-defined]

    def actor_name(self, movement: StockMovement) -> str:
        return movement.actor.get_username() if movement.actor else "system"

    actor_name.short_description = "Actor"  # type: ignore[attr-defined]
