"""Staff UI for transfers: list, create, detail actions by side, replenishment proposals accepted in bulk."""

from decimal import Decimal

import pytest
from django.test import Client

from apps.catalog.models import Product
from apps.stock import services
from apps.stock.models import ReplenishmentRule, StockTransfer
from tests.stock.test_transfers import level, make_network, make_people, transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def net(db):
    return make_network()


@pytest.fixture
def people(net):
    return make_people(net)


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_manager_requests_submits_and_receives_through_the_portal(net, people):
    manager, ops = browser(people["manager"]), browser(people["ops"])
    assert manager.get("/stock/transfers/new/").status_code == 200

    r = manager.post(
        "/stock/transfers/new/",
        {"location": "WH1", "destination": "ST1", "note": "", "sku_0": "KET-1", "quantity_0": "6"},
    )
    t = StockTransfer.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/stock/transfers/{t.pk}/"
    page = manager.get(f"/stock/transfers/{t.pk}/").content.decode()
    assert 'data-testid="action-approve"' in page and 'data-testid="action-dispatch"' not in page

    manager.post(f"/stock/transfers/{t.pk}/", {"action": "approve"})
    assert level(net["kettle"], net["wh1"]) == (100, 6)
    assert manager.post(f"/stock/transfers/{t.pk}/", {"action": "dispatch"}).status_code == 403
    ops.post(f"/stock/transfers/{t.pk}/", {"action": "dispatch"})
    manager.post(f"/stock/transfers/{t.pk}/", {"action": "receive"})

    t.refresh_from_db()
    assert t.status == "received"
    assert level(net["kettle"], net["st1"]) == (6, 0)
    assert "TRF-" in manager.get("/stock/transfers/").content.decode()


def test_the_create_form_refuses_same_location_and_other_peoples_routes(net, people):
    manager = browser(people["manager"])
    r = manager.post(
        "/stock/transfers/new/", {"location": "ST1", "destination": "ST1", "sku_0": "KET-1", "quantity_0": "1"}
    )
    assert r.status_code == 200 and "must differ" in r.content.decode()
    r = manager.post(
        "/stock/transfers/new/", {"location": "WH1", "destination": "ST2", "sku_0": "KET-1", "quantity_0": "1"}
    )
    assert r.status_code == 403
    assert StockTransfer.objects.count() == 0


def test_a_refused_action_shows_the_reason_and_changes_nothing(net, people):
    ops = browser(people["ops"])
    t = transfer(net, people["ops"], [("kettle", 101)])
    r = ops.post(f"/stock/transfers/{t.pk}/", {"action": "approve"}, follow=True)
    assert "Not enough available" in r.content.decode()
    t.refresh_from_db()
    assert t.status == "requested"


def test_other_stores_transfers_are_404(net, people):
    t = transfer(net, people["ops"], [("kettle", 1)], destination="st2")
    assert browser(people["manager"]).get(f"/stock/transfers/{t.pk}/").status_code == 404


def test_proposals_are_listed_and_accepted_in_bulk(net, people):
    ReplenishmentRule.objects.create(location=net["st1"], product=net["kettle"], min_qty=5, max_qty=20)
    ReplenishmentRule.objects.create(location=net["st2"], product=net["kettle"], min_qty=5, max_qty=20)
    ids = [t.pk for t in services.stock_replenishment_propose()]
    manager = browser(people["manager"])

    page = manager.get("/stock/transfers/proposals/").content.decode()
    assert page.count('name="ids"') == 1  # ST2's proposal is outside the manager's scope

    r = manager.post("/stock/transfers/proposals/", {"ids": ids})

    assert r.status_code == 302
    assert sorted(StockTransfer.objects.values_list("destination__code", "status")) == [
        ("ST1", "approved"),
        ("ST2", "requested"),
    ]
    assert "No open proposals" in manager.get("/stock/transfers/proposals/").content.decode()


def test_admin_edits_replenishment_rules_and_shows_transfers_read_only(net, people):
    admin = browser(people["ops"].__class__.objects.create_superuser("root", "root@example.com", "pw-test-123"))
    rule = ReplenishmentRule.objects.create(location=net["st1"], product=net["kettle"], min_qty=5, max_qty=20)
    t = transfer(net, people["ops"], [("kettle", 1)])
    assert admin.get("/admin/stock/replenishmentrule/").status_code == 200
    assert admin.get(f"/admin/stock/replenishmentrule/{rule.pk}/change/").status_code == 200
    assert admin.get(f"/admin/stock/stocktransfer/{t.pk}/change/").status_code == 200
    assert admin.get("/admin/stock/stocktransfer/add/").status_code == 403


def test_the_portal_answers_404_for_a_transfer_id_too_large(net, people):
    ops = browser(people["ops"])
    assert ops.get(f"/stock/transfers/{'9' * 25}/").status_code == 404
    assert ops.post(f"/stock/transfers/{'9' * 25}/", {"action": "cancel"}).status_code == 404


def test_the_requester_withdraws_a_pending_transfer_from_its_page(net, people):
    t = transfer(net, people["manager"], [("toaster", 90)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["manager"])
    manager, approver = browser(people["manager"]), browser(people["approver"])

    assert 'data-testid="action-withdraw"' in manager.get(f"/stock/transfers/{t.pk}/").content.decode()
    assert 'data-testid="action-withdraw"' not in approver.get(f"/stock/transfers/{t.pk}/").content.decode()
    manager.post(f"/stock/transfers/{t.pk}/", {"action": "withdraw"})

    assert StockTransfer.objects.get(pk=t.pk).status == "requested"


def test_a_transfer_worth_more_than_can_be_stored_is_a_400_page_and_nothing_is_written(net, people):
    # 200 kettles at the largest cost a product can have: worth more than a transfer's value holds
    services.stock_receive(
        location=net["wh1"], reference="more", lines=[services.ReceiptLine(net["kettle"], 100, Decimal("4.00"))]
    )
    Product.objects.filter(pk=net["kettle"].pk).update(cost="9999999999.99")
    manager = browser(people["manager"])

    r = manager.post(
        "/stock/transfers/new/",
        {"location": "WH1", "destination": "ST1", "note": "", "sku_0": "KET-1", "quantity_0": "200"},
    )

    assert r.status_code == 400
    assert b"too large" in r.content
    assert StockTransfer.objects.count() == 0
    assert level(net["kettle"], net["wh1"]) == (200, 0)
