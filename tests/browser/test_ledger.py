"""The Ledger in a real browser: finance finds a payout's entry, reverses it, and sees the reversal
and a balanced trial balance in the reports."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.journal.models import EntryStatus, JournalEntry
from tests.approvals.helpers import person
from tests.browser.test_approvals import log_in, settled
from tests.journal.helpers import emit, relay


@pytest.mark.django_db(transaction=True)
def test_finance_reverses_an_entry_and_the_trial_balance_still_balances(page):
    emit(
        "reconciliation.payout.settled",
        {"payout_id": "po_browser", "currency": "USD", "charges": "250.00", "refunds": "10.00", "fees": "7.05",
         "net": "232.95", "paid_on": timezone.localdate().isoformat(), "run_id": 1},
    )  # fmt: skip
    relay()
    entry = JournalEntry.objects.get(source_id="po_browser")
    person("fiona", "finance")
    log_in(page, "fiona", "/journal/ledger/")

    page.get_by_role("link", name=entry.number).click()
    settled(page)
    expect(page.get_by_test_id("entry-status")).to_have_text("Posted")
    expect(page.get_by_test_id("entry-total-debit")).to_have_text("240.00")
    page.get_by_label("Reason for the reversal").fill("paid twice")
    page.get_by_role("button", name="Reverse").click()

    # the reversing entry's page: its source is the original entry
    expect(page.get_by_test_id("entry-source")).to_have_text(f"journal.entry {entry.pk}")
    settled(page)
    reversal = JournalEntry.objects.get(reversal_of=entry)
    expect(page).to_have_url(f"/journal/ledger/{reversal.pk}/")
    expect(page.get_by_test_id("entry-status")).to_have_text("Posted")
    assert JournalEntry.objects.get(pk=entry.pk).status == EntryStatus.REVERSED

    page.goto(f"/journal/reports/?period={timezone.localdate():%Y-%m}&account=1000")
    settled(page)
    expect(page.get_by_test_id("tb-debit")).to_have_text("480.00")
    expect(page.get_by_test_id("tb-credit")).to_have_text("480.00")
    expect(page.get_by_test_id("gl")).to_contain_text("paid twice")
