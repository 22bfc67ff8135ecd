"""Procurement on PostgreSQL with real threads: the last open quantity is received once; two invoices
for the same goods cannot both pass; two replenishment runs propose once."""

import pytest
from django.db import connection

from apps.accounts.roles import OPS_ADMIN
from apps.core.errors import DomainError
from apps.stock.models import StockLevel, StockMovement
from apps.suppliers import services
from apps.suppliers.models import GoodsReceipt, PurchaseOrder, PurchaseOrderLine
from tests.orders.test_concurrency import run_concurrently
from tests.suppliers.helpers import SupplierFactory, role_user, sent_po

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_receipts_of_the_last_open_quantity_at_once_receive_it_once(warehouse, make_products):
    # given: line 1 has 10 ordered and 6 received, line 2 is still open; two docks receive the
    # remaining 4 of line 1 at the same moment
    assert connection.vendor == "postgresql"
    a, b = make_products(2)
    buyer = role_user("buyer", OPS_ADMIN)
    po = sent_po(SupplierFactory(), warehouse, [(a, 10, "2.00"), (b, 5, "1.00")], buyer=buyer)
    line = po.lines.get(line_no=1)
    services.purchase_order_receive(po_id=po.pk, lines=[services.ReceiveLineInput(line.pk, 6)], actor=buyer)

    results = run_concurrently(
        lambda: (
            services.purchase_order_receive(po_id=po.pk, lines=[services.ReceiveLineInput(line.pk, 4)], actor=buyer).pk
        ),
        [(), ()],
        workers=2,
    )

    # then: one receipt posted, the other refused as an over-receipt; stock and PO agree
    assert sorted(type(r).__name__ for r in results) == ["DomainError", "int"]
    assert [r.code for r in results if isinstance(r, DomainError)] == ["over_receipt"]
    assert PurchaseOrderLine.objects.get(pk=line.pk).received_quantity == 10
    assert PurchaseOrder.objects.get(pk=po.pk).status == "partially_received"
    assert GoodsReceipt.objects.count() == 2
    assert StockLevel.objects.get(location=warehouse, product=a).on_hand == 10
    assert StockMovement.objects.filter(product=a).count() == 2


def test_two_invoices_for_the_same_received_goods_at_once_match_once(warehouse, product):
    from datetime import date
    from decimal import Decimal

    buyer = role_user("buyer", OPS_ADMIN)
    supplier = SupplierFactory()
    po = sent_po(supplier, warehouse, [(product, 10, "2.00")], buyer=buyer)
    line = po.lines.get()
    services.purchase_order_receive(po_id=po.pk, lines=[services.ReceiveLineInput(line.pk, 10)], actor=buyer)

    results = run_concurrently(
        lambda number: (
            services.supplier_invoice_create(
                supplier=supplier,
                number=number,
                invoice_date=date.today(),
                lines=[services.InvoiceLineInput(po_line_id=line.pk, quantity=10, unit_price=Decimal("2.00"))],
                actor=None,
            ).status
        ),
        [("A",), ("B",)],
        workers=2,
    )

    assert sorted(results) == ["exception", "matched"]
    assert PurchaseOrderLine.objects.get(pk=line.pk).invoiced_quantity == 10


def test_two_replenishment_runs_at_once_propose_one_order(warehouse, product):
    from decimal import Decimal

    supplier = SupplierFactory()
    services.supplier_product_set(
        supplier=supplier, product=product, supplier_sku="S-1", cost=Decimal("1.00"), preferred=True
    )
    services.reorder_rule_set(location=warehouse, product=product, reorder_point=5, order_up_to=20)

    results = run_concurrently(lambda: len(services.purchase_orders_propose()), [(), ()], workers=2)

    assert sorted(results) == [0, 1]
    assert PurchaseOrder.objects.filter(proposed=True).count() == 1
