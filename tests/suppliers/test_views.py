"""Staff UI for procurement: purchase orders (create, actions, receive, print), replenishment, supplier
invoices and suppliers; permissions and location scoping; refusals shown as messages, never a 500."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from apps.accounts.services import user_assign_locations
from apps.approvals.models import ApprovalRequest
from apps.core.models import Incident, OutboxEvent
from apps.stock.models import StockLevel, StockMovement
from apps.suppliers import services
from apps.suppliers.models import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderHistory,
    ReorderRule,
    SupplierInvoice,
    SupplierInvoiceLine,
)
from tests.factories import ProductFactory, StoreFactory
from tests.suppliers.helpers import SupplierFactory, draft_po, role_user, sent_po

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(warehouse, store):
    supplier = SupplierFactory(code="ACME", name="Acme Housewares", lead_time_days=10, email="orders@acme.test")
    kettle = ProductFactory(sku="KET-1", name="Kettle")
    toaster = ProductFactory(sku="TOA-1", name="Toaster")
    services.supplier_product_set(
        supplier=supplier, product=kettle, supplier_sku="AC-KET", cost=Decimal("4.00"), preferred=True
    )
    other_store = StoreFactory(code="ST2")
    return {
        "supplier": supplier,
        "kettle": kettle,
        "toaster": toaster,
        "wh": warehouse,
        "st1": store,
        "st2": other_store,
    }


@pytest.fixture
def people(shop):
    manager = role_user("sam", "store_manager")
    user_assign_locations(user=manager, location_ids=[shop["st1"].pk])
    return {
        "buyer": role_user("olga", "ops_admin"),
        "manager": manager,
        "approver": role_user("ava", "approver"),
        "finance": role_user("fin", "finance"),
    }


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def on_hand(product, location) -> int:
    level = StockLevel.objects.filter(product=product, location=location).first()
    return level.on_hand if level else 0


def written() -> dict[str, int]:
    """What the procurement screens may write: compare before and after a refusal."""
    return {
        "pos": PurchaseOrder.objects.count(),
        "history": PurchaseOrderHistory.objects.count(),
        "receipts": GoodsReceipt.objects.count(),
        "invoices": SupplierInvoice.objects.count(),
        "movements": StockMovement.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "approvals": ApprovalRequest.objects.count(),
        "rules": ReorderRule.objects.count(),
    }


def po_form(**fields) -> dict[str, str]:
    return {"supplier": "ACME", "location": "WH1", "note": "", **fields}


# --- purchase orders -----------------------------------------------------------------------------
def test_a_buyer_drafts_a_po_from_the_form_with_catalogue_and_explicit_costs(shop, people):
    buyer = browser(people["buyer"])
    assert buyer.get("/suppliers/purchase-orders/new/").status_code == 200

    r = buyer.post(
        "/suppliers/purchase-orders/new/",
        po_form(
            note="spring restock", sku_0="KET-1", quantity_0="10", sku_1="TOA-1", quantity_1="3", unit_cost_1="12.50"
        ),
    )

    po = PurchaseOrder.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/suppliers/purchase-orders/{po.pk}/"
    assert (po.status, po.total, po.location, po.note, po.created_by) == (
        "draft",
        Decimal("77.50"),
        shop["wh"],
        "spring restock",
        people["buyer"],
    )
    assert [(ln.product.sku, ln.quantity, ln.unit_cost) for ln in po.lines.order_by("line_no")] == [
        ("KET-1", 10, Decimal("4.00")),
        ("TOA-1", 3, Decimal("12.50")),
    ]
    page = buyer.get(r["Location"]).content.decode()
    assert "is drafted: 77.50 USD" in page
    assert 'data-testid="action-submit"' in page and 'data-testid="action-send"' not in page


def test_a_po_from_a_supplier_whose_currency_has_no_rate_is_refused_on_the_form(shop, people):
    SupplierFactory(code="EURO", currency="EUR")
    before = written()

    r = browser(people["buyer"]).post(
        "/suppliers/purchase-orders/new/", po_form(supplier="EURO", sku_0="KET-1", quantity_0="5", unit_cost_0="3.00")
    )

    assert r.status_code == 200
    assert f"No exchange rate for EUR on or before {date.today().isoformat()}" in r.content.decode()
    assert written() == before


def test_a_store_manager_cannot_create_purchase_orders(shop, people):
    manager = browser(people["manager"])
    before = written()

    assert manager.get("/suppliers/purchase-orders/new/").status_code == 403
    r = manager.post("/suppliers/purchase-orders/new/", po_form(location="ST1", sku_0="KET-1", quantity_0="1"))

    assert r.status_code == 403
    assert written() == before
    assert 'data-testid="new-purchase-order"' not in manager.get("/suppliers/purchase-orders/").content.decode()


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"sku_0": "NOPE-1", "quantity_0": "2"}, "Unknown SKU NOPE-1."),
        ({"sku_0": "KET-1"}, "Enter the quantity for KET-1."),
        ({"sku_0": "KET-1", "quantity_0": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"sku_0": "KET-1", "quantity_0": "1", "sku_1": "KET-1", "quantity_1": "2"}, "KET-1 appears more than once."),
        ({"quantity_0": "5"}, "Enter the SKU of this row."),
        ({"sku_0": "KET-1", "quantity_0": "1", "unit_cost_0": "-1"}, "greater than or equal to 0"),
        ({}, "Enter at least one line."),
        ({"supplier": "", "sku_0": "KET-1", "quantity_0": "1"}, "This field is required."),
        # the service's refusal: the supplier has no catalogue cost for the toaster
        ({"sku_0": "TOA-1", "quantity_0": "1"}, "ACME has no cost for TOA-1: give a unit cost"),
    ],
    ids=[
        "unknown sku",
        "no quantity",
        "zero",
        "duplicate",
        "no sku",
        "negative cost",
        "no lines",
        "no supplier",
        "no cost",
    ],
)
def test_bad_po_input_re_renders_the_form_with_the_error_and_writes_nothing(shop, people, fields, error):
    buyer = browser(people["buyer"])
    before = written()

    r = buyer.post("/suppliers/purchase-orders/new/", po_form(**fields))

    assert r.status_code == 200
    assert error in r.content.decode()
    assert written() == before


def test_submit_within_the_first_band_approves_then_send_and_close(shop, people):
    buyer = browser(people["buyer"])
    po = draft_po(shop["supplier"], shop["wh"], [(shop["kettle"], 10, "4.00")], actor=people["buyer"])

    r = buyer.post(f"/suppliers/purchase-orders/{po.pk}/submit/", follow=True)
    assert r.status_code == 200
    po.refresh_from_db()
    assert po.status == "approved"
    assert "is approved" in r.content.decode()

    r = buyer.post(f"/suppliers/purchase-orders/{po.pk}/send/", follow=True)
    po.refresh_from_db()
    assert po.status == "sent"
    assert po.expected_date == date.today() + timedelta(days=10)
    assert f"{po.number} is sent; expected on {po.expected_date.isoformat()}." in r.content.decode()
    assert OutboxEvent.objects.filter(name="suppliers.purchase_order.sent", aggregate_id=po.pk).count() == 1

    services.purchase_order_receive(
        po_id=po.pk, lines=[services.ReceiveLineInput(line_id=po.lines.get().pk, quantity=4)], actor=people["buyer"]
    )
    buyer.post(f"/suppliers/purchase-orders/{po.pk}/close/", {"reason": "supplier is out of stock"})
    po.refresh_from_db()
    assert po.status == "closed"
    assert po.history.order_by("-id").first().reason == "supplier is out of stock"


def test_submit_above_the_first_band_waits_for_approval_and_shows_the_level(shop, people):
    buyer = browser(people["buyer"])
    po = draft_po(shop["supplier"], shop["wh"], [(shop["kettle"], 501, "4.00")], actor=people["buyer"])

    r = buyer.post(f"/suppliers/purchase-orders/{po.pk}/submit/", follow=True)

    po.refresh_from_db()
    assert (po.status, po.total_company) == ("pending_approval", Decimal("2004.00"))
    page = r.content.decode()
    assert f"{po.number} (2004.00 USD) needs 1 approval level(s); send it once approved." in page
    assert "level 1 of 1, waiting in the queue" in page
    assert ApprovalRequest.objects.filter(subject_type="suppliers.purchase_order", subject_id=str(po.pk)).count() == 1


def test_the_submitter_withdraws_a_pending_po_back_to_draft(shop, people):
    buyer = browser(people["buyer"])
    po = draft_po(shop["supplier"], shop["wh"], [(shop["kettle"], 501, "4.00")], actor=people["buyer"])
    buyer.post(f"/suppliers/purchase-orders/{po.pk}/submit/")
    assert 'data-testid="action-withdraw"' in buyer.get(f"/suppliers/purchase-orders/{po.pk}/").content.decode()

    r = buyer.post(f"/suppliers/purchase-orders/{po.pk}/withdraw/", {"reason": "wrong quantity"}, follow=True)

    po.refresh_from_db()
    assert po.status == "draft"
    assert po.history.order_by("-id").first().reason == "wrong quantity"
    assert f"{po.number} is draft." in r.content.decode()
    request = ApprovalRequest.objects.get(subject_type="suppliers.purchase_order", subject_id=str(po.pk))
    assert request.outcome == "withdrawn"


def test_cancel_a_draft_with_a_reason(shop, people):
    po = draft_po(shop["supplier"], shop["wh"], [(shop["kettle"], 1, "4.00")], actor=people["buyer"])

    browser(people["buyer"]).post(f"/suppliers/purchase-orders/{po.pk}/cancel/", {"reason": "ordered twice"})

    po.refresh_from_db()
    assert po.status == "cancelled"
    assert po.history.order_by("-id").first().reason == "ordered twice"


def test_an_action_the_status_does_not_allow_is_a_message_and_changes_nothing(shop, people):
    po = draft_po(shop["supplier"], shop["wh"], [(shop["kettle"], 1, "4.00")], actor=people["buyer"])
    before = written()

    r = browser(people["buyer"]).post(f"/suppliers/purchase-orders/{po.pk}/send/", follow=True)

    assert r.status_code == 200
    assert f"Purchase order {po.number} cannot be sent from status &#x27;draft&#x27;" in r.content.decode()
    assert written() == before
    po.refresh_from_db()
    assert po.status == "draft"


@pytest.mark.parametrize("action", ["submit", "send", "cancel", "close"])
def test_people_without_the_transition_permission_get_403_and_nothing_changes(shop, people, action):
    po = draft_po(shop["supplier"], shop["st1"], [(shop["kettle"], 1, "4.00")], actor=people["buyer"])
    before = written()

    for who in ("manager", "approver", "finance"):
        assert browser(people[who]).post(f"/suppliers/purchase-orders/{po.pk}/{action}/").status_code == 403

    assert written() == before


def test_unknown_actions_and_ids_are_404(shop, people):
    buyer = browser(people["buyer"])
    po = draft_po(shop["supplier"], shop["wh"], [(shop["kettle"], 1, "4.00")], actor=people["buyer"])
    assert buyer.post(f"/suppliers/purchase-orders/{po.pk}/explode/").status_code == 404
    assert buyer.get(f"/suppliers/purchase-orders/{'9' * 25}/").status_code == 404
    assert buyer.post(f"/suppliers/purchase-orders/{'9' * 25}/submit/").status_code == 404
    assert buyer.get("/suppliers/purchase-orders/999999/print/").status_code == 404


def test_a_store_manager_receives_at_their_store_and_the_stock_goes_up(shop, people):
    po = sent_po(shop["supplier"], shop["st1"], [(shop["kettle"], 12, "4.00")], buyer=people["buyer"])
    line = po.lines.get()
    manager = browser(people["manager"])
    page = manager.get(f"/suppliers/purchase-orders/{po.pk}/").content.decode()
    assert 'data-testid="receive-form"' in page and 'data-testid="action-send"' not in page

    r = manager.post(
        f"/suppliers/purchase-orders/{po.pk}/receive/", {f"qty_{line.pk}": "5", "reference": "DN-771"}, follow=True
    )

    po.refresh_from_db()
    assert po.status == "partially_received"
    assert on_hand(shop["kettle"], shop["st1"]) == 5
    receipt = GoodsReceipt.objects.get()
    assert (receipt.reference, receipt.actor) == ("DN-771", people["manager"])
    assert f"GR-{receipt.pk:06d}: 5 unit(s) received at ST1; {po.number} is partially received." in r.content.decode()

    manager.post(f"/suppliers/purchase-orders/{po.pk}/receive/", {f"qty_{line.pk}": "7"})
    po.refresh_from_db()
    assert po.status == "received"
    assert on_hand(shop["kettle"], shop["st1"]) == 12
    assert 'data-testid="receive-form"' not in manager.get(f"/suppliers/purchase-orders/{po.pk}/").content.decode()


def test_over_receipt_is_a_message_and_writes_nothing(shop, people):
    po = sent_po(shop["supplier"], shop["st1"], [(shop["kettle"], 3, "4.00")], buyer=people["buyer"])
    line = po.lines.get()
    before = written()

    r = browser(people["manager"]).post(
        f"/suppliers/purchase-orders/{po.pk}/receive/", {f"qty_{line.pk}": "4"}, follow=True
    )

    assert r.status_code == 200
    assert f"Over-receipt on {po.number}: KET-1 0+4 &gt; 3" in r.content.decode()
    assert written() == before
    assert on_hand(shop["kettle"], shop["st1"]) == 0


@pytest.mark.parametrize(
    "data, error",
    [({}, "Enter a quantity for at least one line."), ({"qty": "-1"}, "greater than or equal to 0")],
    ids=["nothing", "negative"],
)
def test_a_bad_receive_form_re_renders_with_the_error_and_writes_nothing(shop, people, data, error):
    po = sent_po(shop["supplier"], shop["st1"], [(shop["kettle"], 3, "4.00")], buyer=people["buyer"])
    line = po.lines.get()
    before = written()

    r = browser(people["manager"]).post(
        f"/suppliers/purchase-orders/{po.pk}/receive/", {f"qty_{line.pk}": v for v in data.values()}
    )

    assert r.status_code == 200
    assert error in r.content.decode()
    assert written() == before


def test_store_managers_see_and_receive_only_their_locations_orders(shop, people):
    mine = sent_po(shop["supplier"], shop["st1"], [(shop["kettle"], 2, "4.00")], buyer=people["buyer"])
    theirs = sent_po(shop["supplier"], shop["st2"], [(shop["kettle"], 2, "4.00")], buyer=people["buyer"])
    manager = browser(people["manager"])

    listing = manager.get("/suppliers/purchase-orders/").content.decode()

    assert mine.number in listing and theirs.number not in listing
    # the location filter offers their own store only
    assert "&quot;value&quot;: &quot;ST1&quot;" in listing and "&quot;value&quot;: &quot;ST2&quot;" not in listing
    assert manager.get(f"/suppliers/purchase-orders/{theirs.pk}/").status_code == 404
    assert manager.get(f"/suppliers/purchase-orders/{theirs.pk}/print/").status_code == 404
    line = theirs.lines.get()
    assert manager.post(f"/suppliers/purchase-orders/{theirs.pk}/receive/", {f"qty_{line.pk}": "2"}).status_code == 404
    assert GoodsReceipt.objects.count() == 0
    # an approver (not allowed to receive) sees every order but gets no receive form, and a 403 on POST
    approver = browser(people["approver"])
    assert 'data-testid="receive-form"' not in approver.get(f"/suppliers/purchase-orders/{theirs.pk}/").content.decode()
    assert approver.post(f"/suppliers/purchase-orders/{theirs.pk}/receive/", {f"qty_{line.pk}": "2"}).status_code == 403


def test_the_list_filters_by_status(shop, people):
    draft = draft_po(shop["supplier"], shop["wh"], [(shop["kettle"], 1, "4.00")], actor=people["buyer"])
    sent = sent_po(shop["supplier"], shop["wh"], [(shop["toaster"], 1, "9.00")], buyer=people["buyer"])
    buyer = browser(people["buyer"])

    only_sent = buyer.get("/suppliers/purchase-orders/?status=sent").content.decode()
    to_receive = buyer.get("/suppliers/purchase-orders/?status=sent,partially_received").content.decode()
    every = buyer.get("/suppliers/purchase-orders/").content.decode()

    assert sent.number in only_sent and draft.number not in only_sent
    assert sent.number in to_receive and draft.number not in to_receive
    assert sent.number in every and draft.number in every


def test_the_list_runs_a_fixed_number_of_queries(shop, people, django_assert_max_num_queries):
    buyer = browser(people["buyer"])
    buyer.get("/suppliers/purchase-orders/")  # warm the session and permission caches
    for n in range(3):
        draft_po(shop["supplier"], shop["wh"], [(shop["kettle"], n + 1, "4.00")], actor=people["buyer"])
    with django_assert_max_num_queries(12) as few:
        buyer.get("/suppliers/purchase-orders/")
    for n in range(20):
        draft_po(shop["supplier"], shop["wh"], [(shop["kettle"], n + 1, "4.00")], actor=people["buyer"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        buyer.get("/suppliers/purchase-orders/")


def test_the_printable_po_shows_supplier_ship_to_lines_totals_and_expected_date(shop, people):
    lines = [(shop["kettle"], 10, "4.00"), (shop["toaster"], 3, "12.50")]
    po = draft_po(shop["supplier"], shop["wh"], lines, actor=people["buyer"])
    services.purchase_order_submit(po_id=po.pk, actor=people["buyer"])
    po = services.purchase_order_send(po_id=po.pk, actor=people["buyer"])

    r = browser(people["buyer"]).get(f"/suppliers/purchase-orders/{po.pk}/print/")

    page = r.content.decode()
    assert r.status_code == 200
    assert "@media print" in page and "portal.css" not in page
    assert f'<dd data-testid="print-number">{po.number}</dd>' in page
    assert f'<dd data-testid="print-expected">{po.expected_date.isoformat()}</dd>' in page
    assert '<td class="num" data-testid="print-total">77.50 USD</td>' in page
    assert "Acme Housewares" in page and "orders@acme.test" in page and shop["wh"].name in page
    assert "<td>1</td><td>KET-1</td><td>AC-KET</td><td>Kettle</td>" in page
    assert '<td class="num">10</td><td class="num">4.00</td><td class="num">40.00</td>' in page
    assert '<td class="num">3</td><td class="num">12.50</td><td class="num">37.50</td>' in page
    assert 'data-testid="print-draft"' not in page


def test_a_draft_prints_marked_as_not_an_order(shop, people):
    po = draft_po(shop["supplier"], shop["wh"], [(shop["kettle"], 1, "4.00")], actor=people["buyer"])
    page = browser(people["buyer"]).get(f"/suppliers/purchase-orders/{po.pk}/print/").content.decode()
    assert "Draft: for review only — not a valid order" in page


def test_the_detail_shows_lines_receipts_and_history(shop, people):
    po = sent_po(shop["supplier"], shop["st1"], [(shop["kettle"], 6, "4.00")], buyer=people["buyer"])
    services.purchase_order_receive(
        po_id=po.pk,
        lines=[services.ReceiveLineInput(line_id=po.lines.get().pk, quantity=2)],
        actor=people["manager"],
        reference="DN-1",
    )

    page = browser(people["buyer"]).get(f"/suppliers/purchase-orders/{po.pk}/").content.decode()

    assert '<td class="ro-num">6</td>\n                  <td class="ro-num">2</td>' in page
    assert '<td class="ro-num ro-proc__open">4</td>' in page
    assert "KET-1 × 2 @ 4.00" in page and "DN-1" in page
    assert "within the spend limit: approved on submit" in page
    assert 'data-testid="action-close"' in page and 'data-testid="action-cancel"' not in page


# --- replenishment -------------------------------------------------------------------------------
def test_set_a_reorder_rule_with_the_suggestion_shown(shop, people):
    buyer = browser(people["buyer"])

    page = buyer.get("/suppliers/replenishment/rule/?location=WH1&sku=KET-1").content.decode()
    assert 'data-testid="suggestion"' in page
    assert 'data-testid="suggested-point">0<' in page  # no sales yet: nothing to cover

    r = buyer.post(
        "/suppliers/replenishment/rule/", {"location": "WH1", "sku": "KET-1", "reorder_point": "5", "order_up_to": "20"}
    )
    assert r.status_code == 302 and r["Location"] == "/suppliers/replenishment/"
    rule = ReorderRule.objects.get()
    assert (rule.location, rule.product, rule.reorder_point, rule.order_up_to) == (shop["wh"], shop["kettle"], 5, 20)
    listing = buyer.get("/suppliers/replenishment/").content.decode()
    assert "KET-1" in listing and "Kettle" in listing

    # asked again without any outflow since, the form keeps the rule rather than the empty suggestion
    page = buyer.get("/suppliers/replenishment/rule/?location=WH1&sku=KET-1").content.decode()
    assert 'data-testid="no-demand"' in page and "so the form keeps the current rule" in page
    assert 'name="reorder_point" aria-label="Reorder point" value="5"' in page
    assert 'name="order_up_to" aria-label="Order up to" value="20"' in page


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"order_up_to": "5"}, "Order up to must be above the reorder point."),
        ({"sku": "NOPE"}, "Unknown SKU NOPE."),
        ({"location": "ST1"}, "Select a valid choice."),  # stores replenish by transfer
    ],
    ids=["up-to not above", "unknown sku", "a store"],
)
def test_a_bad_rule_re_renders_and_writes_nothing(shop, people, fields, error):
    before = written()
    r = browser(people["buyer"]).post(
        "/suppliers/replenishment/rule/",
        {"location": "WH1", "sku": "KET-1", "reorder_point": "5", "order_up_to": "20", **fields},
    )
    assert r.status_code == 200 and error in r.content.decode()
    assert written() == before


def test_a_store_manager_cannot_set_rules_or_run_proposals(shop, people):
    manager = browser(people["manager"])
    assert manager.get("/suppliers/replenishment/rule/").status_code == 403
    assert manager.post("/suppliers/replenishment/proposals/", {"action": "run"}).status_code == 403
    assert manager.post("/suppliers/replenishment/proposals/", {"action": "submit"}).status_code == 403


def test_run_the_proposal_then_submit_the_drafts(shop, people):
    services.reorder_rule_set(location=shop["wh"], product=shop["kettle"], reorder_point=5, order_up_to=20)
    buyer = browser(people["buyer"])

    r = buyer.post("/suppliers/replenishment/proposals/", {"action": "run"}, follow=True)

    po = PurchaseOrder.objects.get()
    assert (po.proposed, po.status, po.created_by) == (True, "draft", people["buyer"])
    assert [(ln.product.sku, ln.quantity) for ln in po.lines.all()] == [("KET-1", 20)]
    page = r.content.decode()
    assert f"1 draft order(s) proposed: {po.number}." in page
    assert "KET-1 × 20" in page

    again = buyer.post("/suppliers/replenishment/proposals/", {"action": "run"}, follow=True).content.decode()
    assert "Nothing to propose" in again and PurchaseOrder.objects.count() == 1

    r = buyer.post("/suppliers/replenishment/proposals/", {"action": "submit", "ids": [po.pk]}, follow=True)
    po.refresh_from_db()
    assert po.status == "approved"
    assert f"1 order(s) submitted: {po.number} approved." in r.content.decode()
    assert "No proposed drafts waiting." in r.content.decode()


# --- supplier invoices ---------------------------------------------------------------------------
@pytest.fixture
def received(shop, people):
    """A sent order for 10 kettles at 4.00, all received at the warehouse."""
    po = sent_po(shop["supplier"], shop["wh"], [(shop["kettle"], 10, "4.00")], buyer=people["buyer"])
    services.purchase_order_receive(
        po_id=po.pk, lines=[services.ReceiveLineInput(line_id=po.lines.get().pk, quantity=10)], actor=people["buyer"]
    )
    return po


def invoice_form(po, **fields) -> dict[str, str]:
    return {
        "supplier": "ACME",
        "number": "INV-1",
        "invoice_date": date.today().isoformat(),
        "po_0": po.number,
        "sku_0": "KET-1",
        "quantity_0": "10",
        "unit_price_0": "4.00",
        **fields,
    }


def test_finance_enters_a_matching_invoice(shop, people, received):
    finance = browser(people["finance"])
    assert finance.get("/suppliers/invoices/new/").status_code == 200

    r = finance.post("/suppliers/invoices/new/", invoice_form(received), follow=True)

    invoice = SupplierInvoice.objects.get()
    assert (invoice.status, invoice.total, invoice.first_pass_matched) == ("matched", Decimal("40.00"), True)
    page = r.content.decode()
    assert "Invoice INV-1 matched: ready to pay." in page
    assert 'data-testid="invoice-actions"' not in page


def test_a_price_variance_is_highlighted_and_finance_is_asked_to_accept_it(shop, people, received):
    finance = browser(people["finance"])

    r = finance.post("/suppliers/invoices/new/", invoice_form(received, unit_price_0="4.50"), follow=True)

    invoice = SupplierInvoice.objects.get()
    assert invoice.status == "exception"
    line = SupplierInvoiceLine.objects.get()
    assert (line.result, line.variance) == ("price_variance", Decimal("5.00"))
    page = r.content.decode()
    assert "Invoice INV-1 does not match: see the lines below." in page
    assert '<tr class="ro-proc--exception" data-result="price_variance">' in page
    assert '<td class="ro-num ro-proc__variance">5.00</td>' in page
    assert "price 4.50 vs PO 4.00 (tolerance 2%)" in page
    assert f'href="/exceptions/{invoice.incident_id}/"' in page

    # the list puts open exceptions first
    matched = services.supplier_invoice_create(
        supplier=shop["supplier"],
        number="INV-0",
        invoice_date=date.today(),
        lines=[services.InvoiceLineInput(quantity=1, unit_price=Decimal("4.00"), po_line_id=received.lines.get().pk)],
        actor=people["finance"],
    )
    assert matched.status == "matched"  # an exception's quantities do not count as invoiced
    listing = finance.get("/suppliers/invoices/").content.decode()
    assert listing.index("INV-1") < listing.index("INV-0")  # the older exception first
    exceptions_only = finance.get("/suppliers/invoices/?status=exception,pending_acceptance").content.decode()
    assert "INV-1" in exceptions_only and "INV-0" not in exceptions_only

    r = finance.post(f"/suppliers/invoices/{invoice.pk}/request-acceptance/", {"text": "new price list"}, follow=True)
    invoice.refresh_from_db()
    assert invoice.status == "pending_acceptance"
    assert ApprovalRequest.objects.filter(
        subject_type="suppliers.invoice_variance", subject_id=str(invoice.pk)
    ).exists()
    assert "level 1 of 1" in r.content.decode()


def test_dispute_needs_a_reason_and_then_disputes(shop, people, received):
    invoice = services.supplier_invoice_create(
        supplier=shop["supplier"],
        number="INV-9",
        invoice_date=date.today(),
        lines=[services.InvoiceLineInput(quantity=10, unit_price=Decimal("5.00"), po_line_id=received.lines.get().pk)],
        actor=people["finance"],
    )
    finance = browser(people["finance"])

    r = finance.post(f"/suppliers/invoices/{invoice.pk}/dispute/", {"text": ""}, follow=True)
    invoice.refresh_from_db()
    assert invoice.status == "exception"
    assert "Say why the invoice is disputed" in r.content.decode()

    finance.post(f"/suppliers/invoices/{invoice.pk}/dispute/", {"text": "price list not agreed"})
    invoice.refresh_from_db()
    assert invoice.status == "disputed"
    assert invoice.history.order_by("-id").first().reason == "price list not agreed"

    again = finance.post(f"/suppliers/invoices/{invoice.pk}/request-acceptance/", follow=True)
    assert again.status_code == 200 and "is disputed: only an exception can be accepted" in again.content.decode()


def test_a_duplicate_invoice_number_re_renders_and_writes_nothing(shop, people, received):
    finance = browser(people["finance"])
    finance.post("/suppliers/invoices/new/", invoice_form(received, quantity_0="4"))
    before, incidents = written(), Incident.objects.count()

    r = finance.post("/suppliers/invoices/new/", invoice_form(received, quantity_0="6"))

    assert r.status_code == 200
    assert "ACME has already sent invoice INV-1" in r.content.decode()
    assert written() == before and Incident.objects.count() == incidents


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"po_0": ""}, "Enter the PO number the supplier quotes"),
        ({"unit_price_0": ""}, "Enter the unit price billed."),
        ({"invoice_date": "31/31/2026"}, "Enter a valid date."),
        ({"number": "  "}, "This field is required."),
        ({"po_0": "", "sku_0": "", "quantity_0": "", "unit_price_0": ""}, "Enter at least one line."),
    ],
    ids=["no po", "no price", "bad date", "blank number", "no lines"],
)
def test_bad_invoice_input_re_renders_with_errors_and_writes_nothing(shop, people, received, fields, error):
    before = written()
    r = browser(people["finance"]).post("/suppliers/invoices/new/", invoice_form(received, **fields))
    assert r.status_code == 200 and error in r.content.decode()
    assert written() == before


def test_store_managers_cannot_enter_or_act_on_invoices(shop, people, received):
    invoice = services.supplier_invoice_create(
        supplier=shop["supplier"],
        number="INV-5",
        invoice_date=date.today(),
        lines=[services.InvoiceLineInput(quantity=10, unit_price=Decimal("5.00"), po_line_id=received.lines.get().pk)],
        actor=people["finance"],
    )
    manager = browser(people["manager"])
    assert manager.get("/suppliers/invoices/new/").status_code == 403
    assert manager.post(f"/suppliers/invoices/{invoice.pk}/dispute/", {"text": "x"}).status_code == 403
    assert 'data-testid="invoice-actions"' not in manager.get(f"/suppliers/invoices/{invoice.pk}/").content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "exception"


# --- suppliers -----------------------------------------------------------------------------------
def test_the_supplier_page_shows_the_catalogue_and_the_scorecard_for_a_period(shop, people, received):
    buyer = browser(people["buyer"])
    supplier = shop["supplier"]

    page = buyer.get(f"/suppliers/suppliers/{supplier.pk}/").content.decode()
    assert "AC-KET" in page and 'data-testid="catalogue"' in page
    assert f"Scorecard {(date.today() - timedelta(days=90)).isoformat()} – {date.today().isoformat()}" in page
    # the order is expected in 10 days: outside the default period
    assert 'data-testid="score-on-time">—<' in page

    ahead = (date.today() + timedelta(days=30)).isoformat()
    url = f"/suppliers/suppliers/{supplier.pk}/?start={date.today().isoformat()}&end={ahead}"
    page = buyer.get(url).content.decode()
    assert 'data-testid="score-on-time">100 %<' in page
    assert 'data-testid="score-fill">100 %<' in page
    assert "10 of 10 unit(s) received" in page

    bad = buyer.get(f"/suppliers/suppliers/{supplier.pk}/?start={ahead}&end={date.today().isoformat()}")
    assert bad.status_code == 200
    assert "The start must not be after the end. Showing the last 90 days." in bad.content.decode()
    garbled = buyer.get(f"/suppliers/suppliers/{supplier.pk}/?start=yesterday").content.decode()
    assert "Start: Enter a valid date. Showing the last 90 days." in garbled
    assert buyer.get("/suppliers/suppliers/").status_code == 200
    assert buyer.get("/suppliers/suppliers/999999/").status_code == 404


def test_the_invoice_and_rule_lists_run_a_fixed_number_of_queries(
    shop, people, received, django_assert_max_num_queries
):
    buyer = browser(people["buyer"])
    line_id = received.lines.get().pk

    def more(n: int, start: int) -> None:
        for k in range(start, start + n):
            services.supplier_invoice_create(
                supplier=shop["supplier"],
                number=f"INV-{k}",
                invoice_date=date.today(),
                lines=[services.InvoiceLineInput(quantity=1, unit_price=Decimal("9.00"), po_line_id=line_id)],
                actor=people["finance"],
            )
            product = ProductFactory()
            services.reorder_rule_set(location=shop["wh"], product=product, reorder_point=1, order_up_to=5)

    more(2, 0)
    counts = {}
    for url in ("/suppliers/invoices/", "/suppliers/replenishment/"):
        buyer.get(url)
        with django_assert_max_num_queries(30) as few:
            buyer.get(url)
        counts[url] = len(few.captured_queries)
    more(15, 2)
    for url, budget in counts.items():
        with django_assert_max_num_queries(budget):
            assert buyer.get(url).status_code == 200
