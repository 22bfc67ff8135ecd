"""The procurement part of the demo seed: suppliers, catalogues, rules, orders in every open status,
a matched invoice and an exception, and a replenishment run; all through the services."""

from decimal import Decimal

import pytest

from apps.approvals.models import ApprovalRequest
from apps.core.demo import seed_demo
from apps.core.models import ExchangeRate, Incident
from apps.stock.services import stock_verify_invariants
from apps.suppliers.models import (
    GoodsReceipt,
    PurchaseOrder,
    PurchaseOrderHistory,
    ReorderRule,
    Supplier,
    SupplierInvoice,
    SupplierInvoiceLine,
    SupplierProduct,
)

pytestmark = pytest.mark.django_db


def _procurement() -> dict:
    return {
        "statuses": sorted(PurchaseOrder.objects.filter(proposed=False).values_list("status", flat=True)),
        "proposed": sorted(PurchaseOrder.objects.filter(proposed=True).values_list("supplier__code", "location__code")),
        "totals": sorted(PurchaseOrder.objects.values_list("total", flat=True)),
        "invoices": sorted(SupplierInvoice.objects.values_list("number", "status", "total")),
        "catalogue": SupplierProduct.objects.count(),
        "rules": sorted(ReorderRule.objects.values_list("location__code", "product__sku", "reorder_point")),
    }


def test_the_demo_seeds_procurement_through_the_services():
    # when
    seed_demo(warehouses=2, stores=3, skus=40, orders=45, password="demo-pass-1")

    # then: five suppliers, one in EUR with its rates, every product with exactly one preferred supplier
    assert list(Supplier.objects.values_list("code", "currency")) == [
        ("ALPINA", "EUR"),
        ("HEARTH", "USD"),
        ("NORTHWIND", "USD"),
        ("STRIDE", "USD"),
        ("VOLTA", "USD"),
    ]
    assert ExchangeRate.objects.filter(currency="EUR").count() == 4
    assert SupplierProduct.objects.filter(preferred=True).count() == 40
    # orders in every open status, each reached through the services (one history row per change)
    assert _procurement()["statuses"] == [
        "approved",
        "draft",
        "partially_received",
        "pending_approval",
        "pending_approval",
        "received",
        "received",
        "sent",
    ]
    for po in PurchaseOrder.objects.all():
        assert po.history.count() >= 1
    assert PurchaseOrderHistory.objects.filter(to_status="received").count() == 2
    pending = ApprovalRequest.objects.filter(subject_type="suppliers.purchase_order", outcome="pending")
    assert sorted(pending.values_list("levels", flat=True)) == [1, 2]
    assert GoodsReceipt.objects.count() == 3
    # a matched invoice and a price-variance exception with its incident
    assert sorted(SupplierInvoice.objects.values_list("status", flat=True)) == ["exception", "matched"]
    exception = SupplierInvoice.objects.get(status="exception")
    assert (exception.supplier.code, exception.currency) == ("ALPINA", "EUR")
    assert set(SupplierInvoiceLine.objects.filter(invoice=exception).values_list("result", flat=True)) == {
        "price_variance"
    }
    assert SupplierInvoiceLine.objects.filter(invoice=exception, variance__gt=Decimal("0")).exists()
    assert Incident.objects.filter(kind="suppliers.invoice_exception").count() == 1
    # the replenishment run proposed drafts for the rules that fell due
    assert ReorderRule.objects.filter(location__kind="warehouse").count() == ReorderRule.objects.count() > 0
    assert PurchaseOrder.objects.filter(proposed=True, status="draft").exists()
    assert stock_verify_invariants() == []
