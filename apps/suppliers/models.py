"""Procurement models: suppliers and what they sell, purchase orders, goods receipts, supplier
invoices with their three-way match, and reorder rules. Transitions only check guards and set
fields; apps.suppliers.services does the rest."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.core.models import StatusHistory
from apps.suppliers.states import CANCELLABLE, RECEIVABLE, InvoiceStatus, MatchResult, PurchaseOrderStatus

S = PurchaseOrderStatus
I = InvoiceStatus  # noqa: E741


class Supplier(models.Model):
    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    lead_time_days = models.PositiveIntegerField(default=7)
    payment_terms_days = models.PositiveIntegerField(default=30, help_text="Net days from the invoice date")
    email = models.EmailField(blank=True, default="")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="supplier_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SupplierProduct(models.Model):
    """A product as one supplier sells it: their SKU, cost in their currency, MOQ and pack size."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    supplier_sku = models.CharField(max_length=60)
    cost = models.DecimalField(max_digits=12, decimal_places=2)
    min_order_qty = models.PositiveIntegerField(default=1)
    pack_size = models.PositiveIntegerField(default=1)
    preferred = models.BooleanField(default=False, help_text="Replenishment orders this product from here")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["supplier_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "product"], name="supplierproduct_once"),
            models.UniqueConstraint(fields=["supplier", "supplier_sku"], name="supplierproduct_sku_once"),
            models.UniqueConstraint(
                fields=["product"], condition=Q(preferred=True), name="supplierproduct_one_preferred"
            ),
            models.CheckConstraint(condition=Q(cost__gte=0), name="supplierproduct_cost_not_negative"),
            models.CheckConstraint(condition=Q(min_order_qty__gte=1), name="supplierproduct_moq_positive"),
            models.CheckConstraint(condition=Q(pack_size__gte=1), name="supplierproduct_pack_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.supplier_sku} ({self.supplier_id})"


class PurchaseOrder(ConcurrentTransitionMixin, models.Model):
    """An order to a supplier, in the supplier's currency, for goods received at one location."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="purchase_orders")
    status = FSMField(max_length=20, choices=S.choices, default=S.DRAFT, protected=True)
    currency = models.CharField(max_length=3)
    order_date = models.DateField(default=timezone.localdate)
    expected_date = models.DateField()
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    exchange_rate = models.DecimalField(
        max_digits=18, decimal_places=8, default=Decimal("1"), help_text="Company currency per unit on the order date"
    )
    total_company = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    proposed = models.BooleanField(default=False, help_text="Drafted by the replenishment job")
    note = models.CharField(max_length=500, blank=True, default="")
    approval_levels = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_purchaseorder", "Can approve purchase orders"),
            ("transition_purchaseorder", "Can submit, send, cancel and close purchase orders"),
            ("receive_purchaseorder", "Can receive goods against purchase orders"),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="po_status_idx"),
            models.Index(fields=["supplier", "status"], name="po_supplier_status_idx"),
            models.Index(fields=["status", "expected_date"], name="po_status_expected_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="po_total_not_negative"),
            models.CheckConstraint(condition=Q(exchange_rate__gt=0), name="po_rate_positive"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"PO-{self.pk:06d}" if self.pk else ""

    # --- transitions: guards and field changes only -----------------------------------------
    @transition(field=status, source=S.DRAFT, target=S.PENDING_APPROVAL)
    def submit(self) -> None:
        pass

    @transition(field=status, source=[S.DRAFT, S.PENDING_APPROVAL], target=S.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=S.PENDING_APPROVAL, target=S.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=S.PENDING_APPROVAL, target=S.DRAFT)
    def withdraw(self) -> None:
        pass

    @transition(field=status, source=S.APPROVED, target=S.SENT)
    def send(self) -> None:
        pass

    @transition(field=status, source=list(RECEIVABLE), target=S.PARTIALLY_RECEIVED)
    def receive_partially(self) -> None:
        pass

    @transition(field=status, source=list(RECEIVABLE), target=S.RECEIVED)
    def receive_fully(self) -> None:
        pass

    @transition(field=status, source=[S.PARTIALLY_RECEIVED, S.RECEIVED], target=S.CLOSED)
    def close(self) -> None:
        pass

    @transition(field=status, source=list(CANCELLABLE), target=S.CANCELLED)
    def cancel(self) -> None:
        pass


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    supplier_sku = models.CharField(max_length=60, blank=True, default="")
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, help_text="In the order's currency")
    received_quantity = models.PositiveIntegerField(default=0)
    invoiced_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["purchase_order_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "line_no"], name="poline_line_no_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="poline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="poline_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"line {self.line_no} of PO {self.purchase_order_id}"

    @property
    def open_quantity(self) -> int:
        return max(self.quantity - self.received_quantity, 0)

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_cost


class PurchaseOrderHistory(StatusHistory):
    """One row per status change: who, from, to, why, when."""

    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="history")

    class Meta:
        ordering = ["purchase_order_id", "at", "id"]
        verbose_name_plural = "purchase order history"


class GoodsReceipt(models.Model):
    """Goods taken in against a purchase order; its stock side is a stock receipt."""

    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="receipts")
    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=100, blank=True, default="", help_text="Delivery note / ASN")
    received_on = models.DateField(default=timezone.localdate)
    stock_receipt_id = models.BigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"GR-{self.pk:06d}"


class GoodsReceiptLine(models.Model):
    receipt = models.ForeignKey(GoodsReceipt, on_delete=models.CASCADE, related_name="lines")
    po_line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipt_lines")
    quantity = models.PositiveIntegerField()
    landed_unit_cost = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="Company currency at the receipt date: what the goods are valued at"
    )

    class Meta:
        ordering = ["receipt_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="grline_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} of PO line {self.po_line_id}"


class SupplierInvoice(ConcurrentTransitionMixin, models.Model):
    """A supplier's bill, matched line by line against PO price and quantity and received quantity."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=60)
    invoice_date = models.DateField()
    due_date = models.DateField()
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=8, default=Decimal("1"))
    total_company = models.DecimalField(max_digits=14, decimal_places=2)
    status = FSMField(max_length=20, choices=I.choices, protected=True)
    first_pass_matched = models.BooleanField(default=False, help_text="Matched on arrival, without intervention")
    incident_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("accept_invoice_variance", "Can ask for a supplier invoice variance to be accepted")]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "number"], name="supplierinvoice_number_once"),
            models.CheckConstraint(condition=Q(total__gte=0), name="supplierinvoice_total_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="supplierinvoice_status_idx")]

    def __str__(self) -> str:
        return f"{self.supplier_id}/{self.number}"

    @property
    def payable(self) -> bool:
        return self.status in (I.MATCHED, I.ACCEPTED)

    @transition(field=status, source=I.EXCEPTION, target=I.PENDING_ACCEPTANCE)
    def request_acceptance(self) -> None:
        pass

    @transition(field=status, source=I.PENDING_ACCEPTANCE, target=I.ACCEPTED)
    def accept(self) -> None:
        pass

    @transition(field=status, source=[I.EXCEPTION, I.PENDING_ACCEPTANCE], target=I.DISPUTED)
    def dispute(self) -> None:
        pass


class SupplierInvoiceLine(models.Model):
    invoice = models.ForeignKey(SupplierInvoice, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    po_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    po_reference = models.CharField(max_length=60, blank=True, default="", help_text="As the supplier wrote it")
    sku = models.CharField(max_length=60, blank=True, default="")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    result = models.CharField(max_length=30, choices=MatchResult.choices)
    reason = models.CharField(max_length=300, blank=True, default="")
    expected_unit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    variance = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00"), help_text="(price − PO price) × quantity"
    )

    class Meta:
        ordering = ["invoice_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "line_no"], name="invoiceline_line_no_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoiceline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="invoiceline_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"line {self.line_no} of invoice {self.invoice_id}: {self.result}"


class InvoiceHistory(StatusHistory):
    invoice = models.ForeignKey(SupplierInvoice, on_delete=models.CASCADE, related_name="history")

    class Meta:
        ordering = ["invoice_id", "at", "id"]
        verbose_name_plural = "supplier invoice history"


class ReorderRule(models.Model):
    """Warehouse replenishment from suppliers: when available + on order falls to the reorder point,
    order up to `order_up_to`."""

    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="reorder_rules")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    reorder_point = models.PositiveIntegerField()
    order_up_to = models.PositiveIntegerField()
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["location_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["location", "product"], name="reorderrule_once"),
            models.CheckConstraint(condition=Q(order_up_to__gt=F("reorder_point")), name="reorderrule_up_to_gt_point"),
        ]

    def __str__(self) -> str:
        return f"product {self.product_id}@{self.location_id}: {self.reorder_point} → {self.order_up_to}"
