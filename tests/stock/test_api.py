"""Stock API: receipts, levels and movements."""

import pytest

from apps.stock.models import StockMovement, StockReceipt

pytestmark = pytest.mark.django_db


def test_a_receipt_is_201_and_shows_in_levels_and_movements(api, warehouse, product):
    r = api.post(
        "/api/v1/stock/receipts/",
        {"location": "WH1", "reference": "PO-less 1", "lines": [{"sku": "SKU-A", "quantity": 7, "unit_cost": "4.00"}]},
        format="json",
    )
    assert r.status_code == 201
    assert r.json()["lines"] == [{"sku": "SKU-A", "quantity": 7, "unit_cost": "4.0000"}]
    levels = api.get("/api/v1/stock/levels/", {"sku": "SKU-A", "location": "WH1"}).json()["results"]
    assert [{k: lv[k] for k in ("sku", "location", "on_hand", "reserved", "available")} for lv in levels] == [
        {"sku": "SKU-A", "location": "WH1", "on_hand": 7, "reserved": 0, "available": 7}
    ]
    moves = api.get("/api/v1/stock/movements/", {"sku": "SKU-A"}).json()["results"]
    assert [(m["kind"], m["quantity"], m["balance_after"], m["actor"]) for m in moves] == [("receipt", 7, 7, "ops")]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"location": "NOWHERE", "lines": [{"sku": "SKU-A", "quantity": 1, "unit_cost": "1"}]}, "location"),
        ({"location": "WH1", "lines": [{"sku": "NOPE", "quantity": 1, "unit_cost": "1"}]}, "lines"),
        ({"location": "WH1", "lines": [{"sku": "SKU-A", "quantity": 0, "unit_cost": "1"}]}, "lines"),
        ({"location": "WH1", "lines": []}, "lines"),
        ({"location": "WH1", "lines": [{"sku": "SKU-A", "quantity": 1, "unit_cost": "-1"}]}, "lines"),
    ],
    ids=["unknown location", "unknown sku", "zero quantity", "no lines", "negative cost"],
)
def test_bad_receipts_are_400_and_write_nothing(api, warehouse, product, body, field):
    r = api.post("/api/v1/stock/receipts/", body, format="json")
    assert r.status_code == 400
    assert field in r.json()["fields"]
    assert (StockReceipt.objects.count(), StockMovement.objects.count()) == (0, 0)


def test_levels_list_query_count_is_constant(api, warehouse, receive, make_products, django_assert_max_num_queries):
    for p in make_products(25):
        receive(warehouse, p, 3)
    with django_assert_max_num_queries(3):  # token, count, page
        r = api.get("/api/v1/stock/levels/", {"page_size": 100})
    assert len(r.json()["results"]) == 25
