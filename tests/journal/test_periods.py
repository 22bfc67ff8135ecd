"""Periods (soft / hard close, late events), manual entries through approval, and reversals."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.approvals import selectors as approval_selectors
from apps.approvals import services as approvals
from apps.approvals.errors import SeparationOfDuties
from apps.approvals.models import ApprovalRequest
from apps.core.errors import DomainError, InvalidTransition
from apps.core.models import OutboxEvent
from apps.journal import services
from apps.journal.models import EntryStatus, JournalEntry, ManualApproval, Period, PeriodStatus
from apps.journal.services import Line
from tests.approvals.helpers import person
from tests.journal.helpers import D, emit, entry_for, ledger_counts, relay, sides

pytestmark = pytest.mark.django_db

PAYOUT = {"currency": "USD", "charges": "100.00", "refunds": "0.00", "fees": "3.00", "net": "97.00", "run_id": 1}


@pytest.fixture
def finance(db):
    return person("fin", "finance")


@pytest.fixture
def finance2(db):
    return person("fay", "finance")


@pytest.fixture
def ops(db):
    return person("olga", "ops_admin")


def months_ago(n: int) -> date:
    day = timezone.localdate().replace(day=1)
    for _ in range(n):
        day = (day - timedelta(days=1)).replace(day=1)
    return day


def approve(entry, user, comment="ok"):
    request = ApprovalRequest.objects.get(subject_type="journal.manual_entry", subject_id=str(entry.pk))
    task = approval_selectors.approval_request_open_task(request=request)
    approvals.approval_task_claim(task_id=task.pk, user=user)
    return approvals.approval_task_approve(task_id=task.pk, user=user, comment=comment)


def manual(author, day, amount="100.00"):
    return services.manual_entry_create(
        day=day,
        description="Accrue November rent",
        currency="USD",
        lines=[Line("6000", debit=D(amount)), Line("2000", credit=D(amount))],
        author=author,
    )


# --- periods and late events ---------------------------------------------------------------------
def test_an_event_dated_in_an_open_period_posts_on_its_date():
    last_month = months_ago(1)
    emit(
        "reconciliation.payout.settled",
        {**PAYOUT, "payout_id": "po1", "paid_on": (last_month + timedelta(4)).isoformat()},
    )
    relay()
    entry = entry_for("reconciliation.payout", "po1", "reconciliation.payout.settled")
    assert (entry.date, entry.period.start, entry.original_date) == (last_month + timedelta(4), last_month, None)


@pytest.mark.parametrize("hard", [False, True], ids=["soft-closed", "hard-closed"])
def test_an_event_dated_in_a_closed_period_posts_into_the_first_open_period_with_the_original_date(finance, hard):
    closed = months_ago(2)
    services.period_close(period=f"{closed:%Y-%m}", hard=False, actor=finance)
    if hard:
        services.period_close(period=f"{closed:%Y-%m}", hard=True, actor=finance)
    services.period_close(period=f"{months_ago(1):%Y-%m}", hard=False, actor=finance)  # the next month too
    paid_on = closed + timedelta(days=9)
    emit("reconciliation.payout.settled", {**PAYOUT, "payout_id": "late", "paid_on": paid_on.isoformat()})
    relay()
    entry = entry_for("reconciliation.payout", "late", "reconciliation.payout.settled")
    this_month = months_ago(0)
    assert (entry.period.start, entry.date, entry.original_date) == (this_month, this_month, paid_on)
    assert f"dated {paid_on.isoformat()}" in entry.description
    assert not JournalEntry.objects.filter(period__start=closed).exists()


def test_hard_close_needs_earlier_periods_hard_closed_first(finance):
    services.period_close(period=f"{months_ago(2):%Y-%m}", hard=False, actor=finance)
    with pytest.raises(DomainError) as err:
        services.period_close(period=f"{months_ago(1):%Y-%m}", hard=True, actor=finance)
    assert err.value.code == "earlier_period_open"
    assert not Period.objects.filter(start=months_ago(1), status=PeriodStatus.HARD_CLOSED).exists()


def test_a_hard_closed_period_cannot_be_reopened_or_closed_again(finance):
    key = f"{months_ago(1):%Y-%m}"
    services.period_close(period=key, hard=True, actor=finance)
    with pytest.raises(InvalidTransition):
        services.period_reopen(period=key, actor=finance)
    with pytest.raises(InvalidTransition):
        services.period_close(period=key, hard=False, actor=finance)
    assert OutboxEvent.objects.filter(name="journal.period.closed").count() == 1


def test_a_soft_closed_period_can_be_reopened(finance):
    key = f"{months_ago(1):%Y-%m}"
    services.period_close(period=key, hard=False, actor=finance)
    assert services.period_reopen(period=key, actor=finance).status == PeriodStatus.OPEN


# --- manual entries ------------------------------------------------------------------------------
def test_a_manual_entry_waits_as_a_draft_and_posts_when_another_finance_user_approves(finance, finance2):
    day = timezone.localdate()
    entry = manual(finance, day)
    assert (entry.status, entry.manual_approval) == (EntryStatus.DRAFT, ManualApproval.PENDING)
    approve(entry, finance2)
    entry = JournalEntry.objects.get(pk=entry.pk)
    assert (entry.status, entry.manual_approval, entry.date) == (EntryStatus.POSTED, ManualApproval.APPROVED, day)
    assert sides(entry) == {"6000": (D("100.00"), D("0")), "2000": (D("0"), D("100.00"))}


def test_the_author_cannot_approve_their_own_manual_entry(finance):
    entry = manual(finance, timezone.localdate())
    with pytest.raises(SeparationOfDuties):
        approve(entry, finance)
    assert JournalEntry.objects.get(pk=entry.pk).status == EntryStatus.DRAFT


def test_an_unbalanced_manual_entry_is_refused_and_nothing_is_written(finance):
    before = ledger_counts()
    with pytest.raises(DomainError) as err:
        services.manual_entry_create(
            day=timezone.localdate(),
            description="typo",
            currency="USD",
            lines=[Line("6000", debit=D("100.00")), Line("2000", credit=D("99.00"))],
            author=finance,
        )
    assert err.value.code == "unbalanced_entry"
    assert ledger_counts() == before
    assert not ApprovalRequest.objects.exists()


def test_only_finance_may_post_into_a_soft_closed_period(finance, finance2, ops):
    day = months_ago(1) + timedelta(days=3)
    services.period_close(period=f"{day:%Y-%m}", hard=False, actor=finance)
    with pytest.raises(DomainError) as err:
        manual(ops, day)
    assert err.value.code == "period_closed"
    entry = manual(finance, day)
    approve(entry, finance2)
    entry = JournalEntry.objects.get(pk=entry.pk)
    assert (entry.status, entry.date, entry.period.start) == (EntryStatus.POSTED, day, months_ago(1))


def test_nothing_posts_into_a_hard_closed_period(finance):
    day = months_ago(1) + timedelta(days=3)
    services.period_close(period=f"{day:%Y-%m}", hard=True, actor=finance)
    before = ledger_counts()
    with pytest.raises(DomainError) as err:
        manual(finance, day)
    assert err.value.code == "period_closed"
    assert ledger_counts() == before


def test_a_manual_entry_approved_after_its_period_was_hard_closed_moves_to_the_first_open_period(finance, finance2):
    day = months_ago(1) + timedelta(days=3)
    entry = manual(finance, day)
    Period.objects.filter(start=months_ago(1)).update(status=PeriodStatus.HARD_CLOSED)
    approve(entry, finance2)
    entry = JournalEntry.objects.get(pk=entry.pk)
    assert (entry.status, entry.date, entry.original_date) == (EntryStatus.POSTED, months_ago(0), day)


def test_a_rejected_manual_entry_never_posts(finance, finance2):
    entry = manual(finance, timezone.localdate())
    request = ApprovalRequest.objects.get(subject_type="journal.manual_entry", subject_id=str(entry.pk))
    task = approval_selectors.approval_request_open_task(request=request)
    approvals.approval_task_claim(task_id=task.pk, user=finance2)
    approvals.approval_task_reject(task_id=task.pk, user=finance2, comment="no invoice attached")
    entry = JournalEntry.objects.get(pk=entry.pk)
    assert (entry.status, entry.manual_approval) == (EntryStatus.DRAFT, ManualApproval.REJECTED)


# --- reversal ------------------------------------------------------------------------------------
def test_a_reversal_mirrors_the_entry_today_and_marks_the_original_reversed(finance):
    emit("reconciliation.payout.settled", {**PAYOUT, "payout_id": "po9", "paid_on": months_ago(1).isoformat()})
    relay()
    original = entry_for("reconciliation.payout", "po9", "reconciliation.payout.settled")
    reversal = services.entry_reverse(entry_id=original.pk, actor=finance, reason="duplicate payout")
    assert reversal.date == timezone.localdate()
    assert reversal.reversal_of_id == original.pk
    assert sides(reversal) == {"1000": (D("0"), D("97.00")), "6000": (D("0"), D("3.00")), "1100": (D("100.00"), D("0"))}
    assert JournalEntry.objects.get(pk=original.pk).status == EntryStatus.REVERSED
    with pytest.raises(InvalidTransition):
        services.entry_reverse(entry_id=original.pk, actor=finance)
    assert JournalEntry.objects.filter(reversal_of=original).count() == 1
    assert sum((ln.debit - ln.credit for ln in reversal.lines.all()), Decimal(0)) == 0


def test_a_month_with_a_manual_entry_waiting_for_approval_cannot_be_hard_closed(finance):
    day = months_ago(1) + timedelta(days=3)
    manual(finance, day)
    with pytest.raises(DomainError) as err:
        services.period_close(period=f"{day:%Y-%m}", hard=True, actor=finance)
    assert err.value.code == "pending_manual_entries"
    assert Period.objects.get(start=months_ago(1)).status == PeriodStatus.OPEN
