"""The database itself keeps the ledger balanced and immutable (raw SQL, bypassing every service)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction

from apps.journal.models import Account, EntryStatus, JournalEntry, JournalLine
from apps.journal.services import Line, Posting, entry_post, period_for


def _insert_entry(status: str, key: str = "1") -> int:
    period = period_for(day=date(2026, 11, 5))
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO journal_journalentry (date, period_id, status, description, source_type, source_id, event,"
            " currency, manual_approval, created_at) VALUES (%s, %s, %s, 'raw', 'test', %s, 'raw', 'USD', '', now())"
            " RETURNING id",
            [date(2026, 11, 5), period.pk, status, f"raw-{key}"],
        )
        return cur.fetchone()[0]


def _insert_line(entry_id: int, code: str, debit: str, credit: str) -> None:
    account = Account.objects.get(code=code)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO journal_journalline (entry_id, account_id, debit, credit, currency, amount, location, channel,"
            " memo) VALUES (%s, %s, %s, %s, 'USD', %s, '', '', '')",
            [entry_id, account.pk, debit, credit, max(Decimal(debit), Decimal(credit))],
        )


def _posted_entry() -> JournalEntry:
    entry, created = entry_post(
        posting=Posting(
            source_type="test",
            source_id="1",
            event="test.posted",
            date=date(2026, 11, 5),
            description="test",
            currency="USD",
            build=lambda: [Line("1000", debit=Decimal("10.00")), Line("3000", credit=Decimal("10.00"))],
        )
    )
    assert created
    return entry


@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_posted_entry_inserted_with_raw_sql_is_refused_at_commit():
    # given an entry and lines that do not balance, inserted and marked posted in one transaction
    with pytest.raises(IntegrityError, match="not balanced: debit 10.00, credit 9.99"):
        with transaction.atomic():
            entry_id = _insert_entry("draft")
            _insert_line(entry_id, "1000", "10.00", "0")
            _insert_line(entry_id, "3000", "0", "9.99")
            with connection.cursor() as cur:
                cur.execute("UPDATE journal_journalentry SET status = 'posted' WHERE id = %s", [entry_id])
    # then the commit was refused and nothing is left
    assert JournalEntry.objects.count() == 0
    assert JournalLine.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_entry_inserted_as_posted_without_lines_is_refused_at_commit():
    with pytest.raises(IntegrityError, match="0 line"):
        with transaction.atomic():
            _insert_entry("posted")
    assert JournalEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_posted_entry_with_a_single_line_is_refused():
    with pytest.raises(IntegrityError, match="1 line"):
        with transaction.atomic():
            entry_id = _insert_entry("draft")
            _insert_line(entry_id, "1000", "10.00", "0")
            with connection.cursor() as cur:
                cur.execute("UPDATE journal_journalentry SET status = 'posted' WHERE id = %s", [entry_id])
    assert JournalEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_balanced_raw_entry_commits_and_a_draft_may_be_unbalanced():
    with transaction.atomic():
        posted = _insert_entry("draft")
        _insert_line(posted, "1000", "10.00", "0")
        _insert_line(posted, "3000", "0", "10.00")
        with connection.cursor() as cur:
            cur.execute("UPDATE journal_journalentry SET status = 'posted' WHERE id = %s", [posted])
    with transaction.atomic():
        draft = _insert_entry("draft", key="2")
        _insert_line(draft, "1000", "5.00", "0")
    assert JournalEntry.objects.get(pk=posted).status == EntryStatus.POSTED
    assert JournalLine.objects.filter(entry_id=draft).count() == 1


@pytest.mark.django_db(transaction=True)
def test_posting_a_draft_that_does_not_balance_is_refused_at_commit():
    with transaction.atomic():
        draft = _insert_entry("draft")
        _insert_line(draft, "1000", "5.00", "0")
        _insert_line(draft, "3000", "0", "4.00")
    with pytest.raises(IntegrityError, match="not balanced"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("UPDATE journal_journalentry SET status = 'posted' WHERE id = %s", [draft])
    assert JournalEntry.objects.get(pk=draft).status == EntryStatus.DRAFT


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("UPDATE journal_journalline SET debit = debit + 1 WHERE entry_id = %s", id="update-line"),
        pytest.param("DELETE FROM journal_journalline WHERE entry_id = %s", id="delete-line"),
        pytest.param("UPDATE journal_journalentry SET description = 'edited' WHERE id = %s", id="update-entry"),
        pytest.param("UPDATE journal_journalentry SET date = '2026-11-06' WHERE id = %s", id="redate-entry"),
        pytest.param("DELETE FROM journal_journalentry WHERE id = %s", id="delete-entry"),
        pytest.param("UPDATE journal_journalentry SET status = 'draft' WHERE id = %s", id="back-to-draft"),
        pytest.param(
            "UPDATE journal_journalentry SET status = 'reversed', description = 'x' WHERE id = %s",
            id="reversed-plus-edit",
        ),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_posted_entries_and_their_lines_cannot_be_changed(sql):
    entry = _posted_entry()
    before = list(JournalLine.objects.filter(entry=entry).values_list("debit", "credit"))
    with pytest.raises((IntegrityError, InternalError), match="immutable|cannot be changed"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [entry.pk])
    entry = JournalEntry.objects.get(pk=entry.pk)
    assert entry.status == EntryStatus.POSTED
    assert entry.description == "test"
    assert list(JournalLine.objects.filter(entry=entry).values_list("debit", "credit")) == before


@pytest.mark.django_db(transaction=True)
def test_a_line_cannot_be_added_to_a_posted_entry():
    entry = _posted_entry()
    with pytest.raises((IntegrityError, InternalError), match="immutable"):
        with transaction.atomic():
            _insert_line(entry.pk, "1000", "1.00", "0")
    assert JournalLine.objects.filter(entry=entry).count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_only_change_allowed_is_the_reversed_marker_and_then_nothing():
    entry = _posted_entry()
    with connection.cursor() as cur:
        cur.execute("UPDATE journal_journalentry SET status = 'reversed' WHERE id = %s", [entry.pk])
    assert JournalEntry.objects.get(pk=entry.pk).status == EntryStatus.REVERSED
    with pytest.raises((IntegrityError, InternalError), match="cannot be changed"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("UPDATE journal_journalentry SET status = 'posted' WHERE id = %s", [entry.pk])
