"""Order API: intake, replays, errors as JSON, transitions, history, filters and query budgets."""

import json

import pytest
from rest_framework.test import APIClient

from apps.core.models import OutboxEvent
from apps.orders.models import Order, OrderHistory, OrderLine
from apps.stock.models import Reservation, StockLevel
from tests.factories import ProductFactory
from tests.orders.helpers import payload

pytestmark = pytest.mark.django_db


def nothing_written():
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        Reservation.objects.count(),
        OrderHistory.objects.count(),
        OutboxEvent.objects.filter(aggregate_type="orders.order").count(),
    )


def test_requests_without_a_token_are_401_json():
    r = APIClient().get("/api/v1/orders/")
    assert r.status_code == 401
    assert r["Content-Type"].startswith("application/json")
    assert r.json()["error"] == "not_authenticated"


def test_an_order_is_created_with_its_allocations(api, warehouse, product, receive):
    receive(warehouse, product, 5)
    r = api.post("/api/v1/orders/", payload([("SKU-A", 2)]), format="json")
    assert r.status_code == 201
    body = r.json()
    assert {k: body[k] for k in ("channel", "external_id", "status", "currency", "total")} == {
        "channel": "web",
        "external_id": "EXT-1",
        "status": "allocated",
        "currency": "USD",
        "total": "20.00",
    }
    assert body["number"] == f"RO-{body['id']:08d}"
    assert body["lines"] == [
        {"sku": "SKU-A", "quantity": 2, "unit_price": "10.00", "allocations": [{"location": "WH1", "quantity": 2}]}
    ]
    assert api.get(f"/api/v1/orders/{body['id']}/").json()["lines"] == body["lines"]


def test_a_replay_is_200_with_the_same_order(api, warehouse, product, receive):
    receive(warehouse, product, 5)
    first = api.post("/api/v1/orders/", payload([("SKU-A", 2)]), format="json")
    again = api.post("/api/v1/orders/", payload([("SKU-A", 2)]), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() | {"updated_at": again.json()["updated_at"]}
    assert StockLevel.objects.get().reserved == 2


def test_a_different_order_under_a_used_external_id_is_409_and_writes_nothing(api, warehouse, product, receive):
    receive(warehouse, product, 5)
    api.post("/api/v1/orders/", payload([("SKU-A", 2)]), format="json")
    before = nothing_written()
    r = api.post("/api/v1/orders/", payload([("SKU-A", 4)]), format="json")
    assert r.status_code == 409
    assert r.json()["error"] == "idempotency_conflict"
    assert nothing_written() == before


def _mutate(fn):
    body = payload([("SKU-A", 1)])
    fn(body)
    return body


BAD = {
    "unknown sku": (_mutate(lambda p: p["lines"][0].update(sku="NOPE")), "lines"),
    "zero quantity": (_mutate(lambda p: p["lines"][0].update(quantity=0)), "lines"),
    "negative quantity": (_mutate(lambda p: p["lines"][0].update(quantity=-1)), "lines"),
    "fractional quantity": (_mutate(lambda p: p["lines"][0].update(quantity=1.5)), "lines"),
    "quantity as text": (_mutate(lambda p: p["lines"][0].update(quantity="2")), "lines"),
    "boolean quantity": (_mutate(lambda p: p["lines"][0].update(quantity=True)), "lines"),
    "price not a number": (_mutate(lambda p: p["lines"][0].update(unit_price="abc")), "lines"),
    "negative price": (_mutate(lambda p: p["lines"][0].update(unit_price="-1.00")), "lines"),
    "no lines": (_mutate(lambda p: p.update(lines=[])), "lines"),
    "lines not a list": (_mutate(lambda p: p.update(lines="x")), "lines"),
    "no channel": (_mutate(lambda p: p.pop("channel")), "channel"),
    "unknown channel": (_mutate(lambda p: p.update(channel="fax")), "channel"),
    "external id too long": (_mutate(lambda p: p.update(external_id="x" * 101)), "external_id"),
    "bad currency": (_mutate(lambda p: p.update(currency="dollars")), "currency"),
    "bad email": (_mutate(lambda p: p["customer"].update(email="not-an-email")), "customer"),
    "ship without address": (_mutate(lambda p: p.update(fulfillment={"method": "ship"})), "fulfillment"),
    "pickup without store": (_mutate(lambda p: p.update(fulfillment={"method": "pickup"})), "fulfillment"),
    "pickup at unknown store": (
        _mutate(lambda p: p.update(fulfillment={"method": "pickup", "location": "NOWHERE"})),
        "fulfillment",
    ),
    "pickup at a warehouse": (
        _mutate(lambda p: p.update(fulfillment={"method": "pickup", "location": "WH1"})),
        "fulfillment",
    ),
    "body is a list": ([1, 2], "non_field_errors"),
    # every line is valid, but their sum does not fit the order total (14 digits, 2 decimals)
    "total too large": (
        _mutate(lambda p: p.update(lines=[{"sku": "SKU-A", "quantity": 100_000, "unit_price": "9999999999.99"}])),
        "lines",
    ),
    "payment amount too large": (
        _mutate(lambda p: p.update(payment={"method": "card", "amount": "1000000000000.00"})),
        "payment",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_is_a_json_400_naming_the_field_and_writes_nothing(api, warehouse, product, receive, case):
    receive(warehouse, product, 5)
    body, field = BAD[case]
    before = nothing_written()
    r = api.post("/api/v1/orders/", body, format="json")
    assert r.status_code == 400, r.content
    assert r["Content-Type"].startswith("application/json")
    assert r.json()["error"] == "invalid"
    assert field in r.json()["fields"]
    assert nothing_written() == before
    assert StockLevel.objects.get().reserved == 0


def test_malformed_json_is_a_json_400(api):
    r = api.post("/api/v1/orders/", "{not json", content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"] == "malformed"


def test_an_oversized_body_is_413_and_writes_nothing(api, settings, warehouse, product, receive):
    receive(warehouse, product, 5)
    body = payload([("SKU-A", 1)])
    body["customer"]["name"] = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    r = api.post("/api/v1/orders/", json.dumps(body), content_type="application/json")
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"
    assert nothing_written() == (0, 0, 0, 0, 0)


def test_a_non_json_content_type_is_415_json(api):
    r = api.post("/api/v1/orders/", "a=b", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    assert r["Content-Type"].startswith("application/json")


def test_transitions_walk_an_order_to_shipped_and_history_lists_them(api, warehouse, product, receive, user):
    receive(warehouse, product, 5)
    order = api.post("/api/v1/orders/", payload([("SKU-A", 2)]), format="json").json()
    assert api.post(f"/api/v1/orders/{order['id']}/pick/").json()["status"] == "picking"
    r = api.post(f"/api/v1/orders/{order['id']}/ship/", {"carrier": "UPS", "tracking": "1Z"}, format="json")
    assert r.status_code == 200
    assert r.json()["fulfillment"]["tracking"] == "1Z"
    assert StockLevel.objects.values_list("on_hand", "reserved").get() == (3, 0)
    history = api.get(f"/api/v1/orders/{order['id']}/history/").json()
    assert [(h["from_status"], h["to_status"], h["actor"]) for h in history] == [
        ("", "received", "ops"),
        ("received", "allocated", "ops"),
        ("allocated", "picking", "ops"),
        ("picking", "shipped", "ops"),
    ]


def test_a_transition_not_allowed_is_409_json(api, warehouse, product, receive):
    receive(warehouse, product, 5)
    order = api.post("/api/v1/orders/", payload([("SKU-A", 1)]), format="json").json()
    api.post(f"/api/v1/orders/{order['id']}/cancel/", {"reason": "dup"}, format="json")
    r = api.post(f"/api/v1/orders/{order['id']}/ship/", {}, format="json")
    assert r.status_code == 409
    assert r.json()["error"] == "invalid_transition"
    assert r.json()["status"] == "cancelled"


@pytest.mark.parametrize("path", ["/api/v1/orders/999999/", "/api/v1/orders/999999/history/"])
def test_unknown_orders_are_404_json(api, path):
    r = api.get(path)
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_a_transition_on_an_unknown_order_is_404(api):
    assert api.post("/api/v1/orders/999999/cancel/", {}, format="json").status_code == 404


def _make_orders(api, n, product_sku="SKU-A"):
    for i in range(n):
        assert (
            api.post("/api/v1/orders/", payload([(product_sku, 1)], external_id=f"E{i}"), format="json").status_code
            == 201
        )


def test_the_order_list_filters_and_paginates(api, warehouse, product, receive):
    receive(warehouse, product, 3)
    _make_orders(api, 5)  # 3 allocated, 2 backordered
    r = api.get("/api/v1/orders/", {"status": "backordered"})
    assert [o["status"] for o in r.json()["results"]] == ["backordered", "backordered"]
    page = api.get("/api/v1/orders/", {"page_size": 2}).json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (5, 2, True)
    assert api.get("/api/v1/orders/", {"status": "allocated,backordered"}).json()["count"] == 5
    assert api.get("/api/v1/orders/", {"channel": "store"}).json()["count"] == 0
    assert api.get("/api/v1/orders/", {"location": "WH1"}).json()["count"] == 3


def test_an_unknown_status_filter_is_400(api):
    r = api.get("/api/v1/orders/", {"status": "lost"})
    assert r.status_code == 400
    assert "status" in r.json()["fields"]


@pytest.mark.parametrize("n", [3, 30])
def test_the_order_list_query_count_does_not_grow_with_page_size(
    api, warehouse, receive, django_assert_max_num_queries, n
):
    products = [ProductFactory() for _ in range(3)]
    for p in products:
        receive(warehouse, p, 100)
    for i in range(n):
        body = payload([(p.sku, 1) for p in products], external_id=f"Q{i}")
        assert api.post("/api/v1/orders/", body, format="json").status_code == 201
    with django_assert_max_num_queries(5):  # token auth, count, orders, lines, allocations
        r = api.get("/api/v1/orders/", {"page_size": 50})
    assert len(r.json()["results"]) == n


def test_schema_is_public_and_lists_the_order_endpoints():
    r = APIClient().get("/api/schema/", {"format": "json"})
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in (
        "/api/v1/orders/",
        "/api/v1/orders/{order_id}/ship/",
        "/api/v1/stock/levels/",
        "/api/v1/stock/receipts/",
        "/api/v1/products/",
        "/api/v1/locations/",
    ):
        assert p in paths
    assert "409" in paths["/api/v1/orders/{order_id}/ship/"]["post"]["responses"]
    assert "400" in paths["/api/v1/orders/"]["post"]["responses"]
