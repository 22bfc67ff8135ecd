"""Input the database cannot store (numbers too large for their columns, NUL characters) is the
client's error (400), never a 500, and nothing of the request is written."""

import pytest

from apps.catalog.models import Product
from apps.stock.models import StockAdjustment, StockLevel, StockMovement, StockReceipt

pytestmark = pytest.mark.django_db


def receipt(api, quantity, unit_cost="1.00", sku="SKU-A"):
    line = {"sku": sku, "quantity": quantity, "unit_cost": unit_cost}
    body = {"location": "WH1", "reference": "big", "lines": [line]}
    return api.post("/api/v1/stock/receipts/", body, format="json")


def test_stock_beyond_what_a_level_can_count_is_400_and_nothing_is_written(api, warehouse, product):
    # a level counts units in a 32-bit integer; 2,147 receipts of a million fit, the next does not
    StockLevel.objects.create(product=product, location=warehouse, on_hand=2_147_000_000)
    receipts, movements = StockReceipt.objects.count(), StockMovement.objects.count()

    r = receipt(api, 1_000_000)

    assert r.status_code == 400, r.content
    assert r.json()["error"] == "out_of_range"
    assert StockLevel.objects.get(product=product, location=warehouse).on_hand == 2_147_000_000
    assert (StockReceipt.objects.count(), StockMovement.objects.count()) == (receipts, movements)


def test_an_adjustment_worth_more_than_its_value_column_holds_is_400(api, warehouse, product):
    Product.objects.filter(pk=product.pk).update(cost="9999999999.99")
    assert receipt(api, 1_000_000).status_code == 201
    adjustments = StockAdjustment.objects.count()

    r = api.post(
        "/api/v1/stock/adjustments/",
        {"location": "WH1", "reason": "damage", "lines": [{"sku": "SKU-A", "quantity_delta": -1_000_000}]},
        format="json",
    )

    assert r.status_code == 400, r.content
    assert StockAdjustment.objects.count() == adjustments
    assert StockLevel.objects.get(product=product, location=warehouse).on_hand == 1_000_000


@pytest.mark.parametrize(
    "path", ["/api/v1/stock/movements/?sku=A%00B", "/api/v1/orders/?search=%00", "/orders/?q%00=1"]
)
def test_a_nul_character_in_the_query_string_is_400(api, client, user, path):
    client.force_login(user)
    r = (api if path.startswith("/api/") else client).get(path)
    assert r.status_code == 400
    if path.startswith("/api/"):
        assert r.json()["error"] == "invalid"
