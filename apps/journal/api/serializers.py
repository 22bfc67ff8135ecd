"""Journal API input and output serializers."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import serializers

from apps.journal.models import Account, EntryStatus, JournalEntry
from apps.journal.services import Line

MONEY: dict[str, Any] = {"max_digits": 14, "decimal_places": 2}
PERIOD_HELP = "A month, YYYY-MM"


class PeriodKeyField(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(r"^\d{4}-(0[1-9]|1[0-2])$", max_length=7, help_text=PERIOD_HELP, **kwargs)


class AccountOutput(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "code", "name", "type", "channel", "description", "active"]


class JournalLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    account = serializers.CharField(help_text="Account code")
    account_name = serializers.CharField()
    debit = serializers.DecimalField(**MONEY)
    credit = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    amount = serializers.DecimalField(**MONEY, help_text="In `currency`, on the line's side")
    location = serializers.CharField()
    channel = serializers.CharField()
    memo = serializers.CharField()


class JournalEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    date = serializers.DateField()
    period = serializers.CharField(help_text=PERIOD_HELP)
    status = serializers.ChoiceField(choices=EntryStatus.choices)
    description = serializers.CharField()
    source_type = serializers.CharField()
    source_id = serializers.CharField()
    event = serializers.CharField()
    original_date = serializers.DateField(allow_null=True, help_text="Business date when it fell in a closed period")
    currency = serializers.CharField()
    reversal_of = serializers.IntegerField(allow_null=True)
    manual_approval = serializers.CharField()
    created_by = serializers.CharField(allow_null=True)
    posted_at = serializers.DateTimeField(allow_null=True)
    total = serializers.DecimalField(**MONEY, help_text="Σ debit (company currency)")
    lines = JournalLineOutput(many=True)


def entry_representation(entry: JournalEntry) -> dict:
    lines = list(entry.lines.all())
    return {
        "id": entry.pk,
        "number": entry.number,
        "date": entry.date,
        "period": entry.period.key,
        "status": entry.status,
        "description": entry.description,
        "source_type": entry.source_type,
        "source_id": entry.source_id,
        "event": entry.event,
        "original_date": entry.original_date,
        "currency": entry.currency,
        "reversal_of": entry.reversal_of_id,
        "manual_approval": entry.manual_approval,
        "created_by": entry.created_by.get_username() if entry.created_by is not None else None,
        "posted_at": entry.posted_at,
        "total": sum((ln.debit for ln in lines), Decimal("0.00")),
        "lines": [
            {
                "id": ln.pk,
                "account": ln.account.code,
                "account_name": ln.account.name,
                "debit": ln.debit,
                "credit": ln.credit,
                "currency": ln.currency,
                "amount": ln.amount,
                "location": ln.location,
                "channel": ln.channel,
                "memo": ln.memo,
            }
            for ln in lines
        ],
    }


class EntryListFilter(serializers.Serializer):
    period = PeriodKeyField(required=False)
    account = serializers.CharField(required=False, max_length=10, help_text="Entries with a line on this account")
    source_type = serializers.CharField(required=False, max_length=60, help_text="e.g. orders.order")
    source_id = serializers.CharField(required=False, max_length=64)
    status = serializers.ChoiceField(required=False, choices=EntryStatus.choices)


class JournalLineInput(serializers.Serializer):
    account = serializers.CharField(max_length=10, help_text="Account code")
    debit = serializers.DecimalField(**MONEY, min_value=Decimal("0"), default=Decimal("0"))
    credit = serializers.DecimalField(**MONEY, min_value=Decimal("0"), default=Decimal("0"))
    location = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    channel = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    memo = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if (attrs["debit"] > 0) == (attrs["credit"] > 0):
            raise serializers.ValidationError("Each line has either a debit or a credit above zero.")
        return attrs


class ManualEntryInput(serializers.Serializer):
    date = serializers.DateField()
    description = serializers.CharField(max_length=300)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, help_text="Defaults to the company currency")
    lines = serializers.ListField(child=JournalLineInput(), min_length=2, max_length=200)

    def validate(self, attrs):
        attrs.setdefault("currency", settings.COMPANY_CURRENCY)
        attrs["lines"] = [
            Line(
                account=ln["account"],
                debit=ln["debit"],
                credit=ln["credit"],
                location=ln["location"],
                channel=ln["channel"],
                memo=ln["memo"],
            )
            for ln in attrs["lines"]
        ]
        return attrs


class ReverseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class TrialBalanceQuery(serializers.Serializer):
    period = PeriodKeyField()
    scope = serializers.ChoiceField(
        choices=[("cumulative", "cumulative"), ("period", "period")],
        default="cumulative",
        help_text="cumulative: balances at the end of the period; period: movements within it",
    )


class TrialBalanceRowOutput(serializers.Serializer):
    account = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    debit = serializers.DecimalField(**MONEY)
    credit = serializers.DecimalField(**MONEY)
    balance = serializers.DecimalField(**MONEY, help_text="Natural sign of the account type")


class TrialBalanceOutput(serializers.Serializer):
    period = serializers.CharField()
    period_status = serializers.CharField()
    currency = serializers.CharField()
    scope = serializers.CharField()
    rows = TrialBalanceRowOutput(many=True)
    total_debit = serializers.DecimalField(**MONEY)
    total_credit = serializers.DecimalField(**MONEY)
    balanced = serializers.BooleanField()


class PeriodOutput(serializers.Serializer):
    period = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    status = serializers.CharField()
    changed_at = serializers.DateTimeField(allow_null=True)
    changed_by = serializers.CharField(allow_null=True)


class PeriodCloseInput(serializers.Serializer):
    hard = serializers.BooleanField(default=False, help_text="Hard close: nothing posts any more")


def period_representation(period) -> dict:
    return {
        "period": period.key,
        "start": period.start,
        "end": period.end,
        "status": period.status,
        "changed_at": period.changed_at,
        "changed_by": period.changed_by.get_username() if period.changed_by is not None else None,
    }
