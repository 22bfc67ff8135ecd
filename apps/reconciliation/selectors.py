"""Reconciliation reads: runs (never loading the stored file), and the lines or entries of a run."""

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

from apps.core.errors import NotFound
from apps.core.models import Incident
from apps.reconciliation.models import BankEntry, Payout, ReconciliationRun, SettlementLine
from apps.reconciliation.states import RunKind


def run_list(*, kind: str | None = None, status: list[str] | None = None) -> QuerySet[ReconciliationRun]:
    qs = ReconciliationRun.objects.defer("content").select_related("created_by").order_by("-created_at", "-id")
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status__in=status)
    return qs


def run_get(*, run_id: int) -> ReconciliationRun:
    run = run_list().filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"Reconciliation run {run_id} does not exist")
    return run


def run_items(*, run: ReconciliationRun, status: list[str] | None = None) -> QuerySet:
    """The run's settlement lines or bank entries (by kind), in file order, optionally by match status."""
    if run.kind == RunKind.SETTLEMENT:
        qs: QuerySet = SettlementLine.objects.filter(run=run).order_by("line_number")
    else:
        qs = BankEntry.objects.filter(run=run).select_related("payout").order_by("position", "id")
    if status:
        qs = qs.filter(status__in=status)
    return qs


def run_item_row(item: SettlementLine | BankEntry) -> dict:
    """One line or entry in the shape the API and the portal show for both kinds."""
    if isinstance(item, SettlementLine):
        counterpart = ""
        if item.order_id:
            counterpart = f"RO-{item.order_id:08d}"
        elif item.refund_return_id:
            counterpart = f"RMA-{item.refund_return_id:08d}"
        return {
            "id": item.pk,
            "line": item.line_number,
            "reference": item.balance_transaction_id,
            "category": item.reporting_category,
            "amount": item.gross,
            "currency": item.currency,
            "date": item.available_on,
            "status": item.status,
            "note": item.note,
            "counterpart": counterpart,
            "text": item.description,
            "payment_reference": item.payment_intent_id or item.charge_id or item.source_id,
            "payout": item.automatic_payout_id,
        }
    payout = item.payout.payout_id if item.payout is not None else ""
    return {
        "id": item.pk,
        "line": item.position,
        "reference": item.bank_reference,
        "category": "credit" if item.credit else "debit",
        "amount": item.amount if item.credit else -item.amount,
        "currency": item.currency,
        "date": item.booking_date or item.value_date,
        "status": item.status,
        "note": item.note,
        "counterpart": payout,
        "text": item.remittance,
        "payment_reference": item.end_to_end_id,
        "payout": payout,
    }


def _run_url(run_id: object) -> str | None:
    try:
        return reverse("reconciliation:runs:detail", args=[int(str(run_id))])
    except (NoReverseMatch, ValueError):
        return None


def run_url_for_incident(incident: Incident) -> str | None:
    return _run_url(incident.subject_id)


def payout_run_url_for_incident(incident: Incident) -> str | None:
    run_id = Payout.objects.filter(pk=incident.subject_id).values_list("run_id", flat=True).first()
    return _run_url(run_id) if run_id else None
