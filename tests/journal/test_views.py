"""The Ledger in the staff portal: entry list and detail (source link, reversal), period close, reports
with CSV and beancount downloads, and who may see what."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.journal.models import EntryStatus, JournalEntry, Period, PeriodStatus
from tests.approvals.helpers import person
from tests.factories import LocationFactory, ProductFactory
from tests.journal.helpers import emit, relay
from tests.journal.test_rules import receive, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(db):
    return person("fin", "finance")


@pytest.fixture
def entry(db):
    emit(
        "reconciliation.payout.settled",
        {"payout_id": "po_ui", "currency": "USD", "charges": "100.00", "refunds": "0.00", "fees": "3.00",
         "net": "97.00", "paid_on": timezone.localdate().isoformat(), "run_id": 1},
    )  # fmt: skip
    relay()
    return JournalEntry.objects.get(source_id="po_ui")


def test_the_ledger_lists_entries_and_filters_by_account(client, finance, entry):
    client.force_login(finance)
    page = client.get("/journal/ledger/").content.decode()
    assert entry.number in page
    assert entry.number in client.get("/journal/ledger/?account=6000").content.decode()
    assert entry.number not in client.get("/journal/ledger/?account=1300").content.decode()


def test_entry_detail_shows_lines_and_reverses(client, finance, entry):
    client.force_login(finance)
    page = client.get(f"/journal/ledger/{entry.pk}/").content.decode()
    for text in ("1000 Bank", "97.00", "6000 Payment fees", "reconciliation.payout po_ui", "Reverse"):
        assert text in page
    res = client.post(f"/journal/ledger/{entry.pk}/reverse/", {"reason": "wrong payout"})
    assert res.status_code == 302
    reversal = JournalEntry.objects.get(reversal_of=entry)
    assert res["Location"].endswith(f"/journal/ledger/{reversal.pk}/")
    assert JournalEntry.objects.get(pk=entry.pk).status == EntryStatus.REVERSED
    page = client.get(f"/journal/ledger/{entry.pk}/").content.decode()
    assert reversal.number in page and "Reverse</span>" not in page


def test_a_source_links_to_its_page_when_the_portal_has_one(client, finance, warehouse, product, receive):
    from apps.orders import services as order_services
    from tests.orders.helpers import order_input

    receive(warehouse, product, 5)
    order, _ = order_services.order_create(data=order_input([(product, 1)]))
    order_services.order_ship(order_id=order.pk)
    relay()
    sale = JournalEntry.objects.get(source_type="orders.order", source_id=str(order.pk))
    client.force_login(finance)
    assert f'href="/orders/{order.pk}/"' in client.get(f"/journal/ledger/{sale.pk}/").content.decode()


def test_ops_admin_sees_entries_but_cannot_reverse(client, entry):
    ops = person("olga", "ops_admin")
    client.force_login(ops)
    assert "Reverse</span>" not in client.get(f"/journal/ledger/{entry.pk}/").content.decode()
    assert client.post(f"/journal/ledger/{entry.pk}/reverse/").status_code == 403
    assert JournalEntry.objects.get(pk=entry.pk).status == EntryStatus.POSTED


def test_a_store_manager_has_no_ledger(client, entry):
    client.force_login(person("sam", "store_manager"))
    assert client.get("/journal/ledger/").status_code == 403
    assert client.get("/journal/reports/").status_code == 403


def test_period_close_screen_soft_then_hard_closes(client, finance):
    from apps.journal.services import period_for

    last_day = timezone.localdate().replace(day=1) - timedelta(days=1)
    period = period_for(day=last_day)
    client.force_login(finance)
    page = client.get("/journal/periods/").content.decode()
    assert period.key in page and "Soft-close" in page
    assert client.post(f"/journal/periods/{period.key}/soft-close/").status_code == 302
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.SOFT_CLOSED
    client.post(f"/journal/periods/{period.key}/hard-close/")
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.HARD_CLOSED
    assert "Hard closed" in client.get("/journal/periods/").content.decode()


def test_reports_page_and_downloads(client, finance, entry):
    client.force_login(finance)
    key = f"{timezone.localdate():%Y-%m}"
    page = client.get(f"/journal/reports/?period={key}&account=1000").content.decode()
    assert 'data-testid="tb-debit">100.00' in page and 'data-testid="tb-credit">100.00' in page
    assert "97.00" in page
    tb = client.get(f"/journal/reports/?period={key}&download=tb")
    assert tb["Content-Type"].startswith("text/csv")
    assert tb.content.decode().splitlines()[0] == "account,name,type,debit,credit,debit_minus_credit"
    gl = client.get(f"/journal/reports/?period={key}&account=1000&download=gl").content.decode()
    assert "po_ui" in gl
    bean = client.get(f"/journal/reports/?period={key}&download=beancount")
    assert 'option "operating_currency" "USD"' in bean.content.decode()
    assert client.get("/journal/reports/?period=bogus").status_code == 200


def test_finance_writes_a_manual_entry_in_the_portal_and_it_waits_for_approval(client, finance):
    client.force_login(finance)
    assert "New manual entry" in client.get("/journal/ledger/").content.decode()
    form = {"date": timezone.localdate().isoformat(), "description": "Bank charges", "account_0": "6000",
            "debit_0": "12.50", "account_1": "1000", "credit_1": "12.50", "memo_1": "statement 11"}  # fmt: skip
    res = client.post("/journal/ledger/new/", form)
    assert res.status_code == 302
    entry = JournalEntry.objects.get(description="Bank charges")
    assert res["Location"].endswith(f"/journal/ledger/{entry.pk}/")
    assert (entry.status, entry.manual_approval, entry.created_by) == ("draft", "pending", finance)
    assert "Pending approval" in client.get(res["Location"]).content.decode()


@pytest.mark.parametrize(
    "extra, message",
    [
        pytest.param({"credit_1": "12.00"}, "does not balance", id="unbalanced"),
        pytest.param({"account_1": ""}, "Choose the account", id="row-without-account"),
        pytest.param({"account_1": "", "credit_1": ""}, "at least two lines", id="one-line"),
    ],
)
def test_a_bad_manual_entry_form_is_shown_again_and_writes_nothing(client, finance, extra, message):
    client.force_login(finance)
    form = {"date": timezone.localdate().isoformat(), "description": "Bank charges", "account_0": "6000",
            "debit_0": "12.50", "account_1": "1000", "credit_1": "12.50", **extra}  # fmt: skip
    res = client.post("/journal/ledger/new/", form)
    assert res.status_code == 200
    assert message in res.content.decode()
    assert not JournalEntry.objects.exists()


def test_an_approver_may_not_write_manual_entries(client):
    client.force_login(person("ava", "approver"))
    assert client.get("/journal/ledger/new/").status_code == 403


def test_the_approval_screens_describe_a_manual_entry_with_its_lines_and_a_link(finance):
    from apps.journal import selectors, services
    from apps.journal.services import Line

    entry = services.manual_entry_create(
        day=timezone.localdate(),
        description="Bank charges",
        currency="USD",
        lines=[Line("6000", debit=Decimal("12.50")), Line("1000", credit=Decimal("12.50"))],
        author=finance,
    )
    described = selectors.manual_entry_describe(str(entry.pk))
    assert described.url == f"/journal/ledger/{entry.pk}/"
    assert ("Author", "fin") in described.facts and ("Total", "12.50") in described.facts
    assert [row[:3] for row in described.rows] == [
        ["6000 Payment fees", "12.50", "0.00"],
        ["1000 Bank", "0.00", "12.50"],
    ]
    assert selectors.manual_entry_describe("nope") is None


@pytest.mark.parametrize("n", [2, 25])
def test_the_ledger_page_costs_the_same_queries_for_any_number_of_entries(client, finance, n):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(n):
        emit(
            "reconciliation.payout.settled",
            {"payout_id": f"po_q{i}", "currency": "USD", "charges": "10.00", "refunds": "0.00", "fees": "1.00",
             "net": "9.00", "paid_on": timezone.localdate().isoformat(), "run_id": 1},
        )  # fmt: skip
    relay()
    client.force_login(finance)
    client.get("/journal/ledger/")  # warm caches (content types, permissions)
    # session, user, permissions, count, entries, lines (+ accounts), periods and accounts for the filters
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/journal/ledger/").status_code == 200
    assert len(ctx.captured_queries) <= 9, [q["sql"][:80] for q in ctx.captured_queries]


def test_an_order_page_links_to_its_ledger_entries_for_those_who_may_see_the_ledger(client, finance, entry):
    warehouse, product = LocationFactory(code="WH1"), ProductFactory(sku="SKU-A")
    receive(warehouse, product, 5, "4.00")
    order = ship([(product, 2)])
    sale = JournalEntry.objects.get(source_type="orders.order", source_id=str(order.pk))

    client.force_login(finance)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    link = f"/journal/ledger/?source_type=orders.order&amp;source_id={order.pk}"
    assert f'href="{link}" data-testid="ledger-link"' in page
    listed = client.get(link.replace("&amp;", "&")).content.decode()
    assert sale.number in listed and entry.number not in listed

    client.force_login(person("sam", "store_manager", locations=[warehouse]))
    page = client.get(f"/orders/{order.pk}/")
    assert page.status_code == 200 and 'data-testid="ledger-link"' not in page.content.decode()
