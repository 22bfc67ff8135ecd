"""Journal reads: accounts, entries, trial balance, general-ledger detail, P&L by channel and location."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from apps.core.errors import DomainError, NotFound
from apps.journal.models import DEBIT_NORMAL, Account, AccountType, EntryStatus, JournalEntry, JournalLine, Period

ZERO = Decimal("0.00")
BOOKED = [EntryStatus.POSTED, EntryStatus.REVERSED]  # a reversed entry still counts: its reversal offsets it


def account_list(*, active: bool | None = None) -> QuerySet[Account]:
    qs = Account.objects.all().order_by("code")
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def period_get(*, key: str) -> Period:
    """A period by "YYYY-MM" (400 for a malformed key, 404 when it was never opened)."""
    try:
        year, month = (int(p) for p in key.split("-"))
        start = date(year, month, 1)
    except ValueError:
        raise DomainError(f"{key!r} is not a period (YYYY-MM)", code="invalid_period") from None
    period = Period.objects.filter(start=start).first()
    if period is None:
        raise NotFound(f"Period {key} has no entries")
    return period


def period_list() -> QuerySet[Period]:
    return Period.objects.annotate(
        entry_count=Count("entries", filter=Q(entries__status__in=BOOKED)),
        pending_count=Count("entries", filter=Q(entries__status=EntryStatus.DRAFT, entries__manual_approval="pending")),
    ).order_by("-start")


def entry_list(
    *,
    period: Period | None = None,
    account: str | None = None,
    source_type: str | None = None,
    source_id: str | None = None,
    status: str | None = None,
) -> QuerySet[JournalEntry]:
    qs = JournalEntry.objects.select_related("period", "created_by", "reversal_of")
    if period is not None:
        qs = qs.filter(period=period)
    if account:
        qs = qs.filter(pk__in=JournalLine.objects.filter(account__code=account).values("entry_id"))
    if source_type:
        qs = qs.filter(source_type=source_type)
    if source_id:
        qs = qs.filter(source_id=source_id)
    if status:
        qs = qs.filter(status=status)
    return qs.prefetch_related(
        Prefetch("lines", queryset=JournalLine.objects.select_related("account").order_by("id"))
    ).order_by("-date", "-id")


def entry_get(*, entry_id: int) -> JournalEntry:
    entry = entry_list().filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"Journal entry {entry_id} does not exist")
    return entry


def entry_reversed_by(*, entry: JournalEntry) -> JournalEntry | None:
    return JournalEntry.objects.filter(reversal_of=entry).first()


@dataclass(frozen=True)
class BalanceRow:
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Signed the natural way for the account type (assets/expenses: Dr − Cr; others Cr − Dr)."""
        return self.debit - self.credit if self.type in DEBIT_NORMAL else self.credit - self.debit


def _balances(lines: QuerySet[JournalLine]) -> list[BalanceRow]:
    sums = {
        r["account_id"]: (r["debit"] or ZERO, r["credit"] or ZERO)
        for r in lines.values("account_id").annotate(debit=Sum("debit"), credit=Sum("credit"))
    }
    return [
        BalanceRow(a.code, a.name, a.type, *sums[a.pk]) for a in Account.objects.filter(pk__in=sums).order_by("code")
    ]


def booked_lines() -> QuerySet[JournalLine]:
    return JournalLine.objects.filter(entry__status__in=BOOKED)


def trial_balance(*, period: Period, cumulative: bool = True) -> list[BalanceRow]:
    """Per account: total debits and credits up to the end of the period (or within it only)."""
    lines = booked_lines().filter(entry__period__start__lte=period.start)
    if not cumulative:
        lines = lines.filter(entry__period=period)
    return _balances(lines)


def balances_before(*, period: Period) -> list[BalanceRow]:
    return _balances(booked_lines().filter(entry__period__start__lt=period.start))


def ledger_lines(
    *,
    account: str,
    period: Period | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    location: str = "",
    channel: str = "",
) -> QuerySet[JournalLine]:
    """General-ledger detail of one account, oldest first."""
    qs = booked_lines().filter(account__code=account).select_related("entry", "account")
    if period is not None:
        qs = qs.filter(entry__period=period)
    if date_from:
        qs = qs.filter(entry__date__gte=date_from)
    if date_to:
        qs = qs.filter(entry__date__lte=date_to)
    if location:
        qs = qs.filter(location=location)
    if channel:
        qs = qs.filter(channel=channel)
    return qs.order_by("entry__date", "entry_id", "id")


@dataclass(frozen=True)
class PnlRow:
    channel: str
    location: str
    revenue: Decimal
    returns: Decimal
    cogs: Decimal
    other_expenses: Decimal

    @property
    def net_revenue(self) -> Decimal:
        return self.revenue - self.returns

    @property
    def gross_margin(self) -> Decimal:
        return self.net_revenue - self.cogs

    @property
    def profit(self) -> Decimal:
        return self.gross_margin - self.other_expenses


RETURNS_ACCOUNT = "4500"
COGS_ACCOUNT = "5000"


def profit_and_loss(*, period: Period) -> list[PnlRow]:
    """Revenue, returns, COGS and other expenses of one period by (channel, location)."""
    rows = (
        booked_lines()
        .filter(entry__period=period, account__type__in=[AccountType.REVENUE, AccountType.EXPENSE])
        .values("channel", "location", "account__code", "account__type")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    )
    acc: dict[tuple[str, str], dict[str, Decimal]] = {}
    for r in rows:
        bucket = acc.setdefault((r["channel"], r["location"]), {"rev": ZERO, "ret": ZERO, "cogs": ZERO, "exp": ZERO})
        dr, cr = r["debit"] or ZERO, r["credit"] or ZERO
        if r["account__code"] == RETURNS_ACCOUNT:
            bucket["ret"] += dr - cr
        elif r["account__type"] == AccountType.REVENUE:
            bucket["rev"] += cr - dr
        elif r["account__code"] == COGS_ACCOUNT:
            bucket["cogs"] += dr - cr
        else:
            bucket["exp"] += dr - cr
    return [
        PnlRow(channel, location, b["rev"], b["ret"], b["cogs"], b["exp"])
        for (channel, location), b in sorted(acc.items())
    ]


def inventory_by_location() -> dict[str, Decimal]:
    """Balance of the inventory account per location (debit − credit)."""
    rows = (
        booked_lines()
        .filter(account__code="1300")
        .values("location")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    )
    return {r["location"]: (r["debit"] or ZERO) - (r["credit"] or ZERO) for r in rows}


def account_balance(*, code: str) -> Decimal:
    row = booked_lines().filter(account__code=code).aggregate(debit=Sum("debit"), credit=Sum("credit"))
    return (row["debit"] or ZERO) - (row["credit"] or ZERO)


def transit_value_by_product(*, transfer_id: int) -> dict[int, Decimal]:
    """Value put in transit by a transfer's dispatch entry, per product."""
    rows = (
        booked_lines()
        .filter(
            entry__source_type="stock.transfer",
            entry__source_id=str(transfer_id),
            entry__event="stock.transfer.dispatched",
            account__code="1310",
        )
        .values("product_id")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    )
    return {r["product_id"]: (r["debit"] or ZERO) - (r["credit"] or ZERO) for r in rows if r["product_id"] is not None}


def manual_entry_describe(subject_id: str):
    """How a manual entry looks in the approval screens."""
    from django.urls import NoReverseMatch, reverse

    from apps.approvals.registry import SubjectDescription

    entry = entry_list().filter(pk=int(subject_id)).first() if subject_id.isdigit() else None
    if entry is None:
        return None
    try:
        url = reverse("journal:ledger:detail", kwargs={"pk": entry.pk})
    except NoReverseMatch:
        url = ""
    lines = list(entry.lines.all())
    return SubjectDescription(
        title=f"Manual entry {entry.number}: {entry.description}",
        url=url,
        facts=[
            ("Date", entry.date.isoformat()),
            ("Period", f"{entry.period.key} ({entry.period.get_status_display().lower()})"),
            ("Author", entry.created_by.get_username() if entry.created_by else ""),
            ("Total", f"{sum((ln.debit for ln in lines), ZERO)}"),
        ],
        columns=["Account", "Debit", "Credit", "Location", "Channel", "Memo"],
        rows=[[str(ln.account), str(ln.debit), str(ln.credit), ln.location, ln.channel, ln.memo] for ln in lines],
    )
