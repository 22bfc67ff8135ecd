"""Catalog API: products and locations."""

import pytest

from apps.catalog.models import Location, Product

pytestmark = pytest.mark.django_db


def test_a_product_is_created_and_listed(api):
    r = api.post("/api/v1/products/", {"sku": "TEE-1", "name": "Tee", "price": "19.90", "cost": "6.10"}, format="json")
    assert r.status_code == 201
    assert {k: r.json()[k] for k in ("sku", "name", "price", "cost", "active")} == {
        "sku": "TEE-1",
        "name": "Tee",
        "price": "19.90",
        "cost": "6.10",
        "active": True,
    }
    assert [p["sku"] for p in api.get("/api/v1/products/").json()["results"]] == ["TEE-1"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"name": "No sku", "price": "1.00", "cost": "1.00"}, "sku"),
        ({"sku": "X", "name": "Neg", "price": "-1.00", "cost": "1.00"}, "price"),
        ({"sku": "X", "name": "Bad", "price": "abc", "cost": "1.00"}, "price"),
    ],
    ids=["missing sku", "negative price", "price not a number"],
)
def test_bad_products_are_400_and_not_created(api, body, field):
    r = api.post("/api/v1/products/", body, format="json")
    assert r.status_code == 400
    assert field in r.json()["fields"]
    assert Product.objects.count() == 0


def test_a_duplicate_sku_is_400(api):
    body = {"sku": "DUP", "name": "One", "price": "1.00", "cost": "1.00"}
    assert api.post("/api/v1/products/", body, format="json").status_code == 201
    r = api.post("/api/v1/products/", body, format="json")
    assert r.status_code == 400
    assert "sku" in r.json()["fields"]
    assert Product.objects.count() == 1


def test_a_location_is_created_with_kind_and_priority(api):
    r = api.post(
        "/api/v1/locations/", {"code": "NYC1", "name": "Manhattan", "kind": "store", "priority": 40}, format="json"
    )
    assert r.status_code == 201
    loc = Location.objects.get()
    assert (loc.code, loc.kind, loc.priority, loc.active) == ("NYC1", "store", 40, True)


def test_an_unknown_location_kind_is_400(api):
    r = api.post("/api/v1/locations/", {"code": "X", "name": "X", "kind": "garage"}, format="json")
    assert r.status_code == 400
    assert Location.objects.count() == 0
