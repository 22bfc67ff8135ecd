"""The staff portal in a real browser: log in, find an order, pick and ship it, see the stock fall."""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from apps.orders.models import OrderHistory
from apps.orders.services import LineInput, OrderInput, order_cancel, order_create
from apps.stock.models import StockLevel
from apps.stock.services import ReceiptLine, stock_receive
from tests.factories import LocationFactory, ProductFactory, UserFactory

# Screenshots for a person to look at: the order detail after shipping, the filtered list, the stock.
SHOTS = Path(os.environ.get("UI_SCREENSHOT_DIR", "/tmp"))  # noqa: S108 - agreed location, nothing secret


def intake(product, quantity, external_id):
    order, _ = order_create(
        data=OrderInput(
            channel="web",
            external_id=external_id,
            currency="USD",
            customer_email="ann.lee@example.com",
            customer_name="Ann Lee",
            fulfillment_method="ship",
            shipping_address={"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
            payment_method="card",
            payment_reference=f"ch_{external_id}",
            lines=[LineInput(product=product, quantity=quantity, unit_price=Decimal("24.50"))],
        )
    )
    return order


def settled(page):
    """Wait until Turbo (viewflow's page navigation) has finished its visit: it marks <html> busy."""
    expect(page.locator("html")).not_to_have_attribute("aria-busy", "true")
    return page


def log_in(page, username):
    if "/accounts/login/" not in page.url:
        page.goto("/accounts/login/?next=/orders/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("pw-test-123")
    page.get_by_role("button", name="Log in").click()
    settled(page)
    expect(page).to_have_url("/orders/")


@pytest.fixture
def shop(transactional_db):
    warehouse = LocationFactory(code="WH1", name="Central warehouse", priority=1)
    kettle = ProductFactory(sku="KET-1", name="Kettle")
    stock_receive(
        location=warehouse,
        reference="opening",
        lines=[ReceiptLine(product=kettle, quantity=10, unit_cost=Decimal("9.00"))],
    )
    allocated = intake(kettle, 3, "WEB-1001")
    backordered = intake(kettle, 50, "WEB-1002")
    clerk = UserFactory(username="clerk", first_name="Cleo", last_name="Clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_order",
                "transition_order",
                "view_stocklevel",
                "view_stockmovement",
                "view_all_locations",
            ]
        )
    )
    return {"warehouse": warehouse, "kettle": kettle, "allocated": allocated, "backordered": backordered}


@pytest.mark.browser
def test_a_clerk_picks_and_ships_an_order_and_sees_the_stock_fall(page, shop):
    allocated = shop["allocated"]

    # given: the clerk logs in
    page.goto("/orders/")
    expect(page).to_have_url("/accounts/login/?next=/orders/")
    log_in(page, "clerk")

    # when: they open Orders from the menu and filter by status
    page.locator(".vf-page__menu a.vf-page__menu-list-item", has_text="Orders").first.click()
    settled(page)
    expect(page.locator("table.vf-list__table tbody tr")).to_have_count(2)
    page.locator("a.ro-chip[data-status=allocated]").click()
    settled(page)
    expect(page).to_have_url("/orders/?status=allocated")
    rows = page.locator("table.vf-list__table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Allocated")
    page.screenshot(path=SHOTS / "ui-order-list.png")

    # and: open the allocated order, pick it, then ship it with carrier and tracking number
    page.get_by_role("link", name=allocated.number).click()
    settled(page)
    expect(page).to_have_url(f"/orders/{allocated.pk}/")
    status = page.get_by_test_id("order-status")
    expect(status).to_have_text("Allocated")
    expect(page.locator(".ro-actions button")).to_have_text(["Pick", "Ship", "Cancel order"])
    page.get_by_role("button", name="Pick").click()
    settled(page)
    expect(status).to_have_text("Picking")
    expect(page.locator(".ro-message--success")).to_have_text(f"Order {allocated.number} is now picking.")
    page.get_by_label("Carrier").fill("DHL")
    page.get_by_label("Tracking number").fill("JD014600003828")
    page.get_by_role("button", name="Ship").click()
    settled(page)

    # then: the order is shipped, its history tells the story oldest first
    expect(status).to_have_text("Shipped")
    expect(page.locator(".ro-actions button")).to_have_text(["Deliver"])
    history = page.get_by_test_id("order-history").locator("tbody tr")
    expect(history).to_have_count(4)
    cells = [[c.strip() for c in row.locator("td").all_inner_texts()[1:]] for row in history.all()]
    assert cells == [
        ["—", "Received", "system", "order received"],
        ["Received", "Allocated", "system", "stock reserved"],
        ["Allocated", "Picking", "clerk", "picking started"],
        ["Picking", "Shipped", "clerk", "shipped"],
    ]
    expect(page.locator(".ro-fields")).to_contain_text("DHL")
    expect(page.get_by_test_id("order-lines")).to_contain_text("WH1 × 3 (consumed)")
    page.screenshot(path=SHOTS / "ui-order-detail.png", full_page=True)

    # and: Stock shows on_hand down by the 3 shipped (10 → 7), nothing left reserved
    page.locator(".vf-page__menu a.vf-page__menu-list-item", has_text="Stock").first.click()
    settled(page)
    expect(page).to_have_url("/stock/levels/")
    level_row = page.locator("table.vf-list__table tbody tr", has_text="KET-1")
    expect(level_row).to_have_count(1)
    page.screenshot(path=SHOTS / "ui-stock-levels.png")
    assert [c.strip() for c in level_row.locator("td").all_inner_texts()] == ["KET-1", "Kettle", "WH1", "7", "0", "7"]
    level = StockLevel.objects.get(product=shop["kettle"], location=shop["warehouse"])
    assert (level.on_hand, level.reserved) == (7, 0)


@pytest.mark.browser
def test_a_button_on_a_stale_page_shows_the_refusal_and_changes_nothing(page, shop):
    allocated = shop["allocated"]
    log_in(page, "clerk")
    page.goto(f"/orders/{allocated.pk}/")
    expect(page.get_by_role("button", name="Pick")).to_be_visible()

    # when: the order is cancelled elsewhere while this page still offers Pick
    order_cancel(order_id=allocated.pk, reason="customer called")
    page.get_by_role("button", name="Pick").click()
    settled(page)

    # then: the refusal is shown in the page, the order stays cancelled, and no button is left
    expect(page.locator(".ro-message--error")).to_have_text(
        f"Order {allocated.number} cannot pick from status 'cancelled'"
    )
    expect(page.get_by_test_id("order-status")).to_have_text("Cancelled")
    expect(page.locator(".ro-actions")).to_have_count(0)
    assert list(
        OrderHistory.objects.filter(order=allocated).order_by("at", "id").values_list("to_status", flat=True)
    ) == ["received", "allocated", "cancelled"]


@pytest.mark.browser
def test_the_filter_drawer_searches_by_external_id(page, shop):
    log_in(page, "clerk")

    page.locator("vf-list-filter-trigger").click()
    page.get_by_label("Number, external id or email").fill("WEB-1002")
    page.get_by_role("button", name="Filter").click()
    settled(page)

    expect(page).to_have_url(re.compile(r"/orders/\?.*search=WEB-1002"))
    rows = page.locator("table.vf-list__table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(shop["backordered"].number)
    expect(rows.first).to_contain_text("Backordered")
