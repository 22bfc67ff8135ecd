from datetime import date
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.accounts.roles import APPROVER, FINANCE, OPS_ADMIN, STORE_MANAGER
from apps.accounts.services import user_assign_locations
from apps.core.models import OutboxEvent
from apps.stock.models import StockLevel
from apps.suppliers.models import GoodsReceipt, PurchaseOrder, Supplier, SupplierInvoice
from tests.factories import LocationFactory
from tests.suppliers.helpers import SupplierFactory, role_user, sent_po

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def buyer():
    return role_user("buyer", OPS_ADMIN)


@pytest.fixture
def api(buyer):
    return client_for(buyer)


@pytest.fixture
def acme():
    return SupplierFactory(code="ACME")


def po_body(**over):
    body = {"supplier": "ACME", "location": "WH1", "lines": [{"sku": "SKU-A", "quantity": 10, "unit_cost": "2.50"}]}
    return {**body, **over}


def test_a_supplier_is_created_listed_and_refused_twice(api):
    body = {"code": "NORD", "name": "Nordic Goods", "currency": "eur", "lead_time_days": 12}

    created = api.post("/api/v1/suppliers/", body, format="json")
    again = api.post("/api/v1/suppliers/", body, format="json")
    listed = api.get("/api/v1/suppliers/")

    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "code": "NORD",
        "name": "Nordic Goods",
        "currency": "EUR",
        "lead_time_days": 12,
        "payment_terms_days": 30,
        "email": "",
        "active": True,
    }
    assert (again.status_code, again.json()["error"]) == (409, "duplicate_supplier")
    assert [s["code"] for s in listed.json()["results"]] == ["NORD"]
    assert Supplier.objects.count() == 1


def test_the_supplier_catalogue_is_set_and_read(api, acme, product):
    set_ = api.post(
        f"/api/v1/suppliers/{acme.pk}/products/",
        {"sku": "SKU-A", "supplier_sku": "AC-1", "cost": "3.10", "pack_size": 6, "preferred": True},
        format="json",
    )

    assert set_.status_code == 200, set_.content
    assert api.get(f"/api/v1/suppliers/{acme.pk}/products/").json() == [
        {"sku": "SKU-A", "supplier_sku": "AC-1", "cost": "3.10", "min_order_qty": 1, "pack_size": 6, "preferred": True}
    ]


def test_a_po_goes_draft_submit_send_receive_over_the_api(api, acme, warehouse, product):
    created = api.post("/api/v1/purchase-orders/", po_body(), format="json")
    po_id = created.json()["id"]

    submitted = api.post(f"/api/v1/purchase-orders/{po_id}/submit/", {}, format="json")
    sent = api.post(f"/api/v1/purchase-orders/{po_id}/send/", {}, format="json")
    received = api.post(
        f"/api/v1/purchase-orders/{po_id}/receipts/",
        {"lines": [{"line_no": 1, "quantity": 4}], "reference": "ASN-9"},
        format="json",
    )

    assert created.status_code == 201, created.content
    assert (created.json()["status"], created.json()["total"], created.json()["number"]) == (
        "draft",
        "25.00",
        f"PO-{po_id:06d}",
    )
    assert submitted.json()["status"] == "approved"
    assert sent.json()["status"] == "sent"
    assert received.status_code == 201, received.content
    body = received.json()
    assert body["lines"] == [{"line_no": 1, "quantity": 4, "landed_unit_cost": "2.50"}]
    assert body["purchase_order"]["status"] == "partially_received"
    assert body["purchase_order"]["lines"][0]["open_quantity"] == 6
    assert StockLevel.objects.get(location=warehouse, product=product).on_hand == 4


@pytest.mark.parametrize(
    "body, field",
    [
        (po_body(supplier="NOPE"), "supplier"),
        (po_body(location="NOWHERE"), "location"),
        (po_body(lines=[]), "lines"),
        (po_body(lines=[{"sku": "NOPE", "quantity": 1}]), "lines"),
        (po_body(lines=[{"sku": "SKU-A", "quantity": "3"}]), "lines"),
        (po_body(lines=[{"sku": "SKU-A", "quantity": 0}]), "lines"),
        (po_body(lines=[{"sku": "SKU-A", "quantity": 1, "unit_cost": "-1"}]), "lines"),
        (po_body(lines=[{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-A", "quantity": 2}]), "lines"),
    ],
    ids=[
        "unknown supplier",
        "unknown location",
        "no lines",
        "unknown sku",
        "quantity as text",
        "zero",
        "negative cost",
        "sku twice",
    ],
)
def test_bad_po_input_is_a_400_naming_the_field_and_writes_nothing(api, acme, warehouse, product, body, field):
    response = api.post("/api/v1/purchase-orders/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not PurchaseOrder.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_a_po_may_deliver_straight_to_a_store_but_not_to_an_inactive_location(api, acme, store, product):
    from tests.factories import LocationFactory

    LocationFactory(code="OLD", active=False)

    to_store = api.post("/api/v1/purchase-orders/", po_body(location="ST1"), format="json")
    to_closed = api.post("/api/v1/purchase-orders/", po_body(location="OLD"), format="json")

    assert (to_store.status_code, to_store.json()["location"]) == (201, "ST1")
    assert to_closed.status_code == 400
    assert "location" in to_closed.json()["fields"]
    assert PurchaseOrder.objects.count() == 1


def test_a_line_without_cost_the_supplier_does_not_list_is_a_409(api, acme, warehouse, product):
    response = api.post("/api/v1/purchase-orders/", po_body(lines=[{"sku": "SKU-A", "quantity": 1}]), format="json")

    assert (response.status_code, response.json()["error"]) == (409, "no_supplier_cost")
    assert not PurchaseOrder.objects.exists()


def test_sending_a_draft_is_a_409_and_changes_nothing(api, acme, warehouse, product):
    po_id = api.post("/api/v1/purchase-orders/", po_body(), format="json").json()["id"]

    response = api.post(f"/api/v1/purchase-orders/{po_id}/send/", {}, format="json")

    assert (response.status_code, response.json()["error"]) == (409, "invalid_transition")
    assert PurchaseOrder.objects.get(pk=po_id).status == "draft"


def test_over_receipt_over_the_api_is_a_409_and_writes_nothing(api, buyer, acme, warehouse, product):
    po = sent_po(acme, warehouse, [(product, 5, "1.00")], buyer=buyer)

    response = api.post(
        f"/api/v1/purchase-orders/{po.pk}/receipts/", {"lines": [{"line_no": 1, "quantity": 6}]}, format="json"
    )
    unknown = api.post(
        f"/api/v1/purchase-orders/{po.pk}/receipts/", {"lines": [{"line_no": 2, "quantity": 1}]}, format="json"
    )

    assert (response.status_code, response.json()["error"]) == (409, "over_receipt")
    assert unknown.status_code == 400
    assert not GoodsReceipt.objects.exists()
    assert not StockLevel.objects.filter(product=product, on_hand__gt=0).exists()


def test_an_unknown_po_is_a_404(api):
    assert api.get("/api/v1/purchase-orders/999999/").status_code == 404
    assert api.post("/api/v1/purchase-orders/999999/submit/", {}, format="json").status_code == 404


def test_a_store_manager_may_receive_only_at_their_locations_and_may_not_buy(acme, warehouse, product, buyer):
    other = LocationFactory(code="WH2", priority=2)
    mine = sent_po(acme, warehouse, [(product, 5, "1.00")], buyer=buyer)
    theirs = sent_po(acme, other, [(product, 5, "1.00")], buyer=buyer)
    manager = role_user("sm", STORE_MANAGER)
    user_assign_locations(user=manager, location_ids=[warehouse.pk])
    client = client_for(manager)

    ok = client.post(
        f"/api/v1/purchase-orders/{mine.pk}/receipts/", {"lines": [{"line_no": 1, "quantity": 5}]}, format="json"
    )
    hidden = client.post(
        f"/api/v1/purchase-orders/{theirs.pk}/receipts/", {"lines": [{"line_no": 1, "quantity": 5}]}, format="json"
    )
    buy = client.post("/api/v1/purchase-orders/", po_body(), format="json")
    listed = client.get("/api/v1/purchase-orders/")

    assert ok.status_code == 201
    assert hidden.status_code == 404
    assert buy.status_code == 403
    assert [p["id"] for p in listed.json()["results"]] == [mine.pk]
    assert GoodsReceipt.objects.filter(purchase_order=theirs).count() == 0


def test_an_invoice_response_carries_the_match_result_per_line(api, buyer, acme, warehouse, product):
    po = sent_po(acme, warehouse, [(product, 10, "2.00")], buyer=buyer)
    api.post(f"/api/v1/purchase-orders/{po.pk}/receipts/", {"lines": [{"line_no": 1, "quantity": 10}]}, format="json")
    body = {
        "supplier": "ACME",
        "number": "INV-100",
        "invoice_date": date.today().isoformat(),
        "lines": [
            {"purchase_order": po.number, "line_no": 1, "quantity": 10, "unit_price": "2.30"},
            {"purchase_order": "PO-999999", "sku": "GHOST", "quantity": 1, "unit_price": "1.00"},
        ],
    }

    response = api.post("/api/v1/supplier-invoices/", body, format="json")
    duplicate = api.post("/api/v1/supplier-invoices/", body, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["payable"], data["total"]) == ("exception", False, "24.00")
    assert [(ln["result"], ln["variance"], ln["expected_unit_price"]) for ln in data["lines"]] == [
        ("price_variance", "3.00", "2.00"),
        ("unknown_po_line", "0.00", None),
    ]
    assert data["incident_id"] is not None
    assert (duplicate.status_code, duplicate.json()["error"]) == (409, "duplicate_invoice")
    assert SupplierInvoice.objects.count() == 1


def test_finance_asks_for_acceptance_and_another_finance_user_sees_it_in_the_inbox(acme, warehouse, product, buyer):
    po = sent_po(acme, warehouse, [(product, 10, "2.00")], buyer=buyer)
    client_for(buyer).post(
        f"/api/v1/purchase-orders/{po.pk}/receipts/", {"lines": [{"line_no": 1, "quantity": 10}]}, format="json"
    )
    fin = client_for(role_user("fin", FINANCE))
    inv = fin.post(
        "/api/v1/supplier-invoices/",
        {
            "supplier": "ACME",
            "number": "V-1",
            "invoice_date": date.today().isoformat(),
            "lines": [{"purchase_order": po.number, "sku": product.sku, "quantity": 10, "unit_price": "2.10"}],
        },
        format="json",
    ).json()

    asked = fin.post(
        f"/api/v1/supplier-invoices/{inv['id']}/accept-variance/", {"comment": "agreed by phone"}, format="json"
    )
    no_comment = fin.post(f"/api/v1/supplier-invoices/{inv['id']}/dispute/", {}, format="json")

    assert inv["status"] == "exception"
    assert asked.json()["status"] == "pending_acceptance"
    assert no_comment.status_code == 400


def test_an_approver_cannot_record_invoices(acme):
    response = client_for(role_user("ann", APPROVER)).post("/api/v1/supplier-invoices/", {}, format="json")

    assert response.status_code == 403


def test_the_scorecard_endpoint_validates_its_range(api, acme):
    ok = api.get(f"/api/v1/suppliers/{acme.pk}/scorecard/?start=2026-01-01&end=2026-03-31")
    bad = api.get(f"/api/v1/suppliers/{acme.pk}/scorecard/?start=2026-04-01&end=2026-03-31")
    garbage = api.get(f"/api/v1/suppliers/{acme.pk}/scorecard/?start=soon")

    assert ok.status_code == 200
    assert ok.json()["on_time_delivery_rate"] is None
    assert (ok.json()["start"], ok.json()["end"]) == ("2026-01-01", "2026-03-31")
    assert bad.status_code == 400
    assert garbage.status_code == 400


@pytest.mark.parametrize("n", [3, 12])
def test_listing_pos_costs_the_same_queries_whatever_the_page_size(
    api, buyer, acme, warehouse, product, n, django_assert_max_num_queries
):
    for _ in range(n):
        sent_po(acme, warehouse, [(product, 1, "1.00")], buyer=buyer)

    with django_assert_max_num_queries(6):
        response = api.get("/api/v1/purchase-orders/?page_size=50")

    assert len(response.json()["results"]) == n


def test_a_non_json_body_is_a_415_and_a_broken_one_a_400(api, acme, warehouse, product):
    text = api.post("/api/v1/purchase-orders/", "supplier=ACME", content_type="text/plain")
    broken = api.post("/api/v1/purchase-orders/", "{not json", content_type="application/json")

    assert text.status_code == 415
    assert broken.status_code == 400
    assert not PurchaseOrder.objects.exists()


def test_money_is_rendered_with_two_decimals(api, acme, warehouse, product):
    created = api.post(
        "/api/v1/purchase-orders/", po_body(lines=[{"sku": "SKU-A", "quantity": 3, "unit_cost": "1.5"}]), format="json"
    )

    assert created.json()["lines"][0]["unit_cost"] == "1.50"
    assert Decimal(created.json()["total"]) == Decimal("4.50")


def test_a_pending_po_is_withdrawn_over_the_api(api, acme, warehouse, product):
    po_id = api.post(
        "/api/v1/purchase-orders/",
        po_body(lines=[{"sku": "SKU-A", "quantity": 100, "unit_cost": "30.00"}]),
        format="json",
    ).json()["id"]
    assert (
        api.post(f"/api/v1/purchase-orders/{po_id}/submit/", {}, format="json").json()["status"] == "pending_approval"
    )

    withdrawn = api.post(f"/api/v1/purchase-orders/{po_id}/withdraw/", {"reason": "fix the price"}, format="json")
    again = api.post(f"/api/v1/purchase-orders/{po_id}/withdraw/", {}, format="json")

    assert withdrawn.status_code == 200
    assert (withdrawn.json()["status"], withdrawn.json()["history"][-1]["reason"]) == ("draft", "fix the price")
    assert (again.status_code, again.json()["error"]) == (409, "invalid_transition")
