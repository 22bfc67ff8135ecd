from datetime import date, timedelta
from decimal import Decimal

import pytest

from apps.accounts.roles import OPS_ADMIN
from apps.core.models import Incident
from apps.suppliers import selectors, services
from apps.suppliers.models import PurchaseOrder
from tests.factories import LocationFactory
from tests.suppliers.helpers import SupplierFactory, role_user, sent_po

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "need, moq, pack, expected",
    [(7, 1, 1, 7), (7, 1, 6, 12), (7, 10, 1, 10), (7, 10, 6, 12), (13, 10, 6, 18), (12, 12, 12, 12)],
    ids=["plain", "packs of 6", "moq 10", "moq 10 in packs of 6", "13 in packs", "exact"],
)
def test_order_quantities_round_up_to_moq_and_whole_packs(need, moq, pack, expected):
    assert services._round_order_quantity(need, moq=moq, pack=pack) == expected


def test_replenishment_drafts_one_po_per_supplier_counting_stock_and_what_is_on_order(
    warehouse, make_products, receive
):
    a, b, c = make_products(3)
    preferred, cheap, other = SupplierFactory(code="PREF"), SupplierFactory(code="CHEAP"), SupplierFactory(code="OTHER")
    services.supplier_product_set(
        supplier=preferred, product=a, supplier_sku="P-A", cost=Decimal("5"), pack_size=6, preferred=True
    )
    services.supplier_product_set(supplier=cheap, product=a, supplier_sku="C-A", cost=Decimal("4"))
    services.supplier_product_set(
        supplier=preferred, product=b, supplier_sku="P-B", cost=Decimal("2"), min_order_qty=50
    )
    services.supplier_product_set(supplier=other, product=c, supplier_sku="O-C", cost=Decimal("1"))
    receive(warehouse, a, 3)
    receive(warehouse, b, 30)
    receive(warehouse, c, 40)
    for product in (a, b, c):
        services.reorder_rule_set(location=warehouse, product=product, reorder_point=10, order_up_to=40)

    created = services.purchase_orders_propose()

    # a: 40 − 3 = 37 → packs of 6 → 42; b: above its reorder point (30 > 10); c: 40 on hand
    assert [(po.supplier.code, po.status, po.proposed) for po in created] == [("PREF", "draft", True)]
    assert list(created[0].lines.values_list("product_id", "quantity", "unit_cost")) == [(a.pk, 42, Decimal("5.00"))]
    # Running it again finds the draft on order and proposes nothing.
    assert services.purchase_orders_propose() == []


def test_a_product_no_supplier_sells_is_not_proposed(warehouse, product):
    services.reorder_rule_set(location=warehouse, product=product, reorder_point=5, order_up_to=10)

    assert services.purchase_orders_propose() == []
    assert not PurchaseOrder.objects.exists()


def test_reorder_rules_are_for_warehouses(store, product):
    from apps.core.errors import DomainError

    with pytest.raises(DomainError):
        services.reorder_rule_set(location=store, product=product, reorder_point=1, order_up_to=5)


def test_the_suggestion_follows_demand_lead_time_and_safety_stock(warehouse, product):
    supplier = SupplierFactory(lead_time_days=4)
    services.supplier_product_set(
        supplier=supplier, product=product, supplier_sku="X", cost=Decimal("1"), preferred=True
    )

    # No sales: nothing to protect but the minimum spread of one unit.
    idle = selectors.reorder_rule_suggest(location=warehouse, product=product)

    assert (idle.daily_demand, idle.reorder_point, idle.order_up_to, idle.lead_time_days) == (Decimal("0.0"), 0, 1, 4)


def test_the_suggestion_from_sales_in_the_lookback(warehouse, product, receive):
    from apps.stock.services import stock_post_movements

    supplier = SupplierFactory(lead_time_days=9)
    services.supplier_product_set(
        supplier=supplier, product=product, supplier_sku="X", cost=Decimal("1"), preferred=True
    )
    receive(warehouse, product, 500)
    stock_post_movements(location=warehouse, changes=[(product, -56)], kind="shipment", reference="orders")
    stock_post_movements(location=warehouse, changes=[(product, -3)], kind="adjustment", reference="not demand")

    # Looking back 4 complete days from tomorrow: 0, 0, 0, 56 shipped → d = 14, σ = √(3·14² + 42²)/2 ≈ 24.25
    card = selectors.reorder_rule_suggest(
        location=warehouse, product=product, lookback_days=4, today=date.today() + timedelta(days=1)
    )

    assert (card.daily_demand, card.demand_std_dev, card.lead_time_days) == (Decimal("14.0"), Decimal("24.25"), 9)
    assert card.safety_stock == 121  # ⌈1.65 · 24.2487 · 3⌉ = ⌈120.03⌉
    assert (card.reorder_point, card.order_up_to) == (14 * 9 + 121, 14 * 9 + 121 + 14 * 7)


def test_the_jobs_run_as_tasks(warehouse, product):
    from apps.suppliers.tasks import purchase_orders_flag_overdue_task, purchase_orders_propose_task

    assert purchase_orders_flag_overdue_task.apply().get() == 0
    assert purchase_orders_propose_task.apply().get() == 0


def test_a_sent_po_past_its_expected_date_with_open_quantity_raises_one_incident(warehouse, product):
    buyer = role_user("buyer", OPS_ADMIN)
    po = sent_po(SupplierFactory(lead_time_days=3), warehouse, [(product, 5, "1.00")], buyer=buyer)
    late = po.expected_date + timedelta(days=2)

    assert services.purchase_orders_flag_overdue(today=po.expected_date) == 0
    assert services.purchase_orders_flag_overdue(today=late) == 1
    assert services.purchase_orders_flag_overdue(today=late) == 1  # counted again, still one incident

    incident = Incident.objects.get(kind=services.INCIDENT_PO_OVERDUE)
    assert (incident.occurrences, incident.details["open_quantity"], incident.location_id) == (2, 5, warehouse.pk)


def test_the_scorecard_counts_on_time_fill_match_and_lead_time(product):
    buyer = role_user("buyer", OPS_ADMIN)
    wh = LocationFactory(code="WH9")
    supplier = SupplierFactory(lead_time_days=0)
    on_time = sent_po(supplier, wh, [(product, 10, "1.00")], buyer=buyer)
    short = sent_po(supplier, wh, [(product, 10, "1.00")], buyer=buyer)
    services.purchase_order_receive(
        po_id=on_time.pk, lines=[services.ReceiveLineInput(on_time.lines.get().pk, 10)], actor=buyer
    )
    services.purchase_order_receive(
        po_id=short.pk, lines=[services.ReceiveLineInput(short.lines.get().pk, 5)], actor=buyer
    )
    services.supplier_invoice_create(
        supplier=supplier,
        number="OK",
        invoice_date=date.today(),
        lines=[services.InvoiceLineInput(po_line_id=on_time.lines.get().pk, quantity=10, unit_price=Decimal("1.00"))],
        actor=None,
    )
    services.supplier_invoice_create(
        supplier=supplier,
        number="BAD",
        invoice_date=date.today(),
        lines=[services.InvoiceLineInput(po_line_id=short.lines.get().pk, quantity=10, unit_price=Decimal("1.00"))],
        actor=None,
    )
    today = date.today()

    card = selectors.supplier_scorecard(
        supplier=supplier, start=today - timedelta(days=1), end=today + timedelta(days=1)
    )

    assert (card.lines_due, card.lines_on_time, card.on_time_delivery_rate) == (2, 1, Decimal("0.5000"))
    assert (card.ordered_quantity, card.received_quantity, card.fill_rate) == (20, 15, Decimal("0.7500"))
    assert (card.invoices, card.invoices_first_pass_matched, card.invoice_match_rate) == (2, 1, Decimal("0.5000"))
    assert (card.receipts, card.average_lead_time_days) == (2, Decimal("0.0"))
