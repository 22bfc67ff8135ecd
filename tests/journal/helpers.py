"""Builders for journal tests: relay events, read entries as {account: (debit, credit)}."""

from collections import defaultdict
from decimal import Decimal

from apps.core.outbox import Event, outbox_emit, outbox_relay
from apps.journal.models import JournalEntry, JournalLine


def emit(name: str, payload: dict, *, aggregate_type: str = "test", aggregate_id=1) -> None:
    outbox_emit(Event(name=name, aggregate_type=aggregate_type, aggregate_id=aggregate_id, payload=payload))


def relay() -> int:
    return outbox_relay(batch_size=500)


def entry_for(source_type: str, source_id, event: str) -> JournalEntry:
    return JournalEntry.objects.get(source_type=source_type, source_id=str(source_id), event=event)


def sides(entry: JournalEntry) -> dict[str, tuple[Decimal, Decimal]]:
    """{account code: (Σ debit, Σ credit)} of one entry."""
    out: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal("0.00"), Decimal("0.00")])
    for ln in entry.lines.select_related("account"):
        out[ln.account.code][0] += ln.debit
        out[ln.account.code][1] += ln.credit
    return {code: (d, c) for code, (d, c) in out.items()}


def by_location(entry: JournalEntry, code: str) -> dict[str, Decimal]:
    """{location: debit − credit} of one account in one entry."""
    out: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for ln in entry.lines.filter(account__code=code):
        out[ln.location] += ln.debit - ln.credit
    return dict(out)


def ledger_counts() -> dict:
    return {"entries": JournalEntry.objects.count(), "lines": JournalLine.objects.count()}


def D(value) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(str(value))
