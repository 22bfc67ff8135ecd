"""Stock adjustment and cycle count API: shapes, scoping, errors as JSON, nothing written on refusal."""

import pytest
from rest_framework.test import APIClient

from apps.orders.services import order_create
from apps.stock.models import StockAdjustment
from tests.approvals.helpers import client_for, make_shop, make_staff, on_hand, written
from tests.orders.helpers import order_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    return make_shop()


@pytest.fixture
def staff(shop):
    return make_staff(shop)


@pytest.fixture
def manager_api(staff):
    return client_for(staff["manager"])


def body(location="ST1", reason="damage", lines=(("KET-1", -200),), **extra):
    return {
        "location": location,
        "reason": reason,
        "lines": [{"sku": sku, "quantity_delta": d} for sku, d in lines],
        **extra,
    }


def test_an_adjustment_within_the_policy_is_201_and_posted(manager_api, shop):
    r = manager_api.post("/api/v1/stock/adjustments/", body(lines=[("KET-1", -25)], note="dropped"), format="json")

    assert r.status_code == 201, r.content
    data = r.json()
    assert {k: data[k] for k in ("number", "location", "reason", "note", "status", "value", "currency")} == {
        "number": f"ADJ-{data['id']:06d}",
        "location": "ST1",
        "reason": "damage",
        "note": "dropped",
        "status": "posted",
        "value": "100.00",
        "currency": "USD",
    }
    assert (data["approval"], data["requested_by"], data["count_id"]) == (None, "sam", None)
    assert data["lines"] == [{"sku": "KET-1", "quantity_delta": -25, "unit_cost": "4.00", "value": "100.00"}]
    assert data["posted_at"] is not None
    assert on_hand(shop["kettle"], shop["store"]) == 975


def test_an_adjustment_above_the_policy_is_201_pending_with_its_approval(manager_api, shop):
    r = manager_api.post("/api/v1/stock/adjustments/", body(lines=[("TOA-1", -240)]), format="json")

    assert r.status_code == 201
    data = r.json()
    assert (data["status"], data["value"], data["posted_at"]) == ("pending_approval", "6000.00", None)
    assert data["approval"] == {
        "id": data["approval"]["id"],
        "level": 1,
        "levels": 2,
        "outcome": "pending",
        "task_id": data["approval"]["task_id"],
    }
    detail = manager_api.get(f"/api/v1/stock/adjustments/{data['id']}/").json()
    assert [(h["from_status"], h["to_status"], h["actor"]) for h in detail["history"]] == [
        ("", "draft", "sam"),
        ("draft", "pending_approval", "sam"),
    ]
    assert [(e["action"], e["level"], e["actor"]) for e in detail["approval_trail"]] == [
        ("requested", None, "sam"),
        ("opened", 1, None),
    ]


BAD = {
    "unknown sku": (body(lines=[("NOPE", -1)]), "lines"),
    "zero delta": (body(lines=[("KET-1", 0)]), "lines"),
    "delta as text": ({**body(), "lines": [{"sku": "KET-1", "quantity_delta": "-2"}]}, "lines"),
    "fractional delta": ({**body(), "lines": [{"sku": "KET-1", "quantity_delta": -1.5}]}, "lines"),
    "boolean delta": ({**body(), "lines": [{"sku": "KET-1", "quantity_delta": True}]}, "lines"),
    "the same sku twice": (body(lines=[("KET-1", -1), ("KET-1", -2)]), "lines"),
    "no lines": (body(lines=[]), "lines"),
    "unknown reason": (body(reason="theft?"), "reason"),
    "unknown location": (body(location="NOWHERE"), "location"),
    "note too long": (body(note="x" * 501), "note"),
    "body is a list": ([1, 2], "non_field_errors"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_is_a_json_400_naming_the_field_and_writes_nothing(manager_api, shop, case):
    payload, field = BAD[case]
    before = written()
    r = manager_api.post("/api/v1/stock/adjustments/", payload, format="json")
    assert r.status_code == 400, r.content
    assert r.json()["error"] == "invalid"
    assert field in r.json()["fields"]
    assert written() == before


def test_a_store_manager_may_not_adjust_another_store_and_nothing_is_written(manager_api, shop):
    before = written()
    r = manager_api.post("/api/v1/stock/adjustments/", body(location="ST2"), format="json")
    assert r.status_code == 403
    assert r.json() == {"error": "permission_denied", "detail": "You may only adjust stock at your own locations."}
    assert written() == before


def test_a_store_manager_sees_only_their_stores_adjustments(manager_api, staff, shop):
    ops = client_for(staff["ops"])
    other = ops.post("/api/v1/stock/adjustments/", body(location="ST2", lines=[("KET-1", -1)]), format="json").json()
    own = manager_api.post("/api/v1/stock/adjustments/", body(lines=[("KET-1", -1)]), format="json").json()

    assert [a["id"] for a in manager_api.get("/api/v1/stock/adjustments/").json()["results"]] == [own["id"]]
    assert manager_api.get(f"/api/v1/stock/adjustments/{other['id']}/").status_code == 404
    # approvers see every store
    listed = client_for(staff["approver"]).get("/api/v1/stock/adjustments/").json()["results"]
    assert [a["id"] for a in listed] == [own["id"], other["id"]]


@pytest.mark.parametrize("role", ["approver", "finance"])
def test_approvers_and_finance_may_not_create_adjustments(staff, role):
    r = client_for(staff[role]).post("/api/v1/stock/adjustments/", body(), format="json")
    assert r.status_code == 403


def test_without_credentials_it_is_401():
    assert APIClient().get("/api/v1/stock/adjustments/").status_code == 401


def test_an_adjustment_that_would_go_below_reserved_is_409_and_writes_nothing(manager_api, shop):
    order_create(data=order_input([(shop["kettle"], 990)], method="pickup", pickup=shop["store"], unit_price="1.00"))
    before = written()

    r = manager_api.post("/api/v1/stock/adjustments/", body(lines=[("KET-1", -20)]), format="json")

    assert r.status_code == 409
    assert r.json()["error"] == "insufficient_stock"
    assert r.json()["detail"] == (
        f"Posting -20 of product {shop['kettle'].pk} at ST1 would leave less on hand (980) than is reserved (990)"
    )
    assert written() == before
    assert StockAdjustment.objects.count() == 0


def test_filters_and_the_query_budget_of_the_list(manager_api, shop, django_assert_max_num_queries):
    for delta in (-1, -2, -200, -150):
        manager_api.post("/api/v1/stock/adjustments/", body(lines=[("KET-1", delta)]), format="json")

    pending = manager_api.get("/api/v1/stock/adjustments/", {"status": "pending_approval"}).json()["results"]
    assert [a["value"] for a in pending] == ["600.00", "800.00"]
    assert manager_api.get("/api/v1/stock/adjustments/", {"status": "nope"}).status_code == 400
    # token, user scope, count, page, lines, approval requests, open tasks (+ savepoints): not per row
    with django_assert_max_num_queries(9):
        assert len(manager_api.get("/api/v1/stock/adjustments/").json()["results"]) == 4


# --- cycle counts ---------------------------------------------------------------------------------
def test_a_count_is_201_with_variances_and_the_resulting_adjustment(manager_api, shop):
    r = manager_api.post(
        "/api/v1/stock/counts/",
        {"location": "ST1", "lines": [{"sku": "KET-1", "counted": 990}, {"sku": "TOA-1", "counted": 1000}]},
        format="json",
    )

    assert r.status_code == 201, r.content
    data = r.json()
    assert data["lines"] == [
        {"sku": "KET-1", "counted": 990, "expected": 1000, "variance": -10},
        {"sku": "TOA-1", "counted": 1000, "expected": 1000, "variance": 0},
    ]
    adjustment = data["adjustment"]
    assert (adjustment["reason"], adjustment["status"], adjustment["value"], adjustment["count_id"]) == (
        "count_variance",
        "posted",
        "40.00",
        data["id"],
    )
    assert adjustment["lines"] == [{"sku": "KET-1", "quantity_delta": -10, "unit_cost": "4.00", "value": "40.00"}]
    assert manager_api.get(f"/api/v1/stock/counts/{data['id']}/").json() == data
    assert [c["id"] for c in manager_api.get("/api/v1/stock/counts/").json()["results"]] == [data["id"]]


def test_a_count_without_variance_has_no_adjustment(manager_api, shop):
    r = manager_api.post(
        "/api/v1/stock/counts/", {"location": "ST1", "lines": [{"sku": "KET-1", "counted": 1000}]}, format="json"
    )
    assert r.status_code == 201
    assert r.json()["adjustment"] is None


@pytest.mark.parametrize(
    "lines",
    [[{"sku": "KET-1", "counted": -1}], [{"sku": "KET-1", "counted": "9"}], [], [{"sku": "X", "counted": 1}]],
    ids=["negative", "text", "no lines", "unknown sku"],
)
def test_bad_counts_are_400_and_write_nothing(manager_api, shop, lines):
    before = written()
    r = manager_api.post("/api/v1/stock/counts/", {"location": "ST1", "lines": lines}, format="json")
    assert r.status_code == 400
    assert "lines" in r.json()["fields"]
    assert written() == before


def test_a_store_manager_may_not_count_another_store(manager_api, shop):
    before = written()
    r = manager_api.post(
        "/api/v1/stock/counts/", {"location": "ST2", "lines": [{"sku": "KET-1", "counted": 1}]}, format="json"
    )
    assert r.status_code == 403
    assert written() == before


def test_the_requester_withdraws_a_pending_adjustment_over_the_api(manager_api, staff, shop):
    created = manager_api.post("/api/v1/stock/adjustments/", body(), format="json").json()

    withdrawn = manager_api.post(
        f"/api/v1/stock/adjustments/{created['id']}/withdraw/", {"reason": "recounted"}, format="json"
    )
    again = manager_api.post(f"/api/v1/stock/adjustments/{created['id']}/withdraw/", {}, format="json")
    by_approver = client_for(staff["approver"]).post(
        f"/api/v1/stock/adjustments/{created['id']}/withdraw/", {}, format="json"
    )

    assert created["status"] == "pending_approval"
    assert withdrawn.status_code == 200, withdrawn.content
    assert (withdrawn.json()["status"], withdrawn.json()["history"][-1]["reason"]) == ("withdrawn", "recounted")
    assert [e["action"] for e in withdrawn.json()["approval_trail"]][-1] == "withdrawn"
    assert (again.status_code, again.json()["error"]) == (409, "invalid_transition")
    assert by_approver.status_code == 403
    assert on_hand(shop["kettle"], shop["store"]) == 1000
