"""Report exports: CSV of the trial balance, GL detail and P&L; a period as a beancount ledger."""

import csv
import io
import re
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from django.conf import settings

from apps.journal import selectors
from apps.journal.models import Account, AccountType, JournalEntry, JournalLine, Period

ZERO = Decimal("0.00")


def _csv(header: list[str], rows: Iterable[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def trial_balance_csv(*, period: Period) -> str:
    rows = selectors.trial_balance(period=period)
    body = [[r.code, r.name, r.type, r.debit, r.credit, r.debit - r.credit] for r in rows]
    body.append(["", "Total", "", sum((r.debit for r in rows), ZERO), sum((r.credit for r in rows), ZERO), ""])
    return _csv(["account", "name", "type", "debit", "credit", "debit_minus_credit"], body)


def ledger_csv(*, lines: Iterable[JournalLine]) -> str:
    running = ZERO
    body = []
    for ln in lines:
        running += ln.debit - ln.credit
        e = ln.entry
        body.append(
            [e.date, e.number, e.description, e.source_type, e.source_id, ln.location, ln.channel, ln.memo,
             ln.debit, ln.credit, running, ln.currency, ln.amount]
        )  # fmt: skip
    header = ["date", "entry", "description", "source_type", "source_id", "location", "channel", "memo",
              "debit", "credit", "balance", "currency", "amount"]  # fmt: skip
    return _csv(header, body)


def pnl_csv(*, period: Period) -> str:
    body = [
        [r.channel, r.location, r.revenue, r.returns, r.net_revenue, r.cogs, r.gross_margin, r.other_expenses, r.profit]
        for r in selectors.profit_and_loss(period=period)
    ]
    header = ["channel", "location", "revenue", "returns", "net_revenue", "cogs", "gross_margin", "other_expenses",
              "profit"]  # fmt: skip
    return _csv(header, body)


# --- beancount -----------------------------------------------------------------------------------
_ROOTS = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.REVENUE: "Income",
    AccountType.EXPENSE: "Expenses",
}


def beancount_account(account: Account) -> str:
    """`Assets:A1000-Bank`: the type's root, then the code and the name in letters and digits."""
    words = re.findall(r"[A-Za-z0-9]+", account.name)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Account"
    return f"{_ROOTS[AccountType(account.type)]}:A{account.code}-{name}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', "'").replace("\n", " ") + '"'


def beancount_export(*, period: Period) -> str:
    """The period as a beancount ledger in the company currency: accounts opened on the period's first
    day, balances brought forward as one opening transaction, every booked entry of the period, and a
    `balance` assertion per account the day after the period ends, so `bean-check` verifies that the
    entries add up to our own closing trial balance."""
    currency = settings.COMPANY_CURRENCY
    accounts = {a.pk: a for a in Account.objects.all()}
    names = {pk: beancount_account(a) for pk, a in accounts.items()}
    start = period.start
    out = [
        f"; RetailOps journal, period {period.key} ({period.get_status_display().lower()}), amounts in {currency}",
        f'option "title" "RetailOps {period.key}"',
        f'option "operating_currency" "{currency}"',
        "",
    ]
    for pk in sorted(accounts, key=lambda k: accounts[k].code):
        out.append(f"{start.isoformat()} open {names[pk]} {currency}")
    out.append("")
    opening = [r for r in selectors.balances_before(period=period) if r.debit != r.credit]
    if opening:
        by_code = {a.code: a.pk for a in accounts.values()}
        out.append(f'{start.isoformat()} * "Balances brought forward"')
        for r in opening:
            out.append(f"  {names[by_code[r.code]]}  {r.debit - r.credit} {currency}")
        out.append("")
    entries = (
        JournalEntry.objects.filter(period=period, status__in=selectors.BOOKED)
        .prefetch_related("lines")
        .order_by("date", "id")
    )
    for e in entries:
        flag = "*"
        out.append(f"{e.date.isoformat()} {flag} {_quote(e.description)}")
        out.append(f"  entry: {_quote(e.number)}")
        out.append(f"  source: {_quote(f'{e.source_type}:{e.source_id}:{e.event}')}")
        if e.original_date:
            out.append(f"  original-date: {e.original_date.isoformat()}")
        for ln in e.lines.all():
            amount = ln.debit - ln.credit
            out.append(f"  {names[ln.account_id]}  {amount} {currency}")
        out.append("")
    closing = {r.code: r.debit - r.credit for r in selectors.trial_balance(period=period)}
    after = (period.end + timedelta(days=1)).isoformat()
    for pk in sorted(accounts, key=lambda k: accounts[k].code):
        out.append(f"{after} balance {names[pk]}  {closing.get(accounts[pk].code, ZERO):.2f} {currency}")
    return "\n".join(out) + "\n"
