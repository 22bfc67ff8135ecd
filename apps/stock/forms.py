"""Staff UI forms for inventory control: an adjustment or a cycle count with rows of lines."""

from typing import Any, cast

from django import forms

from apps.catalog.selectors import location_list, products_by_sku
from apps.stock.models import AdjustmentReason
from apps.stock.services import AdjustmentLineInput, CountLineInput, TransferLineInput

LINE_ROWS = 6


def _location_choices(location_ids: list[int] | None) -> list[tuple[str, str]]:
    locations = location_list(active=True)
    if location_ids is not None:
        locations = locations.filter(pk__in=location_ids)
    return [(loc.code, f"{loc.code} {loc.name}") for loc in locations]


class _LinesForm(forms.Form):
    """Header fields plus LINE_ROWS rows named sku_<n> and <quantity>_<n>; blank rows are ignored."""

    quantity_field = ""
    quantity_label = ""

    location = forms.ChoiceField()
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, location_ids: list[int] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["location"]).choices = [
            ("", "Choose a location…"),
            *_location_choices(location_ids),
        ]
        for n in range(LINE_ROWS):
            self.fields[f"sku_{n}"] = forms.CharField(max_length=64, required=False, label=f"SKU {n + 1}")
            self.fields[f"{self.quantity_field}_{n}"] = forms.IntegerField(
                required=False, label=f"{self.quantity_label} {n + 1}", min_value=-1_000_000, max_value=10_000_000
            )

    def rows(self) -> list[tuple[Any, Any]]:
        """(sku field, quantity field) per row, for the template."""
        return [(self[f"sku_{n}"], self[f"{self.quantity_field}_{n}"]) for n in range(LINE_ROWS)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        entered = []
        for n in range(LINE_ROWS):
            sku = (data.get(f"sku_{n}") or "").strip()
            quantity = data.get(f"{self.quantity_field}_{n}")
            if not sku and quantity is None:
                continue
            if not sku:
                self.add_error(f"sku_{n}", "Enter the SKU of this row.")
                continue
            if quantity is None:
                self.add_error(f"{self.quantity_field}_{n}", f"Enter the {self.quantity_label.lower()} for {sku}.")
                continue
            entered.append((n, sku, quantity))
        if not entered and not self.errors:
            raise forms.ValidationError("Enter at least one line.")
        skus = [sku for _, sku, _ in entered]
        products = products_by_sku(skus)
        for n, sku, _ in entered:
            if sku not in products:
                self.add_error(f"sku_{n}", f"Unknown SKU {sku}.")
            elif skus.count(sku) > 1:
                self.add_error(f"sku_{n}", f"{sku} appears more than once.")
        # Rows with an unknown SKU made the form invalid above; line_inputs() is only used when it is valid.
        self.lines = [(products[sku], quantity, n) for n, sku, quantity in entered if sku in products]
        return data


class AdjustmentForm(_LinesForm):
    quantity_field = "delta"
    quantity_label = "Change"

    reason = forms.ChoiceField(choices=[("", "Choose a reason…"), *AdjustmentReason.choices])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for _, quantity, n in getattr(self, "lines", []):
            if quantity == 0:
                self.add_error(f"delta_{n}", "A change of zero changes nothing.")
        return data

    def line_inputs(self) -> list[AdjustmentLineInput]:
        return [AdjustmentLineInput(product=p, quantity_delta=q) for p, q, _ in self.lines]


class CountForm(_LinesForm):
    quantity_field = "counted"
    quantity_label = "Counted"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for _, quantity, n in getattr(self, "lines", []):
            if quantity < 0:
                self.add_error(f"counted_{n}", "A count cannot be negative.")
        return data

    def line_inputs(self) -> list[CountLineInput]:
        return [CountLineInput(product=p, counted=q) for p, q, _ in self.lines]


class TransferForm(_LinesForm):
    """A transfer request: `location` is the source; either end must be one of the user's locations."""

    quantity_field = "quantity"
    quantity_label = "Quantity"

    destination = forms.ChoiceField()

    def __init__(self, *args: Any, location_ids: list[int] | None, **kwargs: Any) -> None:
        super().__init__(*args, location_ids=None, **kwargs)
        everywhere = _location_choices(None)
        cast(forms.ChoiceField, self.fields["location"]).choices = [("", "Choose the source…"), *everywhere]
        cast(forms.ChoiceField, self.fields["destination"]).choices = [("", "Choose the destination…"), *everywhere]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("location") and data.get("location") == data.get("destination"):
            self.add_error("destination", "Source and destination must differ.")
        for _, quantity, n in getattr(self, "lines", []):
            if quantity <= 0:
                self.add_error(f"quantity_{n}", "A quantity must be positive.")
        return data

    def line_inputs(self) -> list[TransferLineInput]:
        return [TransferLineInput(product=p, quantity=q) for p, q, _ in self.lines]
