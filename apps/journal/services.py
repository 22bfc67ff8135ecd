"""Journal writes: post an entry (idempotent per source event), reverse, manual entries, periods, costs.

Every entry is written draft → lines → posted in one transaction; PostgreSQL checks at commit that
it balances and from then on refuses to change it (migration 0002). `(source_type, source_id,
event)` is unique, so a duplicate delivery of an event finds the existing entry and posts nothing.
"""

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from apps.core.currency import currency_convert
from apps.core.errors import DomainError, InvalidTransition, NotFound
from apps.core.outbox import Event, outbox_emit
from apps.core.types import Actor, real_user
from apps.journal.chart import SEEDED, chart_ensure
from apps.journal.models import (
    Account,
    EntryStatus,
    JournalEntry,
    JournalLine,
    ManualApproval,
    Period,
    PeriodStatus,
    ProductCost,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
SUBJECT_MANUAL_ENTRY = "journal.manual_entry"
SOURCE_MANUAL = "journal.manual"
SOURCE_REVERSAL = "journal.entry"
EVENT_ENTRY_POSTED = "journal.entry.posted"
EVENT_ENTRY_REVERSED = "journal.entry.reversed"
EVENT_PERIOD_CLOSED = "journal.period.closed"
PERM_POST_SOFT_CLOSED = "journal.post_soft_closed_period"


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    """One line to post. `debit`/`credit` are in `currency` (the entry's currency when empty)."""

    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    currency: str = ""
    location: str = ""
    channel: str = ""
    memo: str = ""
    product_id: int | None = None


@dataclass
class Posting:
    """What a posting rule asks for; `build` runs only once the idempotency key is claimed."""

    source_type: str
    source_id: str
    event: str
    date: date
    description: str
    currency: str
    build: Callable[[], list[Line]]
    outbox_event_id: int | None = None
    extra: dict = field(default_factory=dict)


# --- periods -------------------------------------------------------------------------------------
def _month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following - timedelta(days=1)


def period_for(*, day: date) -> Period:
    """The period containing `day`, created open on first use (concurrent callers get the same row)."""
    start, end = _month_bounds(day)
    period = Period.objects.filter(start=start).first()
    if period is not None:
        return period
    try:
        with transaction.atomic():
            return Period.objects.create(start=start, end=end)
    except IntegrityError:
        return Period.objects.get(start=start)


def _posting_period(*, day: date, may_post_soft_closed: bool) -> tuple[Period, date, date | None]:
    """(period, entry date, original date) for a business date: a closed period hands the entry to
    the first open period after it, dated on that period's first day, keeping the original date."""
    period = period_for(day=day)
    if period.status == PeriodStatus.OPEN or (period.status == PeriodStatus.SOFT_CLOSED and may_post_soft_closed):
        return period, day, None
    later = period
    while True:
        later = period_for(day=later.end + timedelta(days=1))
        if later.status == PeriodStatus.OPEN:
            return later, later.start, day


def _period_lock(period_key: str) -> Period:
    try:
        year, month = (int(p) for p in period_key.split("-"))
        start = date(year, month, 1)
    except ValueError:
        raise DomainError(f"{period_key!r} is not a period (YYYY-MM)", code="invalid_period") from None
    period_for(day=start)
    return Period.objects.select_for_update().get(start=start)


def period_close(*, period: str, hard: bool, actor: Actor) -> Period:
    """Soft- or hard-close a month. Soft: only finance posts (manual entries); hard: nothing posts,
    late events go to the first open period. A month closes only after every earlier month."""
    with transaction.atomic():
        row = _period_lock(period)
        method = row.hard_close if hard else row.soft_close
        if not can_proceed(method):
            raise InvalidTransition(
                f"Period {row.key} cannot be {'hard' if hard else 'soft'} closed from {row.status!r}",
                extra={"status": row.status},
            )
        if hard and Period.objects.filter(start__lt=row.start).exclude(status=PeriodStatus.HARD_CLOSED).exists():
            raise DomainError(f"Close the earlier periods before hard-closing {row.key}", code="earlier_period_open")
        pending = JournalEntry.objects.filter(
            period=row, status=EntryStatus.DRAFT, manual_approval=ManualApproval.PENDING
        )
        if hard and pending.exists():
            raise DomainError(
                f"Period {row.key} has manual entries waiting for approval", code="pending_manual_entries"
            )
        from_status = row.status
        method()
        row.changed_at = timezone.now()
        row.changed_by = real_user(actor)
        row.save()
        outbox_emit(
            Event(
                name=EVENT_PERIOD_CLOSED,
                aggregate_type="journal.period",
                aggregate_id=row.pk,
                payload={"period": row.key, "from": from_status, "to": row.status, "by": actor.get_username()},
            )
        )
        return row


def period_reopen(*, period: str, actor: Actor) -> Period:
    """Reopen a soft-closed month (a hard close is final)."""
    with transaction.atomic():
        row = _period_lock(period)
        if not can_proceed(row.reopen):
            raise InvalidTransition(
                f"Period {row.key} cannot be reopened from {row.status!r}", extra={"status": row.status}
            )
        row.reopen()
        row.changed_at = timezone.now()
        row.changed_by = real_user(actor)
        row.save()
        return row


# --- posting -------------------------------------------------------------------------------------
def _accounts(codes: Iterable[str]) -> dict[str, Account]:
    wanted = set(codes)
    found = {a.code: a for a in Account.objects.filter(code__in=wanted)}
    if wanted - set(found) <= SEEDED and wanted - set(found):
        chart_ensure()
        found = {a.code: a for a in Account.objects.filter(code__in=wanted)}
    missing = sorted(wanted - set(found))
    if missing:
        raise DomainError(f"Unknown account(s): {', '.join(missing)}", code="unknown_account")
    inactive = sorted(c for c, a in found.items() if not a.active)
    if inactive:
        raise DomainError(f"Inactive account(s): {', '.join(inactive)}", code="inactive_account")
    return found


def _to_rows(entry: JournalEntry, lines: Sequence[Line], accounts: dict[str, Account]) -> list[JournalLine]:
    """Convert each line to the company currency; a rounding difference of conversion goes on the
    largest converted line of the short side (so the entry balances to the cent)."""
    company = settings.COMPANY_CURRENCY
    rows: list[JournalLine] = []
    converted: list[JournalLine] = []
    for ln in lines:
        currency = (ln.currency or entry.currency).upper()
        debit, credit = money(ln.debit), money(ln.credit)
        if debit < 0 or credit < 0:
            debit, credit = max(debit, ZERO) - min(credit, ZERO), max(credit, ZERO) - min(debit, ZERO)
        net = debit - credit
        if net == 0:
            continue
        amount = abs(net)
        value = amount if currency == company else currency_convert(amount=amount, currency=currency, on=entry.date)
        row = JournalLine(
            entry=entry,
            account=accounts[ln.account],
            debit=value if net > 0 else ZERO,
            credit=value if net < 0 else ZERO,
            currency=currency,
            amount=amount,
            location=ln.location[:20],
            channel=ln.channel[:20],
            memo=ln.memo[:200],
            product_id=ln.product_id,
        )
        rows.append(row)
        if currency != company:
            converted.append(row)
    diff = sum((r.debit - r.credit for r in rows), ZERO)
    if diff and converted and abs(diff) <= CENT * len(converted):
        side = "credit" if diff > 0 else "debit"
        candidates = [r for r in converted if getattr(r, side) > 0] or converted
        target = max(candidates, key=lambda r: r.debit + r.credit)
        if target.debit > 0:
            target.debit -= diff
        else:
            target.credit += diff
    return rows


def entry_post(*, posting: Posting, created_by: Actor | None = None) -> tuple[JournalEntry | None, bool]:
    """Post one entry for a source event, exactly once. Returns (entry, created).

    A second call with the same (source_type, source_id, event) returns the existing entry and
    writes nothing (also when two calls race: the loser waits on the unique index). A rule that
    yields no line (nothing of value moved) posts nothing: (None, False).
    """
    with transaction.atomic():
        existing = JournalEntry.objects.filter(
            source_type=posting.source_type, source_id=posting.source_id, event=posting.event
        ).first()
        if existing is not None:
            return existing, False
        period, day, original = _posting_period(day=posting.date, may_post_soft_closed=False)
        description = posting.description
        if original is not None:
            description = f"{description} (dated {original.isoformat()}, period {original:%Y-%m} closed)"
        try:
            with transaction.atomic():
                entry = JournalEntry.objects.create(
                    date=day,
                    period=period,
                    description=description[:300],
                    source_type=posting.source_type,
                    source_id=str(posting.source_id),
                    event=posting.event,
                    outbox_event_id=posting.outbox_event_id,
                    original_date=original,
                    currency=posting.currency.upper(),
                    created_by=real_user(created_by),
                )
        except IntegrityError:
            return (
                JournalEntry.objects.get(
                    source_type=posting.source_type, source_id=str(posting.source_id), event=posting.event
                ),
                False,
            )
        lines = posting.build()
        accounts = _accounts(ln.account for ln in lines)
        rows = _to_rows(entry, lines, accounts)
        if not rows:
            # Nothing of value moved; the claimed key is released with the savepoint.
            transaction.set_rollback(True)
            return None, False
        _check_balanced(rows)
        JournalLine.objects.bulk_create(rows)
        entry.post()
        entry.save()
        return entry, True


def _check_balanced(rows: Sequence[JournalLine]) -> None:
    debit = sum((r.debit for r in rows), ZERO)
    credit = sum((r.credit for r in rows), ZERO)
    if debit != credit or len(rows) < 2:
        raise DomainError(
            f"Entry does not balance: debit {debit}, credit {credit}",
            code="unbalanced_entry",
            extra={"debit": str(debit), "credit": str(credit)},
        )


# --- reversal ------------------------------------------------------------------------------------
def entry_reverse(*, entry_id: int, actor: Actor | None, reason: str = "") -> JournalEntry:
    """Reverse a posted entry: a mirror entry dated today (or the first open period after a closed
    one), the original marked reversed. Returns the reversing entry."""
    with transaction.atomic():
        original = JournalEntry.objects.select_for_update(of=("self",)).filter(pk=entry_id).first()
        if original is None:
            raise NotFound(f"Journal entry {entry_id} does not exist")
        if original.status != EntryStatus.POSTED:
            raise InvalidTransition(
                f"{original.number} cannot be reversed from status {original.status!r}",
                extra={"status": original.status},
            )
        today = timezone.localdate()
        period, day, moved_from = _posting_period(day=today, may_post_soft_closed=False)
        lines = list(original.lines.all())
        reversal = JournalEntry.objects.create(
            date=day,
            period=period,
            description=f"Reversal of {original.number}: {reason or original.description}"[:300],
            source_type=SOURCE_REVERSAL,
            source_id=str(original.pk),
            event=EVENT_ENTRY_REVERSED,
            original_date=moved_from,
            currency=original.currency,
            reversal_of=original,
            created_by=real_user(actor),
        )
        JournalLine.objects.bulk_create(
            [
                JournalLine(
                    entry=reversal,
                    account_id=ln.account_id,
                    debit=ln.credit,
                    credit=ln.debit,
                    currency=ln.currency,
                    amount=ln.amount,
                    location=ln.location,
                    channel=ln.channel,
                    memo=f"reverses line {ln.pk}"[:200],
                    product_id=ln.product_id,
                )
                for ln in lines
            ]
        )
        reversal.post()
        reversal.save()
        original.mark_reversed()
        original.save(update_fields=["status"])
        outbox_emit(
            Event(
                name=EVENT_ENTRY_REVERSED,
                aggregate_type="journal.entry",
                aggregate_id=original.pk,
                payload={
                    "entry_id": original.pk,
                    "reversal_id": reversal.pk,
                    "date": day.isoformat(),
                    "by": user.get_username() if (user := real_user(actor)) is not None else "system",
                },
            )
        )
        return reversal


# --- manual entries ------------------------------------------------------------------------------
def _may_post_soft_closed(user: Actor | None) -> bool:
    real = real_user(user)
    return bool(real is not None and real.has_perm(PERM_POST_SOFT_CLOSED))


def manual_entry_create(
    *, day: date, description: str, currency: str, lines: Sequence[Line], author: Actor
) -> JournalEntry:
    """A manual entry by finance: saved as a draft with its lines and sent to approval (approver ≠
    author, enforced by the approval engine). It posts when approved."""
    from apps.approvals.services import approval_evaluate, approval_request_start

    period = period_for(day=day)
    if period.status == PeriodStatus.HARD_CLOSED:
        raise DomainError(f"Period {period.key} is hard closed: nothing posts into it", code="period_closed")
    if period.status == PeriodStatus.SOFT_CLOSED and not _may_post_soft_closed(author):
        raise DomainError(f"Period {period.key} is soft closed: only finance may post into it", code="period_closed")
    if not description.strip():
        raise DomainError("A manual entry needs a description", code="description_required")
    with transaction.atomic():
        entry = JournalEntry.objects.create(
            date=day,
            period=period,
            description=description.strip()[:300],
            source_type=SOURCE_MANUAL,
            source_id=uuid.uuid4().hex,
            event="journal.manual_entry.created",
            currency=currency.upper(),
            manual_approval=ManualApproval.PENDING,
            created_by=real_user(author),
        )
        rows = _to_rows(entry, lines, _accounts(ln.account for ln in lines))
        _check_balanced(rows)
        JournalLine.objects.bulk_create(rows)
        amount = sum((r.debit for r in rows), ZERO)
        evaluation = approval_evaluate(subject_type=SUBJECT_MANUAL_ENTRY, metrics={"amount": amount})
        if not evaluation.required:
            raise DomainError(
                "No approval policy applies to manual journal entries; refusing to post unapproved",
                code="approval_policy_missing",
            )
        approval_request_start(
            evaluation=evaluation,
            subject_id=entry.pk,
            requested_by=author,
            summary=f"{entry.number} {entry.date}: {entry.description} ({amount} {settings.COMPANY_CURRENCY})",
            currency=settings.COMPANY_CURRENCY,
        )
        return entry


def _manual_lock(subject_id: str) -> JournalEntry:
    entry = JournalEntry.objects.select_for_update(of=("self",)).filter(pk=int(subject_id)).first()
    if entry is None:
        raise NotFound(f"Journal entry {subject_id} does not exist")
    if entry.status != EntryStatus.DRAFT or entry.manual_approval != ManualApproval.PENDING:
        raise InvalidTransition(f"{entry.number} is not waiting for approval", extra={"status": entry.status})
    return entry


def manual_entry_apply_approval(decided: Any) -> JournalEntry:
    """Approved: the draft posts. If its period closed meanwhile it moves to the first open period
    (soft-closed stays allowed when the author is finance)."""
    with transaction.atomic():
        entry = _manual_lock(decided.subject_id)
        period, day, moved_from = _posting_period(
            day=entry.date, may_post_soft_closed=_may_post_soft_closed(entry.created_by)
        )
        if moved_from is not None:
            entry.period, entry.date, entry.original_date = period, day, moved_from
            entry.description = f"{entry.description} (dated {moved_from.isoformat()}, period closed)"[:300]
        entry.manual_approval = ManualApproval.APPROVED
        entry.post()
        entry.save()
        outbox_emit(
            Event(
                name=EVENT_ENTRY_POSTED,
                aggregate_type="journal.entry",
                aggregate_id=entry.pk,
                payload={"entry_id": entry.pk, "source_type": SOURCE_MANUAL, "approval_request_id": decided.request_id},
            )
        )
        return entry


def manual_entry_apply_rejection(decided: Any) -> JournalEntry:
    """Rejected: the draft stays as a record of the request and never posts."""
    with transaction.atomic():
        entry = _manual_lock(decided.subject_id)
        entry.manual_approval = ManualApproval.REJECTED
        entry.save(update_fields=["manual_approval"])
        return entry


# --- moving average cost -------------------------------------------------------------------------
def _costs_locked(
    keys: Iterable[tuple[int, str]], skus: dict[int, str] | None = None
) -> dict[tuple[int, str], ProductCost]:
    """Lock (creating when missing) the cost rows of (product_id, location) pairs in key order."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    ProductCost.objects.bulk_create(
        [ProductCost(product_id=p, location=loc, sku=(skus or {}).get(p, "")) for p, loc in wanted],
        ignore_conflicts=True,
    )
    from django.db.models import Q

    cond = Q()
    for p, loc in wanted:
        cond |= Q(product_id=p, location=loc)
    rows = ProductCost.objects.select_for_update().filter(cond).order_by("product_id", "location")
    return {(r.product_id, r.location): r for r in rows}


def _reaverage(row: ProductCost) -> None:
    if row.quantity > 0:
        row.unit_cost = (row.value / row.quantity).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    elif row.quantity == 0:
        row.value = ZERO


class CostBook:
    """The moving average costs touched by one posting, locked for its transaction."""

    def __init__(self, keys: Iterable[tuple[int, str]], skus: dict[int, str] | None = None) -> None:
        self.rows = _costs_locked(keys, skus)

    def receive(self, *, product_id: int, location: str, quantity: int, unit_cost: Decimal) -> Decimal:
        """Goods in at a known cost: the average moves. Returns the value added."""
        row = self.rows[(product_id, location)]
        value = money(Decimal(quantity) * unit_cost)
        row.quantity += quantity
        row.value += value
        if row.quantity <= 0:
            row.unit_cost = unit_cost
        _reaverage(row)
        return value

    def unit_cost(self, *, product_id: int, location: str) -> Decimal:
        row = self.rows[(product_id, location)]
        if row.unit_cost == 0 and row.quantity <= 0:
            # Never received here: the average elsewhere is the best estimate we have.
            other = (
                ProductCost.objects.filter(product_id=product_id, quantity__gt=0)
                .exclude(location=location)
                .order_by("-quantity")
                .values_list("unit_cost", flat=True)
                .first()
            )
            return other or Decimal("0")
        return row.unit_cost

    def restore(self, *, product_id: int, location: str, quantity: int) -> Decimal:
        """Goods back in at the current average (returns, found stock). Returns the value added."""
        return self.receive(
            product_id=product_id,
            location=location,
            quantity=quantity,
            unit_cost=self.unit_cost(product_id=product_id, location=location),
        )

    def issue(self, *, product_id: int, location: str, quantity: int) -> Decimal:
        """Goods out at the moving average: the value taken is the exact share of the value held,
        so the inventory lines of a product and location always add up to `value`."""
        row = self.rows[(product_id, location)]
        if 0 < quantity <= row.quantity:
            cost = money(row.value * quantity / row.quantity)
        else:
            cost = money(Decimal(quantity) * self.unit_cost(product_id=product_id, location=location))
        row.quantity -= quantity
        row.value -= cost
        _reaverage(row)
        return cost

    def save(self) -> None:
        now = timezone.now()
        for row in self.rows.values():
            row.updated_at = now
        ProductCost.objects.bulk_update(self.rows.values(), ["quantity", "value", "unit_cost", "updated_at"])
