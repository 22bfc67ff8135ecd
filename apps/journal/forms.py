"""Staff UI form for a manual journal entry: a header and LINE_ROWS rows of lines (blank rows ignored)."""

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings

from apps.journal.selectors import account_list
from apps.journal.services import Line

LINE_ROWS = 6


class ManualEntryForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    description = forms.CharField(max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        accounts = [("", "Choose an account…"), *[(a.code, str(a)) for a in account_list(active=True)]]
        for n in range(LINE_ROWS):
            self.fields[f"account_{n}"] = forms.ChoiceField(choices=accounts, required=False, label=f"Account {n + 1}")
            for side in ("debit", "credit"):
                self.fields[f"{side}_{n}"] = forms.DecimalField(
                    required=False, min_value=Decimal("0"), max_digits=14, decimal_places=2, label=f"{side} {n + 1}"
                )
            self.fields[f"location_{n}"] = forms.CharField(max_length=20, required=False)
            self.fields[f"memo_{n}"] = forms.CharField(max_length=200, required=False)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {k: self[f"{k}_{n}"] for k in ("account", "debit", "credit", "location", "memo")} for n in range(LINE_ROWS)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lines: list[Line] = []
        for n in range(LINE_ROWS):
            account = data.get(f"account_{n}") or ""
            debit, credit = data.get(f"debit_{n}") or Decimal("0"), data.get(f"credit_{n}") or Decimal("0")
            if not account and not debit and not credit:
                continue
            if not account:
                self.add_error(f"account_{n}", "Choose the account of this row.")
                continue
            if (debit > 0) == (credit > 0):
                self.add_error(f"debit_{n}", "Enter either a debit or a credit.")
                continue
            lines.append(
                Line(
                    account=account,
                    debit=debit,
                    credit=credit,
                    location=(data.get(f"location_{n}") or "").strip(),
                    memo=(data.get(f"memo_{n}") or "").strip(),
                )
            )
        if len(lines) < 2 and not self.errors:
            raise forms.ValidationError("A journal entry needs at least two lines.")
        data["lines"] = lines
        return data

    @property
    def entry_date(self) -> datetime.date:
        return self.cleaned_data["date"]

    @property
    def currency(self) -> str:
        return settings.COMPANY_CURRENCY
