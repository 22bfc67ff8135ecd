from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from apps.accounts.roles import FINANCE, OPS_ADMIN
from apps.approvals.models import ApprovalRequest, ApprovalTask
from apps.approvals.services import approval_task_approve, approval_task_claim
from apps.core.currency import exchange_rate_set
from apps.core.errors import DomainError, InvalidTransition
from apps.core.models import Incident, OutboxEvent
from apps.stock.models import StockLevel, StockMovement
from apps.suppliers import services
from apps.suppliers.models import GoodsReceipt, PurchaseOrderLine, SupplierInvoice
from tests.suppliers.helpers import SupplierFactory, event_names, role_user, sent_po

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer():
    return role_user("buyer", OPS_ADMIN)


@pytest.fixture
def supplier():
    return SupplierFactory(code="ACME")


def receive(po, *quantities, actor=None):
    lines = list(po.lines.order_by("line_no"))
    return services.purchase_order_receive(
        po_id=po.pk,
        lines=[
            services.ReceiveLineInput(line_id=ln.pk, quantity=q) for ln, q in zip(lines, quantities, strict=True) if q
        ],
        actor=actor,
    )


def invoice(supplier, po, *lines, number="INV-1", on=None):
    """lines: (quantity, unit_price) per PO line, in line order."""
    po_lines = list(po.lines.order_by("line_no"))
    return services.supplier_invoice_create(
        supplier=supplier,
        number=number,
        invoice_date=on or date.today(),
        lines=[
            services.InvoiceLineInput(po_line_id=pl.pk, quantity=q, unit_price=Decimal(p))
            for pl, (q, p) in zip(po_lines, lines, strict=True)
        ],
        actor=None,
    )


def test_a_partial_then_a_complete_receipt_post_stock_and_move_the_po(buyer, supplier, warehouse, make_products):
    a, b = make_products(2)
    po = sent_po(supplier, warehouse, [(a, 10, "2.00"), (b, 5, "3.00")], buyer=buyer)

    receive(po, 4, 0, actor=buyer)
    assert po.__class__.objects.get(pk=po.pk).status == "partially_received"
    receive(po, 6, 5, actor=buyer)

    po.refresh_from_db()
    assert po.status == "received"
    assert sorted(StockLevel.objects.filter(location=warehouse).values_list("product_id", "on_hand")) == sorted(
        [(a.pk, 10), (b.pk, 5)]
    )
    assert list(po.lines.order_by("line_no").values_list("received_quantity", flat=True)) == [10, 5]
    receipts = OutboxEvent.objects.filter(name="stock.receipt.posted").order_by("id")
    assert [(e.payload["source"], e.payload["source_id"]) for e in receipts] == [("purchase_order", po.pk)] * 2


def test_over_receipt_is_refused_and_nothing_is_written(buyer, supplier, warehouse, product):
    po = sent_po(supplier, warehouse, [(product, 10, "2.00")], buyer=buyer)
    receive(po, 8)

    with pytest.raises(DomainError) as err:
        receive(po, 3)

    assert err.value.code == "over_receipt"
    assert PurchaseOrderLine.objects.get(purchase_order=po).received_quantity == 8
    assert GoodsReceipt.objects.count() == 1
    assert StockMovement.objects.filter(product=product).count() == 1


@override_settings(PO_OVER_RECEIPT_TOLERANCE_PCT=Decimal("10"))
def test_over_receipt_within_the_tolerance_is_taken(buyer, supplier, warehouse, product):
    po = sent_po(supplier, warehouse, [(product, 10, "2.00")], buyer=buyer)

    receive(po, 11)

    assert PurchaseOrderLine.objects.get(purchase_order=po).received_quantity == 11
    with pytest.raises(DomainError):
        receive(po, 1)


def test_goods_are_valued_at_the_landed_cost_in_company_currency_of_the_receipt_date(buyer, warehouse, product):
    eur = SupplierFactory(code="EU", currency="EUR")
    exchange_rate_set(currency="EUR", on=date(2020, 1, 1), rate=Decimal("1.0800"))
    po = sent_po(eur, warehouse, [(product, 4, "10.00")], buyer=buyer)

    receipt = receive(po, 4)

    assert receipt.lines.get().landed_unit_cost == Decimal("10.80")
    event = OutboxEvent.objects.get(name="stock.receipt.posted")
    assert event.payload["lines"][0]["unit_cost"] == "10.80"


def test_receiving_a_po_that_was_not_sent_is_refused(buyer, supplier, warehouse, product):
    from tests.suppliers.helpers import draft_po

    po = draft_po(supplier, warehouse, [(product, 1, "1.00")], actor=buyer)

    with pytest.raises(InvalidTransition):
        receive(po, 1)
    assert not GoodsReceipt.objects.exists()


def test_a_receipt_allocates_a_waiting_backorder_through_the_stock_service(buyer, supplier, warehouse, product):
    po = sent_po(supplier, warehouse, [(product, 3, "1.00")], buyer=buyer)

    receive(po, 3)

    event = OutboxEvent.objects.get(name="stock.receipt.posted")
    assert event.payload["product_ids"] == [product.pk]  # the orders handler allocates backorders on this


# --- three-way match -----------------------------------------------------------------------------
def test_an_invoice_at_po_price_for_received_goods_matches_and_is_announced(buyer, supplier, warehouse, product):
    po = sent_po(supplier, warehouse, [(product, 10, "2.00")], buyer=buyer)
    receive(po, 10)

    inv = invoice(supplier, po, (10, "2.04"))  # +2 % is inside the price tolerance

    assert (inv.status, inv.first_pass_matched, inv.total) == ("matched", True, Decimal("20.40"))
    assert PurchaseOrderLine.objects.get(purchase_order=po).invoiced_quantity == 10
    event = OutboxEvent.objects.get(name="suppliers.invoice.matched")
    assert event.payload["lines"] == [
        {
            "product_id": product.pk,
            "sku": product.sku,
            "quantity": 10,
            "received_value": "20.00",
            "received_unit_cost": "2.00",
            "invoice_unit_cost": "2.04",
        }
    ]
    assert (event.payload["total"], event.payload["total_document_currency"]) == ("20.40", "20.40")
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "received, billed, price, result",
    [
        (10, 10, "2.05", "price_variance"),
        (6, 10, "2.00", "billed_more_than_received"),
        (0, 5, "2.00", "no_receipt"),
    ],
    ids=["price +2.5%", "billed more than received", "no receipt"],
)
def test_each_mismatch_is_an_exception_with_its_reason_and_an_incident_for_finance(
    buyer, supplier, warehouse, product, received, billed, price, result
):
    po = sent_po(supplier, warehouse, [(product, 10, "2.00")], buyer=buyer)
    if received:
        receive(po, received)

    inv = invoice(supplier, po, (billed, price))

    assert inv.status == "exception"
    assert list(inv.lines.values_list("result", flat=True)) == [result]
    incident = Incident.objects.get(kind=services.INCIDENT_INVOICE_EXCEPTION)
    assert (incident.owner_team, incident.details["lines"][0]["result"]) == ("finance", result)
    assert not OutboxEvent.objects.filter(name="suppliers.invoice.matched").exists()
    assert PurchaseOrderLine.objects.get(purchase_order=po).invoiced_quantity == 0


def test_an_unknown_po_line_is_an_exception(buyer, supplier, warehouse, product):
    inv = services.supplier_invoice_create(
        supplier=supplier,
        number="X-9",
        invoice_date=date.today(),
        lines=[services.InvoiceLineInput(po_reference="PO-999999", sku="NOPE", quantity=1, unit_price=Decimal("1"))],
        actor=None,
    )

    assert (inv.status, inv.lines.get().result) == ("exception", "unknown_po_line")


def test_a_second_invoice_for_the_same_goods_is_billed_more_than_received(buyer, supplier, warehouse, product):
    po = sent_po(supplier, warehouse, [(product, 10, "2.00")], buyer=buyer)
    receive(po, 10)
    invoice(supplier, po, (10, "2.00"), number="A")

    second = invoice(supplier, po, (1, "2.00"), number="B")

    assert list(second.lines.values_list("result", flat=True)) == ["billed_more_than_received"]


def test_a_duplicate_invoice_number_per_supplier_is_refused_and_writes_nothing(buyer, supplier, warehouse, product):
    po = sent_po(supplier, warehouse, [(product, 10, "2.00")], buyer=buyer)
    receive(po, 10)
    invoice(supplier, po, (5, "2.00"), number="INV-7")

    with pytest.raises(DomainError) as err:
        invoice(supplier, po, (5, "2.00"), number="INV-7")

    assert err.value.code == "duplicate_invoice"
    assert SupplierInvoice.objects.count() == 1
    assert PurchaseOrderLine.objects.get(purchase_order=po).invoiced_quantity == 5
    assert OutboxEvent.objects.filter(name="suppliers.invoice.matched").count() == 1
    # Another supplier may use the same number.
    other = SupplierFactory(code="OTHER")
    services.supplier_invoice_create(
        supplier=other,
        number="INV-7",
        invoice_date=date.today(),
        lines=[services.InvoiceLineInput(po_reference="", sku="", quantity=1, unit_price=Decimal("1"))],
        actor=None,
    )
    assert SupplierInvoice.objects.count() == 2


def test_finance_accepts_a_price_variance_through_the_approval_engine(buyer, supplier, warehouse, product):
    po = sent_po(supplier, warehouse, [(product, 10, "2.00")], buyer=buyer)
    receive(po, 10)
    inv = invoice(supplier, po, (10, "2.50"))
    clerk, controller = role_user("clerk", FINANCE), role_user("controller", FINANCE)

    services.supplier_invoice_request_acceptance(invoice_id=inv.pk, actor=clerk, comment="freight surcharge agreed")
    request = ApprovalRequest.objects.get(subject_type=services.SUBJECT_INVOICE_VARIANCE)
    assert request.value == Decimal("5.00")
    task = ApprovalTask.objects.get(process=request, status="NEW")
    approval_task_claim(task_id=task.pk, user=controller)
    approval_task_approve(task_id=task.pk, user=controller)

    inv.refresh_from_db()
    assert (inv.status, inv.payable, inv.first_pass_matched) == ("accepted", True, False)
    event = OutboxEvent.objects.get(name="suppliers.invoice.matched")
    assert event.payload["lines"][0]["invoice_unit_cost"] == "2.50"
    assert PurchaseOrderLine.objects.get(purchase_order=po).invoiced_quantity == 10


def test_an_invoice_without_a_rate_for_its_date_is_refused(buyer, warehouse, product):
    eur = SupplierFactory(code="EU", currency="EUR")
    exchange_rate_set(currency="EUR", on=date(2026, 6, 1), rate=Decimal("1.1"))

    with pytest.raises(DomainError):
        services.supplier_invoice_create(
            supplier=eur,
            number="E-1",
            invoice_date=date(2026, 5, 31),
            lines=[services.InvoiceLineInput(quantity=1, unit_price=Decimal("1"))],
            actor=None,
        )
    assert not SupplierInvoice.objects.exists()
    assert event_names("suppliers.invoice") == []


def _by_reference(supplier, po, number, unit_price="2.00"):
    """An invoice that names its lines the way suppliers write them: PO number + sku (no line ids)."""
    with CaptureQueriesContext(connection) as queries:
        inv = services.supplier_invoice_create(
            supplier=supplier,
            number=number,
            invoice_date=date.today(),
            lines=[
                services.InvoiceLineInput(
                    po_reference=po.number.lower(),
                    sku=pl.product.sku,
                    quantity=pl.quantity,
                    unit_price=Decimal(unit_price),
                )
                for pl in po.lines.select_related("product").order_by("line_no")
            ],
            actor=None,
        )
    return inv, len(queries)


def test_an_invoice_costs_the_same_queries_for_two_lines_or_six_named_by_po_number_and_sku(
    buyer, supplier, warehouse, make_products
):
    products = make_products(6)
    small = sent_po(supplier, warehouse, [(p, 5, "2.00") for p in products[:2]], buyer=buyer)
    large = sent_po(supplier, warehouse, [(p, 5, "2.00") for p in products], buyer=buyer)
    receive(small, 5, 5)
    receive(large, *[5] * 6)

    two, queries_for_two = _by_reference(supplier, small, "R-2")
    six, queries_for_six = _by_reference(supplier, large, "R-6")

    assert (two.status, six.status) == ("matched", "matched")
    assert sorted(six.lines.values_list("po_line_id", flat=True)) == sorted(large.lines.values_list("pk", flat=True))
    assert queries_for_six == queries_for_two
