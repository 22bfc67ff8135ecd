"""Reconciliation in a real browser with a real worker: finance uploads a payout file, watches the run
progress to the end without reloading, and sees the unmatched and mismatched lines."""

import re

import pytest
from playwright.sync_api import expect

from tests.approvals.helpers import person
from tests.browser.test_approvals import log_in, settled
from tests.reconciliation.helpers import FIXTURES, counterparts

pytestmark = pytest.mark.worker

UPLOAD = "/reconciliation/runs/upload/"


def test_finance_uploads_a_settlement_file_and_watches_it_reconcile(page, transactional_db, celery_worker_thread):
    counterparts()
    person("fiona", "finance")
    log_in(page, "fiona", UPLOAD)

    page.get_by_label("Kind of file").select_option("settlement")
    page.get_by_label("File", exact=True).set_input_files(str(FIXTURES / "stripe_payouts.csv"))
    page.get_by_role("button", name="Upload and reconcile").click()

    expect(page).to_have_url(re.compile(r"/reconciliation/runs/\d+/$"))
    settled(page)
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded", timeout=30_000)
    expect(page.get_by_test_id("run-counts")).to_have_text("4 matched, 1 unmatched, 3 mismatched")
    items = page.get_by_test_id("run-items")
    expect(items).to_contain_text("txn_1A4")
    expect(items).to_contain_text("no order with this payment reference")
    expect(items.locator("tbody tr")).to_have_count(4)
