"""Reconciliation API input and output serializers."""

from django.urls import reverse
from rest_framework import serializers

from apps.reconciliation.models import ReconciliationRun
from apps.reconciliation.states import MatchStatus, RunKind, RunStatus


class UploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, help_text="The file, as multipart/form-data")


class RunAcceptedOutput(serializers.Serializer):
    run_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    url = serializers.CharField()


class RunListFilter(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RunKind.choices, required=False)
    status = serializers.CharField(required=False, help_text="One status or a comma-separated list")

    def validate_status(self, value):
        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = sorted(set(statuses) - set(RunStatus.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown status: {', '.join(unknown)}")
        return statuses


class ItemFilter(serializers.Serializer):
    status = serializers.CharField(
        required=False, help_text="Comma-separated match statuses (default: unmatched,mismatched); `all` for every line"
    )

    def validate_status(self, value):
        if value == "all":
            return []
        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = sorted(set(statuses) - set(MatchStatus.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown status: {', '.join(unknown)}")
        return statuses


class ProgressOutput(serializers.Serializer):
    processed = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField()


class CountsOutput(serializers.Serializer):
    lines = serializers.IntegerField(help_text="Rows (or booked entries) read from the file")
    duplicates = serializers.IntegerField(help_text="Already imported by an earlier run: skipped")
    matched = serializers.IntegerField()
    unmatched = serializers.IntegerField()
    mismatched = serializers.IntegerField()
    rejected = serializers.IntegerField(help_text="Rows that could not be read (see errors)")


class RowErrorOutput(serializers.Serializer):
    line = serializers.IntegerField()
    message = serializers.CharField()


class RunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=RunKind.choices)
    status = serializers.ChoiceField(choices=RunStatus.choices)
    file_name = serializers.CharField()
    file_sha256 = serializers.CharField()
    file_size = serializers.IntegerField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    progress = ProgressOutput()
    counts = CountsOutput()
    failure = serializers.CharField()
    exceptions_url = serializers.CharField(help_text="The unmatched and mismatched lines of this run")


class RunDetailOutput(RunOutput):
    summary = serializers.JSONField()

    def get_fields(self):
        # "errors" would shadow Serializer.errors as a class attribute: declared here instead.
        return {**super().get_fields(), "errors": RowErrorOutput(many=True, help_text="Rejected rows")}


class ItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    line = serializers.IntegerField(help_text="Line of the CSV file, or position of the entry in the statement")
    reference = serializers.CharField(help_text="balance_transaction_id, or the bank reference")
    category = serializers.CharField(help_text="Stripe reporting category, or credit/debit")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Gross (settlement) or signed amount")
    currency = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=MatchStatus.choices)
    note = serializers.CharField(help_text="Why it did not match, or how it matched")
    counterpart = serializers.CharField(help_text="Order, return or payout it matched")
    text = serializers.CharField(help_text="Description or remittance information")
    payment_reference = serializers.CharField()
    payout = serializers.CharField()


def run_representation(run: ReconciliationRun, *, detail: bool = False) -> dict:
    rejected = len(run.errors) if isinstance(run.errors, list) else 0
    done = run.status == RunStatus.SUCCEEDED
    percent = 100 if done else (100 * run.processed // run.total if run.total else 0)
    data = {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "file_name": run.file_name,
        "file_sha256": run.file_sha256,
        "file_size": run.file_size,
        "created_by": run.created_by.get_username() if run.created_by is not None else None,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "progress": {
            "processed": run.processed,
            "total": run.total,
            "percent": percent,
        },
        "counts": {
            "lines": run.lines,
            "duplicates": run.duplicates,
            "matched": run.matched,
            "unmatched": run.unmatched,
            "mismatched": run.mismatched,
            "rejected": rejected,
        },
        "failure": run.failure,
        "exceptions_url": reverse("reconciliation-run-lines", args=[run.pk]),
    }
    if detail:
        data["errors"] = run.errors
        data["summary"] = run.summary
    return data
