"""Procure-to-stock in a real browser: a buyer drafts and submits a purchase order above the first spend
band, an approver approves it from the approvals queue and inbox, the buyer sends it, the store manager
receives it at their store, and the stock on hand there goes up."""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from apps.approvals.models import ApprovalPolicy, ApprovalPolicyLevel, ApprovalRequest, ApprovalTask
from apps.suppliers import services
from apps.suppliers.models import GoodsReceipt, PurchaseOrder
from tests.approvals.helpers import make_shop, on_hand, person
from tests.browser.test_approvals import log_in, settled
from tests.suppliers.helpers import SupplierFactory

SHOTS = Path(os.environ.get("UI_SCREENSHOT_DIR", "/tmp"))  # noqa: S108 - agreed location, nothing secret


def ensure_spend_policy():
    """The purchase-order spend bands the data migration seeds; a transactional test's flush removes them."""
    if ApprovalPolicy.objects.filter(subject_type=services.SUBJECT_PURCHASE_ORDER).exists():
        return
    policy = ApprovalPolicy.objects.create(
        name="Purchase order spend bands", subject_type=services.SUBJECT_PURCHASE_ORDER, metric="amount"
    )
    ApprovalPolicyLevel.objects.bulk_create(
        [
            ApprovalPolicyLevel(
                policy=policy,
                level=1,
                threshold=Decimal("2000.00"),
                permission="suppliers.approve_purchaseorder",
                sla_hours=24,
            ),
            ApprovalPolicyLevel(
                policy=policy,
                level=2,
                threshold=Decimal("25000.00"),
                permission="approvals.approve_as_finance",
                sla_hours=48,
            ),
        ]
    )


@pytest.fixture
def team(transactional_db):
    ensure_spend_policy()
    shop = make_shop()
    supplier = SupplierFactory(code="ACME", name="Acme Housewares", lead_time_days=5)
    services.supplier_product_set(
        supplier=supplier, product=shop["kettle"], supplier_sku="AC-KET", cost=Decimal("4.00"), preferred=True
    )
    return {
        **shop,
        "supplier": supplier,
        "olga": person("olga", "ops_admin", last_name="Ortiz"),
        "ava": person("ava", "approver", last_name="Adams"),
        "sam": person("sam", "store_manager", locations=[shop["store"]], last_name="Stone"),
    }


@pytest.mark.browser
def test_a_po_above_the_first_band_is_approved_sent_and_received_into_stock(page, team):
    store, kettle = team["store"], team["kettle"]
    before = on_hand(kettle, store)

    # given: the buyer drafts 600 kettles at 4.50 for the High Street store (2,700.00 > 2,000.00)
    log_in(page, "olga", "/suppliers/purchase-orders/")
    page.get_by_test_id("new-purchase-order").click()
    settled(page)
    expect(page).to_have_url("/suppliers/purchase-orders/new/")
    page.get_by_label("Supplier").select_option("ACME")
    page.get_by_label("Deliver to").select_option("ST1")
    page.get_by_label("Note").fill("autumn kettles")
    page.get_by_label("SKU 1").fill("KET-1")
    page.get_by_label("Quantity 1").fill("600")
    page.get_by_label("Unit cost 1").fill("4.50")
    page.get_by_role("button", name="Draft purchase order").click()
    settled(page)
    expect(page).to_have_url(re.compile(r"/suppliers/purchase-orders/\d+/$"))
    po = PurchaseOrder.objects.get()
    expect(page.get_by_test_id("po-status")).to_have_text("Draft")
    expect(page.get_by_test_id("po-total")).to_have_text("2700.00 USD")

    # when: they submit it
    page.get_by_test_id("action-submit").get_by_role("button", name="Submit").click()
    settled(page)

    # then: it waits for one approval level
    expect(page.get_by_test_id("po-status")).to_have_text("Pending approval")
    expect(page.locator(".ro-message--success")).to_have_text(
        f"{po.number} (2700.00 USD) needs 1 approval level(s); send it once approved."
    )
    expect(page.get_by_test_id("approval-state")).to_contain_text("level 1 of 1, waiting in the queue")
    expect(page.get_by_test_id("action-send")).to_have_count(0)
    request = ApprovalRequest.objects.get(subject_type=services.SUBJECT_PURCHASE_ORDER, subject_id=str(po.pk))
    task = ApprovalTask.objects.get(process_id=request.pk, status="NEW")

    # when: the approver claims it from the queue and approves it from the inbox
    log_in(page, "ava", "/approvals/queue/")
    row = page.locator(f"table[data-testid=approval-tasks] tr[data-task='{task.pk}']")
    expect(row).to_contain_text(f"{po.number} ACME → ST1: 2700.00 USD (2700.00 USD)")
    row.get_by_role("button", name="Claim").click()
    settled(page)
    expect(page).to_have_url(f"/approvals/tasks/{task.pk}/")
    page.goto("/approvals/inbox/")
    settled(page)
    page.get_by_role("link", name=f"#{task.pk}", exact=True).click()
    settled(page)
    expect(page.get_by_test_id("subject-lines")).to_contain_text("KET-1")
    page.get_by_label("Comment").fill("seasonal stock agreed")
    page.get_by_role("button", name="Approve").click()
    settled(page)
    expect(page.locator(".ro-message--success")).to_contain_text("The outcome was applied.")
    po.refresh_from_db()
    assert po.status == "approved"

    # and: the buyer sends it, and the printable PO carries the total and the expected date
    log_in(page, "olga", f"/suppliers/purchase-orders/{po.pk}/")
    expect(page.get_by_test_id("po-status")).to_have_text("Approved")
    expect(page.get_by_test_id("approval-state")).to_have_text("approved")
    page.get_by_test_id("action-send").get_by_role("button", name="Send to supplier").click()
    settled(page)
    expect(page.get_by_test_id("po-status")).to_have_text("Sent")
    po.refresh_from_db()
    page.goto(f"/suppliers/purchase-orders/{po.pk}/print/")
    expect(page.get_by_test_id("print-total")).to_have_text("2700.00 USD")
    expect(page.get_by_test_id("print-expected")).to_have_text(po.expected_date.isoformat())
    page.screenshot(path=SHOTS / "ui-purchase-order-print.png", full_page=True)

    # when: the store manager receives the whole delivery at their store
    log_in(page, "sam", f"/suppliers/purchase-orders/{po.pk}/")
    expect(page.get_by_test_id("action-send")).to_have_count(0)
    page.get_by_label("Receive KET-1").fill("600")
    page.get_by_label("Delivery note").fill("DN-4471")
    page.get_by_test_id("receive-submit").click()
    settled(page)

    # then: the order shows received and the store holds 600 more kettles
    expect(page.get_by_test_id("po-status")).to_have_text("Received")
    receipt = GoodsReceipt.objects.get()
    expect(page.locator(".ro-message--success")).to_have_text(
        f"GR-{receipt.pk:06d}: 600 unit(s) received at ST1; {po.number} is received."
    )
    expect(page.get_by_test_id("po-receipts")).to_contain_text("KET-1 × 600 @ 4.50")
    expect(page.get_by_test_id("receive-form")).to_have_count(0)
    page.screenshot(path=SHOTS / "ui-purchase-order-received.png", full_page=True)
    po.refresh_from_db()
    assert po.status == "received"
    assert on_hand(kettle, store) == before + 600
    assert (receipt.location, receipt.reference, receipt.actor) == (store, "DN-4471", team["sam"])
