"""Procure to pay through the real procurement services: the receipt credits GRNI, the matched invoice
clears it into payables with the price variance, and GRNI agrees with received-not-invoiced."""

from decimal import Decimal

import pytest

from apps.accounts.roles import OPS_ADMIN
from apps.journal import integrity
from apps.suppliers.selectors import received_not_invoiced_value
from tests.journal.helpers import D, entry_for, relay, sides
from tests.suppliers.helpers import SupplierFactory, role_user, sent_po
from tests.suppliers.test_receipts_and_invoices import invoice, receive

pytestmark = pytest.mark.django_db


def test_receipt_then_partial_invoice_keeps_grni_equal_to_received_not_invoiced(warehouse, product):
    buyer, supplier = role_user("buyer", OPS_ADMIN), SupplierFactory(code="ACME")
    po = sent_po(supplier, warehouse, [(product, 10, "2.00")], buyer=buyer)
    receive(po, 10)
    relay()
    assert -sum((d - c for d, c in [sides(e)["2100"] for e in _entries("stock.receipt")]), Decimal(0)) == D("20.00")
    assert integrity.check_grni().ok is True  # 20.00 received, nothing invoiced

    inv = invoice(supplier, po, (6, "2.04"))  # within the price tolerance
    relay()
    entry = entry_for("suppliers.invoice", inv.pk, "suppliers.invoice.matched")
    assert sides(entry) == {"2100": (D("12.00"), D("0")), "5200": (D("0.24"), D("0")), "2000": (D("0"), D("12.24"))}
    assert received_not_invoiced_value() == D("8.00")
    result = integrity.check_grni()
    assert (result.ok, result.figures["ledger"], result.figures["received_not_invoiced"]) == (True, "8.00", "8.00")


def _entries(source_type):
    from apps.journal.models import JournalEntry

    return list(JournalEntry.objects.filter(source_type=source_type))


def test_receipts_at_different_rates_are_relieved_first_in_first_out(warehouse, product):
    """10 units arrive at 1.10 EUR→USD, 10 more at 1.20; invoices for 5, then 10, then 5 relieve GRNI in
    receipt order, so GRNI equals received-not-invoiced after every step (no drift from averaging)."""
    from datetime import date

    from apps.core.currency import exchange_rate_set
    from apps.suppliers import services

    buyer, supplier = role_user("buyer", OPS_ADMIN), SupplierFactory(code="EU", currency="EUR")
    exchange_rate_set(currency="EUR", on=date(2020, 1, 1), rate=Decimal("1.10"))
    po = sent_po(supplier, warehouse, [(product, 20, "10.00")], buyer=buyer)
    line = po.lines.get()
    services.purchase_order_receive(po_id=po.pk, lines=[services.ReceiveLineInput(line.pk, 10)], actor=buyer)
    exchange_rate_set(currency="EUR", on=date.today(), rate=Decimal("1.20"))
    invoice(supplier, po, (5, "10.00"), number="A")  # 5 units of the 11.00 receipt
    services.purchase_order_receive(po_id=po.pk, lines=[services.ReceiveLineInput(line.pk, 10)], actor=buyer)
    relay()
    assert received_not_invoiced_value() == D("175.00")  # 5 × 11.00 + 10 × 12.00

    second = invoice(supplier, po, (10, "10.00"), number="B")  # 5 × 11.00 + 5 × 12.00
    relay()

    assert sides(entry_for("suppliers.invoice", second.pk, "suppliers.invoice.matched"))["2100"] == (
        D("115.00"),
        D("0"),
    )
    assert received_not_invoiced_value() == D("60.00")
    assert integrity.check_grni().ok is True
    invoice(supplier, po, (5, "10.00"), number="C")
    relay()
    assert received_not_invoiced_value() == D("0.00")
    result = integrity.check_grni()
    assert (result.ok, result.figures["ledger"]) == (True, "0.00")
