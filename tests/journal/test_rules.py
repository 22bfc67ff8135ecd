"""Every posting rule, driven by the real services (or hand-built events for emitters that land
elsewhere), relayed through the outbox as in production."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import override_settings

from apps.journal.models import JournalEntry, ProductCost
from apps.orders import services as order_services
from apps.returns import services as return_services
from apps.stock import services as stock_services
from apps.stock.models import StockMovement
from apps.stock.services import AdjustmentLineInput, ReceiptLine, TransferLineInput
from tests.factories import ProductFactory, UserFactory
from tests.journal.helpers import D, by_location, emit, entry_for, ledger_counts, relay, sides
from tests.orders.helpers import order_input
from tests.returns.helpers import il, rl

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk", is_staff=True, is_superuser=True)


def receive(location, product, quantity, unit_cost, *, source="manual", source_id=None):
    receipt = stock_services.stock_receive(
        location=location,
        reference="test receipt",
        lines=[ReceiptLine(product=product, quantity=quantity, unit_cost=Decimal(unit_cost))],
        source=source,
        source_id=source_id,
    )
    relay()
    return receipt


def ship(lines, *, external_id="EXT-1", unit_price="10.00", channel="web", payment_method="card", amount=None):
    data = order_input(lines, external_id=external_id, unit_price=unit_price, channel=channel)
    data = data.__class__(**{**data.__dict__, "payment_method": payment_method, "payment_amount": amount})
    order, _ = order_services.order_create(data=data)
    order_services.order_ship(order_id=order.pk)
    relay()
    return order


# --- receipts and moving average cost ------------------------------------------------------------
@pytest.mark.parametrize(
    "source, credit_account",
    [pytest.param("purchase_order", "2100", id="purchase-order-to-GRNI"), pytest.param("opening", "3000", id="other")],
)
def test_a_receipt_debits_inventory_and_credits_grni_or_opening_equity(warehouse, product, source, credit_account):
    receipt = receive(
        warehouse, product, 10, "4.25", source=source, source_id=7 if source == "purchase_order" else None
    )
    entry = entry_for("stock.receipt", receipt.pk, "stock.receipt.posted")
    assert sides(entry) == {"1300": (D("42.50"), D("0")), credit_account: (D("0"), D("42.50"))}
    assert by_location(entry, "1300") == {"WH1": D("42.50")}
    cost = ProductCost.objects.get(product_id=product.pk, location="WH1")
    assert (cost.quantity, cost.value, cost.unit_cost) == (10, D("42.50"), D("4.2500"))


def test_receipts_move_the_average_and_a_sale_costs_at_it(warehouse, product):
    receive(warehouse, product, 10, "4.00")
    receive(warehouse, product, 5, "7.00")  # 75.00 / 15 = 5.00
    order = ship([(product, 3)])
    entry = entry_for("orders.order", order.pk, "orders.order.shipped")
    assert sides(entry)["5000"] == (D("15.00"), D("0"))
    assert sides(entry)["1300"] == (D("0"), D("15.00"))
    cost = ProductCost.objects.get(product_id=product.pk, location="WH1")
    assert (cost.quantity, cost.value, cost.unit_cost) == (12, D("60.00"), D("5.0000"))


# --- sales ---------------------------------------------------------------------------------------
def test_a_shipped_card_order_posts_clearing_revenue_by_channel_shipping_and_cogs(warehouse, product):
    receive(warehouse, product, 10, "4.00")
    order = ship([(product, 3)], amount=Decimal("34.95"))  # goods 30.00 + shipping 4.95
    entry = entry_for("orders.order", order.pk, "orders.order.shipped")
    assert sides(entry) == {
        "1100": (D("34.95"), D("0")),
        "4000": (D("0"), D("30.00")),
        "4100": (D("0"), D("4.95")),
        "5000": (D("12.00"), D("0")),
        "1300": (D("0"), D("12.00")),
    }
    assert entry.status == "posted"
    assert entry.date == order.updated_at.date()
    assert set(entry.lines.filter(account__code="4000").values_list("location", "channel")) == {("WH1", "web")}


def test_a_payment_below_the_goods_total_is_a_discount_off_revenue(warehouse, product):
    receive(warehouse, product, 10, "4.00")
    order = ship([(product, 3)], amount=Decimal("25.00"))  # goods 30.00
    entry = entry_for("orders.order", order.pk, "orders.order.shipped")
    assert sides(entry) == {
        "1100": (D("25.00"), D("0")),
        "4000": (D("0"), D("25.00")),
        "5000": (D("12.00"), D("0")),
        "1300": (D("0"), D("12.00")),
    }


@override_settings(JOURNAL_SALES_TAX_RATE=Decimal("0.20"))
def test_tax_is_split_out_of_tax_inclusive_prices_at_the_configured_rate(warehouse, product):
    receive(warehouse, product, 10, "4.00")
    order = ship([(product, 1)], unit_price="12.00", channel="marketplace", payment_method="marketplace")
    entry = entry_for("orders.order", order.pk, "orders.order.shipped")
    assert sides(entry)["1200"] == (D("12.00"), D("0"))  # marketplace pays later: receivable
    assert sides(entry)["4020"] == (D("0"), D("10.00"))
    assert sides(entry)["2200"] == (D("0"), D("2.00"))


def test_an_order_filled_from_two_locations_splits_revenue_and_cost_by_location(warehouse, store, product):
    receive(warehouse, product, 3, "4.00")
    receive(store, product, 4, "6.00")
    order = ship([(product, 6)])  # no single location has 6
    entry = entry_for("orders.order", order.pk, "orders.order.shipped")
    handed = {m.location.code: -m.quantity for m in StockMovement.objects.filter(kind="shipment")}
    assert sum(handed.values()) == 6 and set(handed) == {"WH1", "ST1"}
    assert by_location(entry, "4000") == {code: D(-10 * q) for code, q in handed.items()}
    assert by_location(entry, "5000") == {"WH1": D(4 * handed["WH1"]), "ST1": D(6 * handed["ST1"])}
    assert by_location(entry, "1300") == {"WH1": D(-4 * handed["WH1"]), "ST1": D(-6 * handed["ST1"])}


def test_a_pickup_posts_the_sale_at_the_store(store, product):
    receive(store, product, 5, "6.00")
    data = order_input([(product, 1)], channel="store", method="pickup", pickup=store)
    order, _ = order_services.order_create(data=data)
    order_services.order_mark_ready(order_id=order.pk)
    order_services.order_collect(order_id=order.pk)
    relay()
    entry = entry_for("orders.order", order.pk, "orders.order.picked_up")
    assert sides(entry) == {
        "1100": (D("10.00"), D("0")),
        "4010": (D("0"), D("10.00")),
        "5000": (D("6.00"), D("0")),
        "1300": (D("0"), D("6.00")),
    }
    assert by_location(entry, "4010") == {"ST1": D("-10.00")}


def test_events_that_post_nothing_leave_no_entry(warehouse, product):
    receive(warehouse, product, 10, "4.00")
    before = ledger_counts()
    order, _ = order_services.order_create(data=order_input([(product, 1)]))
    order_services.order_cancel(order_id=order.pk)
    relay()
    assert ledger_counts() == before


# --- returns and refunds -------------------------------------------------------------------------
def _returned(order, store, clerk, sku, qty, disposition, reason="damaged"):
    ret = return_services.return_create(
        order_id=order.pk, channel="store", reason=reason, lines=rl((sku, qty)), actor=clerk
    )
    return_services.return_receive(return_id=ret.pk, location=store, actor=clerk)
    ret = return_services.return_inspect(return_id=ret.pk, lines=il((sku, qty, disposition)), actor=clerk)
    relay()
    return ret


def test_a_restocked_return_puts_inventory_back_at_cost_against_cogs(warehouse, store, product, clerk):
    receive(warehouse, product, 10, "4.00")
    receive(store, product, 1, "4.00")
    order = ship([(product, 3)])
    ret = _returned(order, store, clerk, "SKU-A", 2, "restock")
    entry = entry_for("returns.return", ret.pk, "returns.return.inspected")
    assert sides(entry) == {"1300": (D("8.00"), D("0")), "5000": (D("0"), D("8.00"))}
    assert by_location(entry, "1300") == {"ST1": D("8.00")}
    assert ProductCost.objects.get(product_id=product.pk, location="ST1").quantity == 3


@pytest.mark.parametrize("disposition", ["write_off", "return_to_vendor"])
def test_a_scrapped_return_is_an_inventory_loss(warehouse, store, product, clerk, disposition):
    receive(warehouse, product, 10, "4.00")
    order = ship([(product, 3)])
    ret = _returned(order, store, clerk, "SKU-A", 3, disposition)
    entry = entry_for("returns.return", ret.pk, "returns.return.inspected")
    # the store never held this product: the average elsewhere (warehouse 4.00) values the loss
    assert sides(entry) == {"5100": (D("12.00"), D("0")), "5000": (D("0"), D("12.00"))}


def test_a_refurbished_return_posts_no_inspection_entry(warehouse, store, product, clerk):
    receive(warehouse, product, 10, "4.00")
    order = ship([(product, 3)])
    ret = _returned(order, store, clerk, "SKU-A", 1, "refurbish")
    assert not JournalEntry.objects.filter(source_type="returns.return", source_id=str(ret.pk)).exclude(
        event="returns.refund.approved"
    )


@override_settings(JOURNAL_SALES_TAX_RATE=Decimal("0.25"))
def test_an_approved_refund_is_contra_revenue_against_clearing(warehouse, store, product, clerk):
    receive(warehouse, product, 10, "4.00")
    order = ship([(product, 3)], amount=Decimal("34.95"))
    ret = _returned(order, store, clerk, "SKU-A", 2, "restock", reason="damaged")  # goods 20 + shipping 4.95
    entry = entry_for("returns.return", ret.pk, "returns.refund.approved")
    assert sides(entry) == {
        "4500": (D("16.00"), D("0")),
        "2200": (D("4.00"), D("0")),
        "4100": (D("4.95"), D("0")),
        "1100": (D("0"), D("24.95")),
    }


# --- stock adjustments and transfers -------------------------------------------------------------
def test_a_damage_adjustment_writes_off_at_average_cost(warehouse, product, clerk):
    receive(warehouse, product, 10, "4.00")
    adj = stock_services.stock_adjustment_create(
        location=warehouse,
        reason="damage",
        lines=[AdjustmentLineInput(product=product, quantity_delta=-2)],
        requested_by=clerk,
    )
    relay()
    entry = entry_for("stock.adjustment", adj.pk, "stock.adjustment.posted")
    assert sides(entry) == {"5100": (D("8.00"), D("0")), "1300": (D("0"), D("8.00"))}


def test_found_stock_comes_in_at_average_cost_against_inventory_adjustments(warehouse, product, clerk):
    receive(warehouse, product, 10, "4.00")
    adj = stock_services.stock_adjustment_create(
        location=warehouse,
        reason="found",
        lines=[AdjustmentLineInput(product=product, quantity_delta=3)],
        requested_by=clerk,
    )
    relay()
    entry = entry_for("stock.adjustment", adj.pk, "stock.adjustment.posted")
    assert sides(entry) == {"1300": (D("12.00"), D("0")), "3100": (D("0"), D("12.00"))}


def test_a_transfer_moves_value_through_transit_and_a_short_receipt_is_a_loss(warehouse, store, product, clerk):
    receive(warehouse, product, 10, "4.00")
    transfer = stock_services.stock_transfer_create(
        source=warehouse, destination=store, lines=[TransferLineInput(product=product, quantity=5)], requested_by=clerk
    )
    stock_services.stock_transfer_submit(transfer_id=transfer.pk, actor=clerk)
    stock_services.stock_transfer_pick(transfer_id=transfer.pk, actor=clerk)
    stock_services.stock_transfer_dispatch(transfer_id=transfer.pk, actor=clerk)
    relay()
    out = entry_for("stock.transfer", transfer.pk, "stock.transfer.dispatched")
    assert sides(out) == {"1310": (D("20.00"), D("0")), "1300": (D("0"), D("20.00"))}
    stock_services.stock_transfer_receive(transfer_id=transfer.pk, actor=clerk, received={product.pk: 4})
    relay()
    got = entry_for("stock.transfer", transfer.pk, "stock.transfer.received")
    assert sides(got) == {"1300": (D("16.00"), D("0")), "1310": (D("0"), D("20.00")), "5100": (D("4.00"), D("0"))}
    assert by_location(got, "1300") == {"ST1": D("16.00")}
    assert ProductCost.objects.get(product_id=product.pk, location="ST1").quantity == 4


# --- procurement and payouts (hand-built events: their emitters land in parallel) ------------------
INVOICE = {
    "invoice_id": 41,
    "supplier_code": "ACME",
    "invoice_number": "INV-9",
    "invoice_date": "2026-11-10",
    "currency": "EUR",
    "lines": [
        {"product_id": 1, "sku": "SKU-A", "quantity": 10, "received_unit_cost": "4.00", "invoice_unit_cost": "4.10"},
        {"product_id": 2, "sku": "SKU-B", "quantity": 5, "received_unit_cost": "2.00", "invoice_unit_cost": "1.90"},
    ],
    "total": "50.50",
    "total_document_currency": "46.00",
}


def test_a_matched_supplier_invoice_clears_grni_into_payables_with_the_price_variance():
    emit("suppliers.invoice.matched", INVOICE, aggregate_type="suppliers.invoice", aggregate_id=41)
    relay()
    entry = entry_for("suppliers.invoice", 41, "suppliers.invoice.matched")
    assert sides(entry) == {"2100": (D("50.00"), D("0")), "5200": (D("0.50"), D("0")), "2000": (D("0"), D("50.50"))}
    assert entry.date == date(2026, 11, 10)


def test_an_invoice_below_receipt_cost_credits_the_variance():
    payload = {**INVOICE, "invoice_id": 42, "total": "49.00"}
    emit("suppliers.invoice.matched", payload)
    relay()
    entry = entry_for("suppliers.invoice", 42, "suppliers.invoice.matched")
    assert sides(entry) == {"2100": (D("50.00"), D("0")), "5200": (D("0"), D("1.00")), "2000": (D("0"), D("49.00"))}


PAYOUT = {
    "payout_id": "po_1Abc",
    "currency": "USD",
    "charges": "1000.00",
    "refunds": "50.00",
    "fees": "29.30",
    "net": "920.70",
    "paid_on": "2026-11-12",
    "run_id": 3,
}


def test_a_settled_payout_debits_bank_and_fees_against_card_clearing():
    emit("reconciliation.payout.settled", PAYOUT)
    relay()
    entry = entry_for("reconciliation.payout", "po_1Abc", "reconciliation.payout.settled")
    assert sides(entry) == {
        "1000": (D("920.70"), D("0")),
        "6000": (D("29.30"), D("0")),
        "1100": (D("0"), D("950.00")),
    }
    assert entry.date == date(2026, 11, 12)


def test_a_payout_in_a_foreign_currency_is_converted_at_the_paid_on_rate():
    from apps.core.currency import exchange_rate_set

    exchange_rate_set(currency="EUR", on=date(2026, 11, 1), rate=Decimal("1.1"))
    emit("reconciliation.payout.settled", {**PAYOUT, "payout_id": "po_eur", "currency": "EUR"})
    relay()
    entry = entry_for("reconciliation.payout", "po_eur", "reconciliation.payout.settled")
    assert sides(entry) == {
        "1000": (D("1012.77"), D("0")),
        "6000": (D("32.23"), D("0")),
        "1100": (D("0"), D("1045.00")),
    }
    bank = entry.lines.get(account__code="1000")
    assert (bank.currency, bank.amount) == ("EUR", D("920.70"))


def test_a_payout_that_does_not_add_up_posts_nothing_and_the_event_retries():
    from apps.core.models import OutboxEvent

    emit("reconciliation.payout.settled", {**PAYOUT, "payout_id": "po_bad", "net": "900.00"})
    relay()
    assert not JournalEntry.objects.filter(source_id="po_bad").exists()
    event = OutboxEvent.objects.get(name="reconciliation.payout.settled")
    assert event.status == "pending"
    assert "unbalanced_entry" in event.last_error or "does not balance" in event.last_error


def test_an_unknown_exchange_rate_posts_nothing():
    emit("reconciliation.payout.settled", {**PAYOUT, "payout_id": "po_gbp", "currency": "GBP"})
    relay()
    assert not JournalEntry.objects.filter(source_id="po_gbp").exists()


def test_products_without_payload_fields_are_ignored_not_guessed(warehouse):
    before = ledger_counts()
    emit("stock.receipt.posted", {"receipt_id": 99, "location": "WH1", "lines": [{"sku": "X", "quantity": 1}]})
    relay()
    assert ledger_counts() == before


def test_a_second_product_is_tracked_separately(warehouse, product):
    other = ProductFactory(sku="SKU-B")
    receive(warehouse, product, 2, "4.00")
    receive(warehouse, other, 2, "9.00")
    assert ProductCost.objects.get(product_id=other.pk).unit_cost == D("9.0000")
