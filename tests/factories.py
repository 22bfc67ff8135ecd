"""factory_boy factories shared by the test packages."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from apps.catalog.models import Location, LocationKind, Product


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-test-123")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    price = Decimal("10.00")
    cost = Decimal("4.00")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"LOC{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Location {o.code}")
    kind = LocationKind.WAREHOUSE
    priority = 10


class StoreFactory(LocationFactory):
    code = factory.Sequence(lambda n: f"ST{n:03d}")
    kind = LocationKind.STORE
    priority = 50
