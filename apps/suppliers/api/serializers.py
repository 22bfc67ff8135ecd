"""Procurement API input and output serializers."""

from decimal import Decimal

from rest_framework import serializers

from apps.catalog.selectors import location_get_by_code, products_by_sku
from apps.orders.api.serializers import StrictPositiveIntegerField
from apps.suppliers.models import PurchaseOrder, Supplier
from apps.suppliers.services import InvoiceLineInput, POLineInput, ReceiveLineInput
from apps.suppliers.states import InvoiceStatus, PurchaseOrderStatus


def money(**kwargs) -> serializers.DecimalField:
    """A non-negative amount with two decimals."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), **kwargs)


def _product(sku: str):
    product = products_by_sku([sku]).get(sku)
    if product is None or not product.active:
        raise serializers.ValidationError(f"Unknown SKU {sku!r}.")
    return product


# --- suppliers -----------------------------------------------------------------------------------
class SupplierCreateInput(serializers.Serializer):
    code = serializers.RegexField(r"^[A-Za-z0-9._-]{1,30}$", help_text="Letters, digits, . _ -")
    name = serializers.CharField(max_length=200)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", help_text="ISO 4217")
    lead_time_days = serializers.IntegerField(min_value=0, max_value=365, default=7)
    payment_terms_days = serializers.IntegerField(min_value=0, max_value=365, default=30)
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class SupplierOutput(serializers.ModelSerializer):
    class Meta:
        model = Supplier
        fields = ["id", "code", "name", "currency", "lead_time_days", "payment_terms_days", "email", "active"]


class SupplierProductInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    supplier_sku = serializers.CharField(max_length=60)
    cost = money()
    min_order_qty = StrictPositiveIntegerField(min_value=1, max_value=1_000_000, default=1)
    pack_size = StrictPositiveIntegerField(min_value=1, max_value=1_000_000, default=1)
    preferred = serializers.BooleanField(default=False)

    def validate_sku(self, sku):
        return _product(sku)


class SupplierProductOutput(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    supplier_sku = serializers.CharField()
    cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    min_order_qty = serializers.IntegerField()
    pack_size = serializers.IntegerField()
    preferred = serializers.BooleanField()


class ScorecardQuery(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="Default: 90 days ago")
    end = serializers.DateField(required=False, help_text="Default: today")

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"start": "start must not be after end"})
        return attrs


class ScorecardOutput(serializers.Serializer):
    supplier = serializers.CharField(source="supplier.code")
    start = serializers.DateField()
    end = serializers.DateField()
    on_time_delivery_rate = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    fill_rate = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    invoice_match_rate = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True)
    average_lead_time_days = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    lines_due = serializers.IntegerField()
    lines_on_time = serializers.IntegerField()
    ordered_quantity = serializers.IntegerField()
    received_quantity = serializers.IntegerField()
    invoices = serializers.IntegerField()
    invoices_first_pass_matched = serializers.IntegerField()
    receipts = serializers.IntegerField()


# --- purchase orders -----------------------------------------------------------------------------
class POLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = StrictPositiveIntegerField(min_value=1, max_value=1_000_000)
    unit_cost = money(required=False, help_text="Default: the supplier's catalogue cost")


class PurchaseOrderCreateInput(serializers.Serializer):
    supplier = serializers.CharField(max_length=30, help_text="Supplier code")
    location = serializers.CharField(
        max_length=32, help_text="Receiving location code: a warehouse, or a store for direct-to-store delivery"
    )
    lines = POLineSerializer(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_supplier(self, code):
        supplier = Supplier.objects.filter(code=code).first()
        if supplier is None:
            raise serializers.ValidationError(f"Unknown supplier {code!r}.")
        return supplier

    def validate_location(self, code):
        location = location_get_by_code(code)
        if location is None or not location.active:
            raise serializers.ValidationError(f"Unknown location {code!r}.")
        return location

    def validate_lines(self, lines):
        skus = [ln["sku"] for ln in lines]
        products = products_by_sku(skus)
        unknown = [sku for sku in skus if sku not in products or not products[sku].active]
        if unknown:
            raise serializers.ValidationError(f"Unknown SKU(s): {', '.join(unknown)}.")
        if len(set(skus)) != len(skus):
            raise serializers.ValidationError("A SKU may appear on one line only.")
        return [
            POLineInput(product=products[ln["sku"]], quantity=ln["quantity"], unit_cost=ln.get("unit_cost"))
            for ln in lines
        ]


class ReceiptLineSerializer(serializers.Serializer):
    line_no = StrictPositiveIntegerField(min_value=1, max_value=100_000)
    quantity = StrictPositiveIntegerField(min_value=1, max_value=1_000_000)


class GoodsReceiptInput(serializers.Serializer):
    lines = ReceiptLineSerializer(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def to_lines(self, po: PurchaseOrder) -> list[ReceiveLineInput]:
        by_no = {ln.line_no: ln.pk for ln in po.lines.all()}
        unknown = [ln["line_no"] for ln in self.validated_data["lines"] if ln["line_no"] not in by_no]
        if unknown:
            raise serializers.ValidationError({"lines": f"{po.number} has no line(s) {unknown}."})
        return [
            ReceiveLineInput(line_id=by_no[ln["line_no"]], quantity=ln["quantity"])
            for ln in self.validated_data["lines"]
        ]


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class POLineOutput(serializers.Serializer):
    line_no = serializers.IntegerField()
    sku = serializers.CharField(source="product.sku")
    supplier_sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    received_quantity = serializers.IntegerField()
    invoiced_quantity = serializers.IntegerField()
    open_quantity = serializers.IntegerField()


class HistoryOutput(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    reason = serializers.CharField()
    at = serializers.DateTimeField()


class PurchaseOrderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=PurchaseOrderStatus.choices)
    supplier = serializers.CharField(source="supplier.code")
    location = serializers.CharField(source="location.code")
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    total_company = serializers.DecimalField(max_digits=14, decimal_places=2)
    exchange_rate = serializers.DecimalField(max_digits=18, decimal_places=8)
    order_date = serializers.DateField()
    expected_date = serializers.DateField()
    proposed = serializers.BooleanField()
    approval_levels = serializers.IntegerField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class PurchaseOrderDetailOutput(PurchaseOrderOutput):
    lines = POLineOutput(many=True, source="lines.all")
    history = HistoryOutput(many=True, source="history.all")


class GoodsReceiptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    purchase_order = PurchaseOrderDetailOutput()
    received_on = serializers.DateField()
    reference = serializers.CharField()
    lines = serializers.SerializerMethodField()

    def get_lines(self, receipt) -> list[dict]:
        return [
            {"line_no": ln.po_line.line_no, "quantity": ln.quantity, "landed_unit_cost": f"{ln.landed_unit_cost:.2f}"}
            for ln in receipt.lines.select_related("po_line").order_by("id")
        ]


# --- supplier invoices ---------------------------------------------------------------------------
class InvoiceLineSerializer(serializers.Serializer):
    purchase_order = serializers.RegexField(r"^PO-\d{1,12}$", help_text='"PO-000012"')
    line_no = StrictPositiveIntegerField(min_value=1, max_value=100_000, required=False)
    sku = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    quantity = StrictPositiveIntegerField(min_value=1, max_value=1_000_000)
    unit_price = money()

    def validate(self, attrs):
        if "line_no" not in attrs and not attrs.get("sku"):
            raise serializers.ValidationError("Give the PO line number or the SKU.")
        return attrs


class SupplierInvoiceCreateInput(serializers.Serializer):
    supplier = serializers.CharField(max_length=30, help_text="Supplier code")
    number = serializers.CharField(max_length=60)
    invoice_date = serializers.DateField()
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False, help_text="Default: the supplier's")
    lines = InvoiceLineSerializer(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]

    def validate_supplier(self, code):
        supplier = Supplier.objects.filter(code=code).first()
        if supplier is None:
            raise serializers.ValidationError(f"Unknown supplier {code!r}.")
        return supplier

    def validate(self, attrs):
        from apps.suppliers.models import PurchaseOrderLine

        out = []
        for ln in attrs["lines"]:
            po_id = int(ln["purchase_order"][3:])
            line_id = None
            if "line_no" in ln:
                line_id = (
                    PurchaseOrderLine.objects.filter(
                        purchase_order_id=po_id, line_no=ln["line_no"], purchase_order__supplier=attrs["supplier"]
                    )
                    .values_list("pk", flat=True)
                    .first()
                )
            out.append(
                InvoiceLineInput(
                    po_line_id=line_id,
                    po_reference=ln["purchase_order"],
                    sku=ln.get("sku", ""),
                    quantity=ln["quantity"],
                    unit_price=ln["unit_price"],
                )
            )
        # An unknown PO line is a match result (an exception finance works), not a 400: the invoice
        # is a real document that arrived and must be recorded.
        attrs["lines"] = out
        return attrs


class InvoiceLineOutput(serializers.Serializer):
    line_no = serializers.IntegerField()
    purchase_order = serializers.CharField(source="po_reference")
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    expected_unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    variance = serializers.DecimalField(max_digits=14, decimal_places=2)
    result = serializers.CharField()
    reason = serializers.CharField()


class SupplierInvoiceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    supplier = serializers.CharField(source="supplier.code")
    number = serializers.CharField()
    invoice_date = serializers.DateField()
    due_date = serializers.DateField()
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    total_company = serializers.DecimalField(max_digits=14, decimal_places=2)
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    payable = serializers.BooleanField()
    first_pass_matched = serializers.BooleanField()
    incident_id = serializers.IntegerField(allow_null=True)


class SupplierInvoiceDetailOutput(SupplierInvoiceOutput):
    lines = InvoiceLineOutput(many=True, source="lines.all")
    history = HistoryOutput(many=True, source="history.all")


class InvoiceDecisionInput(serializers.Serializer):
    comment = serializers.CharField(max_length=500)


class ListFilter(serializers.Serializer):
    status = serializers.CharField(required=False, help_text="One status or a comma-separated list")
    supplier = serializers.CharField(required=False, max_length=30, help_text="Supplier code")

    choices: list[str] = []

    def validate_status(self, value):
        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = sorted(set(statuses) - set(self.choices))
        if unknown:
            raise serializers.ValidationError(f"Unknown status: {', '.join(unknown)}")
        return ",".join(statuses)


class PurchaseOrderListFilter(ListFilter):
    choices = list(PurchaseOrderStatus.values)
    proposed = serializers.BooleanField(required=False, allow_null=True, default=None)


class SupplierInvoiceListFilter(ListFilter):
    choices = list(InvoiceStatus.values)
