"""The store return desk in a real browser: a store manager finds a delivered web order by its number,
takes two units back at the store, and the return is authorized, received and inspected in one flow,
with the restocked units on hand at the store."""

import re

import pytest
from playwright.sync_api import expect

from apps.returns.models import Return
from apps.stock.models import StockLevel
from apps.stock.services import stock_verify_invariants
from tests.approvals.helpers import person
from tests.browser.test_approvals import log_in, settled
from tests.factories import LocationFactory, ProductFactory, StoreFactory
from tests.returns.helpers import shipped_order

DESK = "/returns/returns/desk/"


@pytest.fixture
def shop(transactional_db, receive):
    warehouse, store = LocationFactory(code="WH1"), StoreFactory(code="ST1", name="High Street")
    kettle = ProductFactory(sku="KET-1", name="Kettle")
    receive(warehouse, kettle, 10)
    order = shipped_order([(kettle, 3)], external_id="WEB-77")
    sam = person("sam", "store_manager", locations=[store])
    return {"store": store, "kettle": kettle, "order": order, "sam": sam}


def test_a_store_manager_takes_a_return_at_the_desk(page, shop):
    order = shop["order"]
    log_in(page, "sam", DESK)
    page.get_by_label("Find order").fill(order.number)
    page.get_by_role("button", name="Find order").click()
    settled(page)
    page.get_by_test_id(f"pick-order-{order.number}").click()
    settled(page)
    expect(page.get_by_test_id("desk-lines")).to_contain_text("KET-1")
    page.get_by_label("Quantity KET-1").fill("2")
    page.get_by_label("Disposition KET-1").select_option("restock")
    page.get_by_label("Reason").select_option("damaged")
    page.get_by_label("Location").select_option("ST1")
    page.get_by_test_id("desk-submit").click()
    expect(page).to_have_url(re.compile(r"/returns/returns/\d+/$"))
    settled(page)

    ret = Return.objects.get()
    expect(page.get_by_test_id("return-status")).to_have_text("Refund pending")
    expect(page.get_by_test_id("return-band")).to_have_text("Auto-authorize")
    expect(page.get_by_test_id("return-reasons")).to_contain_text("days_since_handover")
    expect(page.get_by_test_id("return-refund")).to_have_text("20.00 USD")
    expect(page.get_by_test_id("return-history")).to_contain_text("received at ST1")
    assert (ret.status, ret.channel, ret.location_id) == ("refund_pending", "store", shop["store"].pk)
    assert StockLevel.objects.get(location=shop["store"], product=shop["kettle"]).on_hand == 2
    assert stock_verify_invariants() == []


def test_the_desk_refuses_more_than_was_shipped(page, shop):
    order = shop["order"]
    log_in(page, "sam", f"{DESK}?order={order.pk}")
    page.get_by_label("Quantity KET-1").evaluate("el => el.removeAttribute('max')")
    page.get_by_label("Quantity KET-1").fill("5")
    page.get_by_test_id("desk-submit").click()
    expect(page.locator("body")).to_contain_text("More than was shipped and not yet returned")
    assert Return.objects.count() == 0
