"""Return API: the whole flow, error statuses that leave nothing written, permissions and store scoping."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.approvals.helpers import client_for, person
from tests.factories import StoreFactory
from tests.returns.helpers import counts, shipped_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(warehouse, product, receive):
    receive(warehouse, product, 10)
    return shipped_order([(product, 3)])


def body(order, *lines, channel="web", reason="damaged", **extra):
    return {
        "order_id": order.pk,
        "channel": channel,
        "reason": reason,
        "lines": [{"sku": s, "quantity": q} for s, q in lines],
        **extra,
    }


def test_the_whole_flow_through_the_api(api, order, store):
    r = api.post("/api/v1/returns/", body(order, ("SKU-A", 2), channel="store"), format="json")
    assert r.status_code == 201, r.json()
    ret = r.json()
    assert (ret["status"], ret["band"], ret["score"], ret["scorecard_version"]) == (
        "authorized",
        "auto_authorize",
        0,
        "v1",
    )
    assert ret["number"] == f"RMA-{ret['id']:08d}"
    assert [h["to_status"] for h in ret["history"]] == ["requested", "authorized"]
    assert ret["reasons"][0].keys() == {"feature", "value", "points", "why"}
    url = f"/api/v1/returns/{ret['id']}/"
    assert api.post(url + "receive/", {"location": "ST1"}, format="json").json()["location"] == "ST1"
    r = api.post(
        url + "inspect/", {"lines": [{"sku": "SKU-A", "quantity": 2, "disposition": "restock"}]}, format="json"
    )
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "refund_pending"
    assert r.json()["refund"]["amount"] == "20.00"
    assert r.json()["lines"][0]["inspections"] == [{"quantity": 2, "disposition": "restock", "note": ""}]
    r = api.post(url + "confirm-refund/", {"payment_reference": "re_9"}, format="json")
    assert (r.json()["status"], r.json()["refund"]["payment_reference"]) == ("refunded", "re_9")
    assert api.post(url + "close/", {}, format="json").json()["status"] == "closed"
    assert api.get(url).json()["status"] == "closed"
    listed = api.get("/api/v1/returns/?status=closed").json()
    assert [x["id"] for x in listed["results"]] == [ret["id"]]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"channel": "fax"}, "channel"),
        ({"reason": "bored"}, "reason"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "SKU-A", "quantity": "2"}]}, "lines"),
        ({"lines": [{"sku": "SKU-A", "quantity": 0}]}, "lines"),
        ({"order_id": "x"}, "order_id"),
        ({"order_id": 10**20}, "order_id"),
        ({"location": "NOPE"}, "location"),
        ({"location": "ST\u00001"}, "location"),
        ({"location": "X" * 33}, "location"),
    ],
    ids=[
        "channel",
        "reason",
        "no-lines",
        "string-quantity",
        "zero-quantity",
        "order-id",
        "huge-order-id",
        "location",
        "nul-in-location",
        "long-location",
    ],
)
def test_bad_input_is_400_with_field_errors_and_writes_nothing(api, order, change, field):
    before = counts()
    r = api.post("/api/v1/returns/", body(order, ("SKU-A", 1)) | change, format="json")
    assert r.status_code == 400
    assert field in r.json()["fields"]
    assert counts() == before


def test_over_return_is_409_and_writes_nothing(api, order):
    assert api.post("/api/v1/returns/", body(order, ("SKU-A", 2)), format="json").status_code == 201
    before = counts()
    r = api.post("/api/v1/returns/", body(order, ("SKU-A", 2)), format="json")
    assert r.status_code == 409
    assert r.json()["error"] == "over_return"
    assert counts() == before


def test_unknown_order_or_return_is_404(api, order):
    assert (
        api.post("/api/v1/returns/", body(order, ("SKU-A", 1)) | {"order_id": 999999}, format="json").status_code == 404
    )
    assert api.get("/api/v1/returns/999999/").status_code == 404
    assert api.post("/api/v1/returns/999999/close/", {}, format="json").status_code == 404


def test_an_action_from_the_wrong_status_is_409_and_writes_nothing(api, order):
    ret = api.post("/api/v1/returns/", body(order, ("SKU-A", 1)), format="json").json()
    before = counts()
    r = api.post(f"/api/v1/returns/{ret['id']}/confirm-refund/", {"payment_reference": "x"}, format="json")
    assert r.status_code == 409
    assert r.json()["error"] == "invalid_transition"
    r = api.post(
        f"/api/v1/returns/{ret['id']}/inspect/",
        {"lines": [{"sku": "SKU-A", "quantity": 1, "disposition": "melt"}]},
        format="json",
    )
    assert r.status_code == 400
    assert counts() == before


def test_store_managers_take_returns_at_their_stores_only(order, store):
    other = StoreFactory(code="ST9")
    manager = client_for(person("sam", "store_manager", locations=[store]))
    assert manager.post("/api/v1/returns/", body(order, ("SKU-A", 1)), format="json").status_code == 403
    assert manager.post("/api/v1/returns/", body(order, ("SKU-A", 1), location="ST9"), format="json").status_code == 403
    r = manager.post("/api/v1/returns/", body(order, ("SKU-A", 1), channel="store", location="ST1"), format="json")
    assert r.status_code == 201
    ret_id = r.json()["id"]
    assert (
        manager.post(f"/api/v1/returns/{ret_id}/receive/", {"location": other.code}, format="json").status_code == 403
    )
    assert manager.post(f"/api/v1/returns/{ret_id}/receive/", {"location": "ST1"}, format="json").status_code == 200
    assert manager.post(f"/api/v1/returns/{ret_id}/authorize/", {"comment": "x"}, format="json").status_code == 403
    assert [x["id"] for x in manager.get("/api/v1/returns/").json()["results"]] == [ret_id]
    elsewhere = client_for(person("kim", "store_manager", locations=[other]))
    assert elsewhere.get(f"/api/v1/returns/{ret_id}/").status_code == 404
    assert elsewhere.get("/api/v1/returns/").json()["results"] == []


def test_a_reviewer_authorizes_through_the_api_with_a_comment(api, order):
    from apps.returns.models import Return

    ret = api.post("/api/v1/returns/", body(order, ("SKU-A", 1)), format="json").json()
    Return.objects.filter(pk=ret["id"]).update(status="pending_review")
    reviewer = client_for(person("rita", "approver"))
    assert reviewer.post(f"/api/v1/returns/{ret['id']}/authorize/", {}, format="json").status_code == 400
    r = reviewer.post(f"/api/v1/returns/{ret['id']}/authorize/", {"comment": "ok by me"}, format="json")
    assert r.status_code == 200
    assert r.json()["decision"]["by"] == "rita"
    assert r.json()["decision"]["comment"] == "ok by me"


def test_the_list_has_a_query_budget_that_does_not_grow_with_page_size(api, warehouse, product, receive):
    receive(warehouse, product, 40)
    for i in range(6):
        o = shipped_order([(product, 2)], external_id=f"L{i}")
        api.post("/api/v1/returns/", body(o, ("SKU-A", 1)), format="json")
    with CaptureQueriesContext(connection) as two:
        assert len(api.get("/api/v1/returns/?page_size=2").json()["results"]) == 2
    with CaptureQueriesContext(connection) as six:
        assert len(api.get("/api/v1/returns/?page_size=6").json()["results"]) == 6
    assert len(six) == len(two)


def test_a_store_manager_receives_a_web_return_at_their_store(api, order, store):
    web = api.post("/api/v1/returns/", body(order, ("SKU-A", 1)), format="json").json()
    assert web["location"] is None
    manager = client_for(person("sam", "store_manager", locations=[store]))
    assert [x["id"] for x in manager.get("/api/v1/returns/").json()["results"]] == [web["id"]]
    r = manager.post(f"/api/v1/returns/{web['id']}/receive/", {"location": "ST1"}, format="json")
    assert (r.status_code, r.json()["location"]) == (200, "ST1")
    elsewhere = client_for(person("kim", "store_manager", locations=[StoreFactory(code="ST9")]))
    assert elsewhere.get(f"/api/v1/returns/{web['id']}/").status_code == 404
