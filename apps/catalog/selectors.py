"""Catalog reads."""

from collections.abc import Iterable

from django.db.models import QuerySet

from apps.catalog.models import Location, Product


def product_list(*, sku: str | None = None, active: bool | None = None) -> QuerySet[Product]:
    qs = Product.objects.all()
    if sku:
        qs = qs.filter(sku=sku)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("sku")


def products_by_sku(skus: Iterable[str]) -> dict[str, Product]:
    return {p.sku: p for p in Product.objects.filter(sku__in=set(skus))}


def location_list(*, kind: str | None = None, active: bool | None = None) -> QuerySet[Location]:
    qs = Location.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("priority", "code")


def location_get_by_code(code: str) -> Location | None:
    return Location.objects.filter(code=code).first()
