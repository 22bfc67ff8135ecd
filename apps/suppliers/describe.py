"""How purchase orders and invoice variances look in the approval screens."""

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from apps.approvals.registry import SubjectDescription
from apps.suppliers.models import PurchaseOrder, SupplierInvoice


def _url(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def purchase_order_describe(subject_id: str) -> SubjectDescription | None:
    po = PurchaseOrder.objects.select_related("supplier", "location", "created_by").filter(pk=subject_id).first()
    if po is None:
        return None
    lines = list(po.lines.select_related("product").order_by("line_no"))
    return SubjectDescription(
        title=f"Purchase order {po.number} to {po.supplier.code} {po.supplier.name}",
        url=_url("suppliers:purchase_orders:detail", po.pk),
        facts=[
            ("Purchase order", po.number),
            ("Supplier", f"{po.supplier.code} {po.supplier.name}"),
            ("Deliver to", f"{po.location.code} {po.location.name}"),
            ("Total", f"{po.total} {po.currency}"),
            (
                f"Total in {settings.COMPANY_CURRENCY}",
                f"{po.total_company} (rate {po.exchange_rate} on {po.order_date})",
            ),
            ("Drafted by", po.created_by.get_username() if po.created_by else "replenishment"),
            ("Note", po.note or "—"),
        ],
        columns=["Line", "SKU", "Product", "Quantity", "Unit cost", "Amount"],
        rows=[
            [str(ln.line_no), ln.product.sku, ln.product.name, str(ln.quantity), str(ln.unit_cost), str(ln.amount)]
            for ln in lines
        ],
    )


def invoice_variance_describe(subject_id: str) -> SubjectDescription | None:
    invoice = SupplierInvoice.objects.select_related("supplier").filter(pk=subject_id).first()
    if invoice is None:
        return None
    lines = list(invoice.lines.order_by("line_no"))
    return SubjectDescription(
        title=f"Accept variance on invoice {invoice.number} of {invoice.supplier.code}",
        url=_url("suppliers:invoices:detail", invoice.pk),
        facts=[
            ("Invoice", invoice.number),
            ("Supplier", f"{invoice.supplier.code} {invoice.supplier.name}"),
            ("Invoice date", invoice.invoice_date.isoformat()),
            ("Total", f"{invoice.total} {invoice.currency} ({invoice.total_company} {settings.COMPANY_CURRENCY})"),
        ],
        columns=["Line", "PO", "SKU", "Quantity", "Price", "PO price", "Variance", "Result"],
        rows=[
            [
                str(ln.line_no),
                ln.po_reference,
                ln.sku,
                str(ln.quantity),
                str(ln.unit_price),
                str(ln.expected_unit_price or "—"),
                str(ln.variance),
                ln.get_result_display(),
            ]
            for ln in lines
        ],
    )
