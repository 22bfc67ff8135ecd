"""Approvals in a real browser: a store manager's adjustment above the limit waits for an approver, who
claims and approves it from the queue and inbox, and the stock changes; a requester cannot approve
their own request."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from viewflow.workflow.models import Process

from apps.approvals import services as approvals
from apps.approvals.models import ApprovalRequest, ApprovalTask
from apps.stock.models import StockAdjustment
from tests.approvals.helpers import adjust, make_shop, on_hand, person

SHOTS = Path(os.environ.get("UI_SCREENSHOT_DIR", "/tmp"))  # noqa: S108 - agreed location, nothing secret
# The README's picture of the inbox is refreshed only on request: UPDATE_DOCS_SCREENSHOTS=1.
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img" if os.environ.get("UPDATE_DOCS_SCREENSHOTS") else None


def settled(page):
    """Wait until Turbo (viewflow's page navigation) has finished its visit: it marks <html> busy."""
    expect(page.locator("html")).not_to_have_attribute("aria-busy", "true")
    return page


def log_in(page, username, next_url):
    page.context.clear_cookies()
    page.goto(f"/accounts/login/?next={next_url}")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("pw-test-123")
    page.get_by_role("button", name="Log in").click()
    settled(page)
    expect(page).to_have_url(next_url)


def menu(page, label):
    page.locator(".vf-page__menu a.vf-page__menu-list-item", has_text=label).first.click()
    return settled(page)


def task_of(adjustment):
    request = ApprovalRequest.objects.get(subject_type="stock.adjustment", subject_id=str(adjustment.pk))
    return ApprovalTask.objects.filter(process_id=request.pk, status__in=["NEW", "ASSIGNED"]).get()


@pytest.fixture
def team(transactional_db):
    shop = make_shop()
    return {
        **shop,
        "sam": person("sam", "store_manager", locations=[shop["store"]], last_name="Stone"),
        "ava": person("ava", "approver", last_name="Adams"),
        "olga": person("olga", "ops_admin", last_name="Ortiz"),
    }


@pytest.mark.browser
def test_an_adjustment_above_the_limit_is_approved_in_the_inbox_and_the_stock_changes(page, team):
    store, kettle = team["store"], team["kettle"]

    # given: the store manager records 200 damaged kettles (200 × 4.00 = 800.00, above 500.00)
    log_in(page, "sam", "/stock/adjustments/")
    page.get_by_test_id("new-adjustment").click()
    settled(page)
    expect(page).to_have_url("/stock/adjustments/new/")
    page.get_by_label("Location").select_option("ST1")
    page.get_by_label("Reason").select_option("damage")
    page.get_by_label("Note").fill("water leak in the stock room")
    page.get_by_label("SKU 1").fill("KET-1")
    page.get_by_label("Change 1").fill("-200")
    page.get_by_role("button", name="Submit adjustment").click()
    settled(page)

    # then: it waits for approval and nothing has left the shelf yet
    expect(page).to_have_url(re.compile(r"/stock/adjustments/\d+/$"))
    adjustment = StockAdjustment.objects.get()
    expect(page).to_have_url(f"/stock/adjustments/{adjustment.pk}/")
    expect(page.get_by_test_id("adjustment-status")).to_have_text("Pending approval")
    expect(page.get_by_test_id("adjustment-value")).to_have_text("800.00 USD")
    expect(page.get_by_test_id("approval-state")).to_contain_text("level 1 of 1, waiting in the queue")
    assert on_hand(kettle, store) == 1000
    task = task_of(adjustment)

    # and: the approver already holds two other requests, one of them overdue (for the inbox picture)
    older = [
        adjust(store, team["sam"], [(team["toaster"], -40)], reason="shrink"),
        adjust(store, team["sam"], [(kettle, 150)], reason="found"),
    ]
    for n, other in enumerate(older):
        other_task = task_of(other)
        approvals.approval_task_claim(task_id=other_task.pk, user=team["ava"])
        opened = timezone.now() - timedelta(hours=30 - 20 * n)
        ApprovalTask.objects.filter(pk=other_task.pk).update(created=opened, due_at=opened + timedelta(hours=24))
        Process.objects.filter(pk=other_task.process_id).update(created=opened)

    # when: the approver claims it from the queue
    log_in(page, "ava", "/approvals/queue/")
    row = page.locator(f"table[data-testid=approval-tasks] tr[data-task='{task.pk}']")
    expect(row).to_contain_text(f"{adjustment.number} at ST1: damage, 1 line(s), 800.00 USD")
    expect(row).to_contain_text("sam")
    row.get_by_role("button", name="Claim").click()
    settled(page)
    expect(page).to_have_url(f"/approvals/tasks/{task.pk}/")
    expect(page.locator(".ro-message--success")).to_have_text(f"Task {task.pk} is in your inbox.")
    expect(page.get_by_test_id("held-by")).to_have_text("ava")

    # and: finds it in the inbox, with its age and due state next to the overdue one
    menu(page, "Inbox")
    expect(page).to_have_url("/approvals/inbox/")
    rows = page.locator("table[data-testid=approval-tasks] tbody tr")
    expect(rows).to_have_count(3)
    expect(page.get_by_test_id("inbox-count")).to_have_text("3")
    expect(page.locator(f"tr[data-task='{task_of(older[0]).pk}'] [data-testid=overdue]")).to_contain_text("overdue")
    expect(page.locator("[data-testid=overdue]")).to_have_count(1)
    page.screenshot(path=SHOTS / "ui-approvals-inbox.png")
    if DOCS_IMG is not None:
        page.screenshot(path=DOCS_IMG / "approvals-inbox.png")

    # and: opens it and approves with a comment
    page.get_by_role("link", name=f"#{task.pk}", exact=True).click()
    settled(page)
    expect(page.get_by_test_id("subject-lines")).to_contain_text("KET-1")
    expect(page.get_by_test_id("policy")).to_have_text("Stock adjustments by value (amount)")
    page.get_by_label("Comment").fill("photos of the leak checked")
    page.get_by_role("button", name="Approve").click()
    settled(page)

    # then: the adjustment is approved and posted, and the stock has fallen by 200
    expect(page.locator(".ro-message--success")).to_contain_text("The outcome was applied.")
    expect(page.get_by_test_id("task-status")).to_have_text("Approved")
    page.screenshot(path=SHOTS / "ui-approval-task.png", full_page=True)
    assert StockAdjustment.objects.get(pk=adjustment.pk).status == "posted"
    assert on_hand(kettle, store) == 800
    trail = page.get_by_test_id("approval-trail").locator("tbody tr")
    assert [[c.strip() for c in r.locator("td").all_inner_texts()[1:]] for r in trail.all()] == [
        ["Requested", "", "sam", "", "amount 800.00 → 1 level(s) under policy 'Stock adjustments by value'"],
        ["Level opened", "1", "system", "", "needs stock.approve_adjustment, due within 24 h"],
        ["Claimed", "1", "ava", "", ""],
        ["Approved", "1", "ava", "", "photos of the leak checked"],
        ["Outcome applied", "", "ava", "", "Stock adjustment " + str(adjustment.pk) + " approved"],
    ]

    # and: the store manager sees it posted, with the approval trail, and the level in Stock
    log_in(page, "sam", f"/stock/adjustments/{adjustment.pk}/")
    expect(page.get_by_test_id("adjustment-status")).to_have_text("Posted")
    expect(page.get_by_test_id("approval-state")).to_have_text("approved")
    expect(page.get_by_test_id("approval-trail")).to_contain_text("photos of the leak checked")
    page.screenshot(path=SHOTS / "ui-adjustment-detail.png", full_page=True)
    menu(page, "Levels")
    level_row = page.locator("table.vf-list__table tbody tr", has_text="KET-1")
    assert [c.strip() for c in level_row.locator("td").all_inner_texts()] == [
        "KET-1",
        "Kettle",
        "ST1",
        "800",
        "0",
        "800",
    ]


@pytest.mark.browser
def test_the_requester_cannot_approve_their_own_adjustment(page, team):
    # given: an ops admin (who may approve adjustments) records one above the limit themself
    log_in(page, "olga", "/stock/adjustments/new/")
    page.get_by_label("Location").select_option("ST1")
    page.get_by_label("Reason").select_option("shrink")
    page.get_by_label("SKU 1").fill("TOA-1")
    page.get_by_label("Change 1").fill("-30")
    page.get_by_role("button", name="Submit adjustment").click()
    settled(page)
    expect(page).to_have_url(re.compile(r"/stock/adjustments/\d+/$"))
    adjustment = StockAdjustment.objects.get()
    task = task_of(adjustment)
    expect(page.get_by_test_id("adjustment-status")).to_have_text("Pending approval")

    # when: they look for it among the tasks they may claim
    menu(page, "Approvals")
    menu(page, "Queue")

    # then: it is not there
    expect(page.get_by_test_id("empty")).to_have_text("No open tasks you may claim.")

    # and: its page says why, and offers no button to claim or approve it
    page.goto(f"/approvals/tasks/{task.pk}/")
    settled(page)
    expect(page.get_by_test_id("refusal")).to_have_text("You requested this; someone else must approve it.")
    expect(page.get_by_test_id("claim-form")).to_have_count(0)
    expect(page.get_by_test_id("decide-form")).to_have_count(0)
    expect(page.get_by_test_id("requested-by")).to_have_text("olga")
    assert ApprovalTask.objects.get(pk=task.pk).status == "NEW"
    assert on_hand(team["toaster"], team["store"]) == 1000
