"""Transfer API: create, list, detail, actions, scoping, errors, proposals, and in_transit on the levels."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.stock import services
from apps.stock.models import StockTransfer
from tests.approvals.helpers import client_for
from tests.stock.test_transfers import level, make_network, make_people, transfer, written

pytestmark = pytest.mark.django_db


@pytest.fixture
def net(db):
    return make_network()


@pytest.fixture
def people(net):
    return make_people(net)


def create(client, **body):
    payload = {"source": "WH1", "destination": "ST1", "lines": [{"sku": "KET-1", "quantity": 10}]}
    payload.update(body)
    return client.post("/api/v1/transfers/", payload, format="json")


def test_a_store_manager_runs_a_transfer_to_their_store(net, people):
    manager, ops = client_for(people["manager"]), client_for(people["ops"])

    r = create(manager, note="weekend")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["status"], body["value"], body["source"], body["destination"], body["note"]) == (
        "requested",
        "40.00",
        "WH1",
        "ST1",
        "weekend",
    )
    tid = body["id"]

    r = manager.post(f"/api/v1/transfers/{tid}/approve/")
    assert (r.status_code, r.json()["status"]) == (200, "approved")
    # the manager works at ST1, not at the source WH1: dispatch is for the source
    assert manager.post(f"/api/v1/transfers/{tid}/dispatch/").status_code == 403
    r = ops.post(f"/api/v1/transfers/{tid}/dispatch/")
    assert (r.status_code, r.json()["status"]) == (200, "in_transit")
    assert r.json()["lines"] == [
        {"sku": "KET-1", "quantity": 10, "unit_cost": "4.00", "dispatched": 10, "received": 0, "in_transit": 10}
    ]

    levels = {row["location"]: row for row in ops.get("/api/v1/stock/levels/?sku=KET-1").json()["results"]}
    assert (levels["WH1"]["on_hand"], levels["WH1"]["in_transit"]) == (90, 0)

    r = manager.post(f"/api/v1/transfers/{tid}/receive/", {"lines": [{"sku": "KET-1", "quantity": 9}]}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "received")
    assert [h["to_status"] for h in r.json()["history"]] == ["requested", "approved", "in_transit", "received"]
    assert level(net["kettle"], net["st1"]) == (9, 0)
    assert services.stock_verify_invariants() == []


def test_levels_api_shows_in_transit_with_a_constant_query_count(net, people, make_products):
    ops = client_for(people["ops"])
    t = transfer(net, people["ops"], [("kettle", 10), ("toaster", 3)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["ops"])
    services.stock_transfer_dispatch(transfer_id=t.pk, actor=people["ops"])
    services.stock_receive(
        location=net["st1"],
        reference="x",
        lines=[services.ReceiptLine(product=net["kettle"], quantity=1, unit_cost=1)],
    )

    rows = ops.get("/api/v1/stock/levels/?location=ST1").json()["results"]
    assert [(r["sku"], r["on_hand"], r["in_transit"]) for r in rows] == [("KET-1", 1, 10)]

    with CaptureQueriesContext(connection) as few:
        ops.get("/api/v1/stock/levels/")
    for product in make_products(5):
        services.stock_receive(
            location=net["st2"], reference="y", lines=[services.ReceiptLine(product=product, quantity=1, unit_cost=1)]
        )
    with CaptureQueriesContext(connection) as many:
        ops.get("/api/v1/stock/levels/")
    assert len(many) == len(few)


def test_list_is_scoped_to_the_users_locations(net, people):
    transfer(net, people["ops"], [("kettle", 1)], destination="st1")
    transfer(net, people["ops"], [("kettle", 1)], destination="st2")
    manager, ops = client_for(people["manager"]), client_for(people["ops"])

    assert [t["destination"] for t in manager.get("/api/v1/transfers/").json()["results"]] == ["ST1"]
    assert sorted(t["destination"] for t in ops.get("/api/v1/transfers/").json()["results"]) == ["ST1", "ST2"]
    other = StockTransfer.objects.get(destination=net["st2"])
    assert manager.get(f"/api/v1/transfers/{other.pk}/").status_code == 404
    assert manager.post(f"/api/v1/transfers/{other.pk}/cancel/").status_code == 404


def test_list_query_count_does_not_grow_with_page_size(net, people):
    ops = client_for(people["ops"])
    transfer(net, people["ops"], [("kettle", 1)])
    with CaptureQueriesContext(connection) as one:
        ops.get("/api/v1/transfers/")
    for _ in range(5):
        transfer(net, people["ops"], [("kettle", 1), ("toaster", 1)])
    with CaptureQueriesContext(connection) as six:
        r = ops.get("/api/v1/transfers/")
    assert r.json()["count"] == 6
    assert len(six) == len(one)


@pytest.mark.parametrize(
    "body, field",
    [
        pytest.param({"lines": []}, "lines", id="no-lines"),
        pytest.param({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines", id="unknown-sku"),
        pytest.param({"lines": [{"sku": "KET-1", "quantity": 0}]}, "lines", id="zero"),
        pytest.param({"lines": [{"sku": "KET-1", "quantity": "3"}]}, "lines", id="string-quantity"),
        pytest.param({"lines": [{"sku": "KET-1", "quantity": 1}, {"sku": "KET-1", "quantity": 1}]}, "lines", id="dup"),
        pytest.param({"source": "NOPE"}, "source", id="unknown-source"),
        pytest.param({"destination": "WH1"}, "destination", id="same-location"),
    ],
)
def test_create_rejects_bad_input_with_400_and_writes_nothing(net, people, body, field):
    before = written()
    r = create(client_for(people["ops"]), **body)
    assert r.status_code == 400
    assert field in str(r.json())
    assert written() == before


def test_a_manager_may_not_request_between_other_locations(net, people):
    before = written()
    r = create(client_for(people["manager"]), destination="ST2")
    assert r.status_code == 403
    assert written() == before


def test_approve_with_a_shortfall_is_409_and_writes_nothing(net, people):
    ops = client_for(people["ops"])
    tid = create(ops, lines=[{"sku": "KET-1", "quantity": 101}]).json()["id"]
    before = written()

    r = ops.post(f"/api/v1/transfers/{tid}/approve/")

    assert r.status_code == 409
    assert r.json()["error"] == "insufficient_stock"
    assert written() == before


def test_an_action_from_the_wrong_status_is_409(net, people):
    ops = client_for(people["ops"])
    tid = create(ops).json()["id"]
    r = ops.post(f"/api/v1/transfers/{tid}/receive/")
    assert (r.status_code, r.json()["error"]) == (409, "invalid_transition")


def test_receive_more_than_dispatched_is_400(net, people):
    ops = client_for(people["ops"])
    tid = create(ops).json()["id"]
    ops.post(f"/api/v1/transfers/{tid}/approve/")
    ops.post(f"/api/v1/transfers/{tid}/dispatch/")
    before = written()
    r = ops.post(f"/api/v1/transfers/{tid}/receive/", {"lines": [{"sku": "KET-1", "quantity": 11}]}, format="json")
    assert r.status_code == 400
    assert written() == before


def test_unknown_transfer_is_404_and_approver_cannot_create(net, people):
    assert client_for(people["ops"]).get("/api/v1/transfers/999999/").status_code == 404
    assert create(client_for(people["approver"])).status_code == 403


def test_cancel_releases_and_answers_cancelled(net, people):
    ops = client_for(people["ops"])
    tid = create(ops).json()["id"]
    ops.post(f"/api/v1/transfers/{tid}/approve/")
    r = ops.post(f"/api/v1/transfers/{tid}/cancel/", {"reason": "not needed"}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "cancelled")
    assert level(net["kettle"], net["wh1"]) == (100, 0)


def test_accept_proposals_in_bulk_reports_each_item(net, people):
    ops = client_for(people["ops"])
    good = services.stock_transfer_create(
        source=net["wh1"],
        destination=net["st1"],
        lines=[services.TransferLineInput(product=net["kettle"], quantity=5)],
        requested_by=None,
        proposed=True,
    )
    short = services.stock_transfer_create(
        source=net["wh2"],
        destination=net["st1"],
        lines=[services.TransferLineInput(product=net["kettle"], quantity=5)],
        requested_by=None,
        proposed=True,
    )
    manual = transfer(net, people["ops"], [("kettle", 1)])

    r = ops.post("/api/v1/transfers/proposals/accept/", {"ids": [good.pk, short.pk, manual.pk]}, format="json")

    assert r.status_code == 200
    assert [(x["id"], x["ok"], x.get("status"), x.get("code")) for x in r.json()] == [
        (good.pk, True, "approved", None),
        (short.pk, False, None, "insufficient_stock"),
        (manual.pk, False, None, "not_found"),
    ]
    assert (
        client_for(people["ops"]).post("/api/v1/transfers/proposals/accept/", {"ids": []}, format="json").status_code
        == 400
    )


def test_list_shows_proposals_and_filters_on_them(net, people):
    ops = client_for(people["ops"])
    manual = transfer(net, people["ops"], [("kettle", 1)])
    proposal = services.stock_transfer_create(
        source=net["wh1"],
        destination=net["st2"],
        lines=[services.TransferLineInput(product=net["kettle"], quantity=2)],
        requested_by=None,
        proposed=True,
    )

    def ids(query=""):
        return sorted(t["id"] for t in ops.get(f"/api/v1/transfers/{query}").json()["results"])

    assert ids() == sorted([manual.pk, proposal.pk])
    assert ids("?proposed=true") == [proposal.pk]
    assert ids("?proposed=false") == [manual.pk]
    assert ids("?status=requested&location=ST2") == [proposal.pk]
    assert ops.get("/api/v1/transfers/?status=nope").status_code == 400


@pytest.mark.parametrize(
    "method, path",
    [
        pytest.param("get", "/api/v1/transfers/{}/", id="detail"),
        pytest.param("post", "/api/v1/transfers/{}/dispatch/", id="dispatch"),
        pytest.param("post", "/api/v1/transfers/{}/receive/", id="receive"),
    ],
)
def test_an_id_too_large_for_the_database_is_a_404(net, people, method, path):
    r = getattr(client_for(people["ops"]), method)(path.format("9" * 25), format="json")
    assert r.status_code == 404


def test_accepting_proposals_with_ids_too_large_is_400(net, people):
    r = client_for(people["ops"]).post("/api/v1/transfers/proposals/accept/", {"ids": [10**25]}, format="json")
    assert r.status_code == 400


def test_a_pending_transfer_is_withdrawn_over_the_api(net, people):
    client = client_for(people["manager"])
    t = transfer(net, people["manager"], [("toaster", 90)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["manager"])
    assert StockTransfer.objects.get(pk=t.pk).status == "pending_approval"

    response = client.post(f"/api/v1/transfers/{t.pk}/withdraw/", {"reason": "not needed"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "requested"
    assert level(net["toaster"], net["wh1"]) == (100, 0)
