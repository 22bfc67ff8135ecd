"""Staff UI forms for procurement: a purchase order with rows of lines, a goods receipt per open line, a
supplier invoice with rows referencing PO lines, a reorder rule and the scorecard's date range."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from django import forms

from apps.catalog.models import LocationKind, Product
from apps.catalog.selectors import location_list, products_by_sku
from apps.suppliers.models import PurchaseOrderLine
from apps.suppliers.selectors import supplier_list
from apps.suppliers.services import InvoiceLineInput, POLineInput, ReceiveLineInput

LINE_ROWS = 6
MAX_QUANTITY = 1_000_000
MAX_MONEY = Decimal("9999999999.99")  # max_digits=12, decimal_places=2 on the line models


def location_choices(location_ids: list[int] | None, *, kind: str | None = None) -> list[tuple[str, str]]:
    locations = location_list(kind=kind, active=True)
    if location_ids is not None:
        locations = locations.filter(pk__in=location_ids)
    return [(loc.code, f"{loc.code} {loc.name}") for loc in locations]


def supplier_choices() -> list[tuple[str, str]]:
    return [(s.code, f"{s.code} {s.name} ({s.currency})") for s in supplier_list(active=True)]


def _money_field(label: str, *, required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        required=required, label=label, min_value=Decimal("0"), max_value=MAX_MONEY, max_digits=12, decimal_places=2
    )


class PurchaseOrderForm(forms.Form):
    """Supplier, receiving location, note and LINE_ROWS rows of SKU, quantity and an optional unit cost
    (blank: the supplier's catalogue cost). Blank rows are ignored."""

    supplier = forms.ChoiceField()
    location = forms.ChoiceField(label="Deliver to")
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, location_ids: list[int] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["supplier"]).choices = [("", "Choose a supplier…"), *supplier_choices()]
        cast(forms.ChoiceField, self.fields["location"]).choices = [
            ("", "Choose a location…"),
            *location_choices(location_ids),
        ]
        for n in range(LINE_ROWS):
            self.fields[f"sku_{n}"] = forms.CharField(max_length=64, required=False, label=f"SKU {n + 1}")
            self.fields[f"quantity_{n}"] = forms.IntegerField(
                required=False, label=f"Quantity {n + 1}", min_value=1, max_value=MAX_QUANTITY
            )
            self.fields[f"unit_cost_{n}"] = _money_field(f"Unit cost {n + 1}")
        self.lines: list[POLineInput] = []

    def rows(self) -> list[tuple[Any, Any, Any]]:
        return [(self[f"sku_{n}"], self[f"quantity_{n}"], self[f"unit_cost_{n}"]) for n in range(LINE_ROWS)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        entered = []
        for n in range(LINE_ROWS):
            sku = (data.get(f"sku_{n}") or "").strip()
            quantity, cost = data.get(f"quantity_{n}"), data.get(f"unit_cost_{n}")
            if not sku and quantity is None and cost is None:
                if f"quantity_{n}" not in self.errors and f"unit_cost_{n}" not in self.errors:
                    continue
            if not sku:
                self.add_error(f"sku_{n}", "Enter the SKU of this row.")
            elif quantity is None and f"quantity_{n}" not in self.errors:
                self.add_error(f"quantity_{n}", f"Enter the quantity for {sku}.")
            elif quantity is not None:
                entered.append((n, sku, quantity, cost))
        if not entered and not self.errors:
            raise forms.ValidationError("Enter at least one line.")
        skus = [sku for _, sku, _, _ in entered]
        products = products_by_sku(skus)
        for n, sku, _, _ in entered:
            if sku not in products:
                self.add_error(f"sku_{n}", f"Unknown SKU {sku}.")
            elif skus.count(sku) > 1:
                self.add_error(f"sku_{n}", f"{sku} appears more than once.")
        if not self.errors:
            self.lines = [
                POLineInput(product=products[sku], quantity=quantity, unit_cost=cost)
                for _, sku, quantity, cost in entered
            ]
        return data


class ReceiveForm(forms.Form):
    """One quantity per open line of the order (blank or 0: not in this delivery), and the delivery note."""

    reference = forms.CharField(max_length=100, required=False, label="Delivery note")

    def __init__(self, *args: Any, lines: list[PurchaseOrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.po_lines = [ln for ln in lines if ln.open_quantity > 0]
        for ln in self.po_lines:
            self.fields[f"qty_{ln.pk}"] = forms.IntegerField(
                required=False, min_value=0, max_value=MAX_QUANTITY, label=f"Receive {ln.product.sku}"
            )
        self.lines: list[ReceiveLineInput] = []

    def rows(self) -> list[tuple[PurchaseOrderLine, Any]]:
        return [(ln, self[f"qty_{ln.pk}"]) for ln in self.po_lines]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.lines = [
            ReceiveLineInput(line_id=ln.pk, quantity=data[f"qty_{ln.pk}"])
            for ln in self.po_lines
            if data.get(f"qty_{ln.pk}")
        ]
        if not self.lines and not self.errors:
            raise forms.ValidationError("Enter a quantity for at least one line.")
        return data


class SupplierInvoiceForm(forms.Form):
    """An invoice as the supplier wrote it: rows of PO number, SKU, quantity and unit price. The match
    finds the PO line from the PO number and SKU; a row that names no line of this supplier's orders is
    kept and matched as `unknown PO line`."""

    supplier = forms.ChoiceField()
    number = forms.CharField(max_length=60, label="Invoice number")
    invoice_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["supplier"]).choices = [("", "Choose a supplier…"), *supplier_choices()]
        for n in range(LINE_ROWS):
            self.fields[f"po_{n}"] = forms.CharField(max_length=60, required=False, label=f"PO {n + 1}")
            self.fields[f"sku_{n}"] = forms.CharField(max_length=60, required=False, label=f"SKU {n + 1}")
            self.fields[f"quantity_{n}"] = forms.IntegerField(
                required=False, label=f"Quantity {n + 1}", min_value=1, max_value=MAX_QUANTITY
            )
            self.fields[f"unit_price_{n}"] = _money_field(f"Unit price {n + 1}")
        self.lines: list[InvoiceLineInput] = []

    def rows(self) -> list[tuple[Any, Any, Any, Any]]:
        return [
            (self[f"po_{n}"], self[f"sku_{n}"], self[f"quantity_{n}"], self[f"unit_price_{n}"])
            for n in range(LINE_ROWS)
        ]

    def clean_number(self) -> str:
        number = self.cleaned_data["number"].strip()
        if not number:
            raise forms.ValidationError("Enter the supplier's invoice number.")
        return number

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lines = []
        for n in range(LINE_ROWS):
            po = (data.get(f"po_{n}") or "").strip().upper()
            sku = (data.get(f"sku_{n}") or "").strip()
            quantity, price = data.get(f"quantity_{n}"), data.get(f"unit_price_{n}")
            row_errors = any(f"{name}_{n}" in self.errors for name in ("quantity", "unit_price"))
            if not (po or sku) and quantity is None and price is None and not row_errors:
                continue
            if not po:
                self.add_error(f"po_{n}", "Enter the PO number the supplier quotes (PO-000123).")
            if not sku:
                self.add_error(f"sku_{n}", "Enter the SKU of this row.")
            if quantity is None and f"quantity_{n}" not in self.errors:
                self.add_error(f"quantity_{n}", "Enter the quantity billed.")
            if price is None and f"unit_price_{n}" not in self.errors:
                self.add_error(f"unit_price_{n}", "Enter the unit price billed.")
            if po and sku and quantity is not None and price is not None:
                lines.append(InvoiceLineInput(quantity=quantity, unit_price=price, po_reference=po, sku=sku))
        if not lines and not self.errors:
            raise forms.ValidationError("Enter at least one line.")
        self.lines = lines if not self.errors else []
        return data


class ReorderRuleForm(forms.Form):
    location = forms.ChoiceField(label="Warehouse")
    sku = forms.CharField(max_length=64, label="SKU")
    reorder_point = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY)
    order_up_to = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, label="Order up to")

    def __init__(self, *args: Any, location_ids: list[int] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["location"]).choices = [
            ("", "Choose a warehouse…"),
            *location_choices(location_ids, kind=LocationKind.WAREHOUSE),
        ]
        self.product: Product | None = None

    def clean_sku(self) -> str:
        sku = self.cleaned_data["sku"].strip()
        self.product = products_by_sku([sku]).get(sku)
        if self.product is None:
            raise forms.ValidationError(f"Unknown SKU {sku}.")
        return sku

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        point, up_to = data.get("reorder_point"), data.get("order_up_to")
        if point is not None and up_to is not None and up_to <= point:
            self.add_error("order_up_to", "Order up to must be above the reorder point.")
        return data


class DateRangeForm(forms.Form):
    """The scorecard's period; defaults to the last `DEFAULT_DAYS` days."""

    DEFAULT_DAYS = 90
    MAX_DAYS = 3 * 366

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def period(self, today: date) -> tuple[date, date]:
        """The chosen period, or the default one when the form is empty or invalid."""
        end = today
        start = today - timedelta(days=self.DEFAULT_DAYS)
        if self.is_valid():
            end = self.cleaned_data.get("end") or end
            start = self.cleaned_data.get("start") or end - timedelta(days=self.DEFAULT_DAYS)
        return start, end

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError("The start must not be after the end.")
            if (end - start).days > self.MAX_DAYS:
                raise forms.ValidationError("Choose a period of at most three years.")
        return data
