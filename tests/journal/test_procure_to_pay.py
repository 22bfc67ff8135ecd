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
