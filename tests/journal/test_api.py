"""Journal API: accounts, entries (filters, detail, manual create, reverse), trial balance, periods."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.journal.models import EntryStatus, JournalEntry
from tests.approvals.helpers import client_for, person
from tests.journal.helpers import emit, ledger_counts, relay

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(db):
    return person("fin", "finance")


@pytest.fixture
def fin_api(finance):
    return client_for(finance)


def payout(pid, paid_on=None, net="97.00"):
    paid_on = paid_on or timezone.localdate()
    emit(
        "reconciliation.payout.settled",
        {"payout_id": pid, "currency": "USD", "charges": "100.00", "refunds": "0.00", "fees": "3.00", "net": net,
         "paid_on": paid_on.isoformat(), "run_id": 1},
    )  # fmt: skip
    relay()
    return JournalEntry.objects.get(source_id=pid)


def test_accounts_lists_the_seeded_chart(fin_api):
    res = fin_api.get("/api/v1/accounts/")
    assert res.status_code == 200
    codes = [a["code"] for a in res.json()]
    assert codes[:4] == ["1000", "1100", "1200", "1300"]
    assert {"2100", "2200", "4000", "4010", "4020", "4500", "5000", "5100", "5200", "6000"} <= set(codes)


def test_a_store_manager_may_not_read_the_ledger(db):
    manager = person("sam", "store_manager")
    assert client_for(manager).get("/api/v1/journal-entries/").status_code == 403


def test_entries_filter_by_period_account_and_source(fin_api):
    this = payout("po_now")
    last = payout("po_old", paid_on=timezone.localdate().replace(day=1) - timedelta(days=1))
    key = f"{timezone.localdate():%Y-%m}"
    assert [e["id"] for e in fin_api.get(f"/api/v1/journal-entries/?period={key}").json()["results"]] == [this.pk]
    res = fin_api.get("/api/v1/journal-entries/?account=6000&source_type=reconciliation.payout").json()
    assert [e["id"] for e in res["results"]] == [this.pk, last.pk]
    res = fin_api.get("/api/v1/journal-entries/?source_type=reconciliation.payout&source_id=po_old").json()
    assert [e["id"] for e in res["results"]] == [last.pk]
    assert fin_api.get("/api/v1/journal-entries/?account=1300").json()["results"] == []


@pytest.mark.parametrize("query", ["period=2026-13", "period=nov", "status=bogus"])
def test_bad_filters_are_400(fin_api, query):
    assert fin_api.get(f"/api/v1/journal-entries/?{query}").status_code == 400


def test_a_period_never_opened_is_404(fin_api):
    assert fin_api.get("/api/v1/journal-entries/?period=1999-01").status_code == 404


@pytest.mark.parametrize("n", [3, 30])
def test_the_entry_list_costs_the_same_queries_for_any_page_size(fin_api, django_assert_max_num_queries, n):
    for i in range(n):
        payout(f"po{i}")
    with django_assert_max_num_queries(6):  # auth, perms, count, entries, lines
        res = fin_api.get("/api/v1/journal-entries/?page_size=50")
    assert len(res.json()["results"]) == n


def test_entry_detail_shows_lines_and_source(fin_api):
    entry = payout("po_d")
    body = fin_api.get(f"/api/v1/journal-entries/{entry.pk}/").json()
    assert (body["status"], body["source_type"], body["source_id"], body["total"]) == (
        "posted",
        "reconciliation.payout",
        "po_d",
        "100.00",
    )
    assert [(ln["account"], ln["debit"], ln["credit"]) for ln in body["lines"]] == [
        ("1000", "97.00", "0.00"),
        ("6000", "3.00", "0.00"),
        ("1100", "0.00", "100.00"),
    ]
    assert fin_api.get("/api/v1/journal-entries/999999/").status_code == 404


def test_post_a_manual_entry_enters_approval_as_a_draft(fin_api):
    res = fin_api.post(
        "/api/v1/journal-entries/",
        {
            "date": timezone.localdate().isoformat(),
            "description": "Bank charges for November",
            "lines": [{"account": "6000", "debit": "12.50"}, {"account": "1000", "credit": "12.50"}],
        },
        format="json",
    )
    assert res.status_code == 201, res.json()
    body = res.json()
    assert (body["status"], body["manual_approval"], body["created_by"], body["currency"]) == (
        "draft",
        "pending",
        "fin",
        "USD",
    )


@pytest.mark.parametrize(
    "lines, status, code",
    [
        pytest.param([{"account": "6000", "debit": "1"}, {"account": "1000", "credit": "2"}], 409, "unbalanced_entry",
                     id="unbalanced"),
        pytest.param([{"account": "9999", "debit": "1"}, {"account": "1000", "credit": "1"}], 409, "unknown_account",
                     id="unknown-account"),
        pytest.param([{"account": "6000", "debit": "1", "credit": "1"}, {"account": "1000", "credit": "1"}], 400,
                     "invalid_input", id="both-sides"),
        pytest.param([{"account": "6000", "debit": "-1"}, {"account": "1000", "credit": "1"}], 400, "invalid_input",
                     id="negative"),
        pytest.param([{"account": "6000", "debit": "1"}], 400, "invalid_input", id="one-line"),
    ],
)  # fmt: skip
def test_bad_manual_entries_are_refused_and_write_nothing(fin_api, lines, status, code):
    before = ledger_counts()
    res = fin_api.post(
        "/api/v1/journal-entries/",
        {"date": timezone.localdate().isoformat(), "description": "x", "lines": lines},
        format="json",
    )
    assert res.status_code == status
    if status == 409:
        assert res.json()["error"] == code
    assert ledger_counts() == before


def test_malformed_json_is_400(fin_api):
    res = fin_api.generic("POST", "/api/v1/journal-entries/", "{", content_type="application/json")
    assert res.status_code == 400


def test_reverse_via_api_then_a_second_reverse_is_409(fin_api):
    entry = payout("po_r")
    res = fin_api.post(f"/api/v1/journal-entries/{entry.pk}/reverse/", {"reason": "duplicate"}, format="json")
    assert res.status_code == 201
    assert res.json()["reversal_of"] == entry.pk
    assert JournalEntry.objects.get(pk=entry.pk).status == EntryStatus.REVERSED
    again = fin_api.post(f"/api/v1/journal-entries/{entry.pk}/reverse/", {}, format="json")
    assert again.status_code == 409
    assert JournalEntry.objects.filter(reversal_of=entry).count() == 1


def test_ops_admin_may_not_reverse(db):
    entry = payout("po_x")
    ops = client_for(person("olga", "ops_admin"))
    assert ops.post(f"/api/v1/journal-entries/{entry.pk}/reverse/", {}, format="json").status_code == 403
    assert JournalEntry.objects.get(pk=entry.pk).status == EntryStatus.POSTED


def test_trial_balance_sums_to_zero(fin_api):
    payout("po_a")
    emit(
        "reconciliation.payout.settled",
        {
            "payout_id": "po_b",
            "currency": "USD",
            "charges": "1",
            "refunds": "0",
            "fees": "0",
            "net": "2",
            "paid_on": timezone.localdate().isoformat(),
        },
    )
    relay()  # does not add up: retried, never posted
    key = f"{timezone.localdate():%Y-%m}"
    body = fin_api.get(f"/api/v1/reports/trial-balance/?period={key}").json()
    assert body["balanced"] is True
    assert (body["total_debit"], body["total_credit"]) == ("100.00", "100.00")
    assert [(r["account"], r["balance"]) for r in body["rows"]] == [
        ("1000", "97.00"),
        ("1100", "-100.00"),
        ("6000", "3.00"),
    ]
    assert fin_api.get("/api/v1/reports/trial-balance/").status_code == 400


def test_close_a_period_via_api(fin_api):
    key = f"{timezone.localdate().replace(day=1) - timedelta(days=1):%Y-%m}"
    res = fin_api.post(f"/api/v1/periods/{key}/close/", {"hard": False}, format="json")
    assert (res.status_code, res.json()["status"]) == (200, "soft_closed")
    assert fin_api.post(f"/api/v1/periods/{key}/close/", {}, format="json").status_code == 409
    assert fin_api.post("/api/v1/periods/2026-99/close/", {}, format="json").status_code == 400
    assert [p["period"] for p in fin_api.get("/api/v1/periods/").json()] == [key]
