"""Catalog writes."""

from decimal import Decimal

from apps.catalog.models import Location, Product


def product_create(*, sku: str, name: str, price: Decimal, cost: Decimal, active: bool = True) -> Product:
    return Product.objects.create(sku=sku, name=name, price=price, cost=cost, active=active)


def location_create(*, code: str, name: str, kind: str, priority: int = 100, active: bool = True) -> Location:
    return Location.objects.create(code=code, name=name, kind=kind, priority=priority, active=active)
