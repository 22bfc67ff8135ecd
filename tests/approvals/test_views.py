"""The Approvals and inventory-control pages of the staff portal, through Django's test client."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.approvals import selectors
from apps.approvals.models import ApprovalRequest, ApprovalTask, Delegation
from apps.stock.models import CycleCount, StockAdjustment
from tests.approvals.helpers import adjust, on_hand, person, written

pytestmark = pytest.mark.django_db


def open_task(adjustment):
    request = ApprovalRequest.objects.get(subject_type="stock.adjustment", subject_id=str(adjustment.pk))
    return selectors.approval_request_open_task(request=request)


def text(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html[html.index("<main") :]))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def as_user(client):
    def _as(user):
        client.force_login(user)
        return client

    return _as


def test_an_approver_claims_from_the_queue_and_approves_in_the_inbox(as_user, shop, staff):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    web = as_user(staff["approver"])

    queue = web.get("/approvals/queue/")
    assert f"#{task.pk}" in text(queue)
    assert "1 of 1" in text(queue)

    claimed = web.post(f"/approvals/tasks/{task.pk}/claim/", follow=True)
    assert messages_of(claimed) == [f"Task {task.pk} is in your inbox."]
    inbox = web.get("/approvals/inbox/")
    assert f"#{task.pk}" in text(inbox)

    decided = web.post(f"/approvals/tasks/{task.pk}/decide/", {"decision": "approve", "comment": "ok"}, follow=True)

    assert messages_of(decided) == [f"Approved: {ApprovalRequest.objects.get().summary}. The outcome was applied."]
    assert StockAdjustment.objects.get(pk=adjustment.pk).status == "posted"
    assert on_hand(shop["kettle"], shop["store"]) == 800
    assert f"#{task.pk}" in text(web.get("/approvals/archive/"))
    assert "Nothing waiting for you" in text(web.get("/approvals/inbox/"))


def test_the_requester_sees_why_they_cannot_claim_and_a_forced_claim_changes_nothing(as_user, shop, staff):
    adjustment = adjust(shop["store"], staff["ops"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    web = as_user(staff["ops"])

    page = web.get(f"/approvals/tasks/{task.pk}/")
    assert "You requested this; someone else must approve it." in text(page)
    assert 'data-testid="claim-form"' not in page.content.decode()
    assert "No open tasks you may claim." in text(web.get("/approvals/queue/"))
    before = written()

    forced = web.post(f"/approvals/tasks/{task.pk}/claim/", follow=True)

    assert messages_of(forced) == ["You requested this; someone else must approve it."]
    assert written() == before


def test_the_task_page_shows_subject_policy_levels_and_history(as_user, shop, staff):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["toaster"], -240)], note="flood")
    task = open_task(adjustment)
    web = as_user(staff["approver"])
    web.post(f"/approvals/tasks/{task.pk}/claim/")

    page = text(web.get(f"/approvals/tasks/{task.pk}/"))

    assert f"Stock adjustment {adjustment.number} at ST1" in page
    assert "Stock adjustments by value (amount)" in page
    assert "Level 1: above 500.00 stock.approve_adjustment · within 24 h claimed by ava" in page
    assert "Level 2: above 5000.00 approvals.approve_as_finance · within 48 h not open yet" in page
    assert "TOA-1 Toaster -240 1000 0 25.00 6000.00" in page
    assert "Requested by sam" in page
    assert "Claimed 1 ava" in page


def test_a_rejection_from_the_page_needs_a_comment(as_user, shop, staff):
    task = open_task(adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)]))
    web = as_user(staff["approver"])
    web.post(f"/approvals/tasks/{task.pk}/claim/", follow=True)
    before = written()

    refused = web.post(f"/approvals/tasks/{task.pk}/decide/", {"decision": "reject"}, follow=True)

    assert messages_of(refused) == ["A rejection needs a comment saying why."]
    assert written() == before


def test_the_holder_releases_a_task_from_its_page(as_user, shop, staff):
    task = open_task(adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)]))
    web = as_user(staff["approver"])
    web.post(f"/approvals/tasks/{task.pk}/claim/", follow=True)
    assert 'data-testid="release-form"' in web.get(f"/approvals/tasks/{task.pk}/").content.decode()

    r = web.post(f"/approvals/tasks/{task.pk}/release/", follow=True)

    assert messages_of(r) == [f"Task {task.pk} is back in the queue."]
    assert f"#{task.pk}" in text(web.get("/approvals/queue/"))


def test_bulk_from_the_queue_reports_each_refusal(as_user, shop, staff):
    ok = open_task(adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)]))
    own = open_task(adjust(shop["store"], staff["approver"], [(shop["kettle"], -150)]))
    web = as_user(staff["approver"])

    r = web.post(
        "/approvals/bulk/",
        {"action": "approve", "ids": [ok.pk, own.pk], "comment": "fine", "next": "/approvals/queue/"},
        follow=True,
    )

    assert r.redirect_chain[-1][0] == "/approvals/queue/"
    assert messages_of(r) == [
        f"Approved 1 of 2: #{ok.pk}",
        f"#{own.pk}: You requested this; someone else must approve it.",
    ]


def test_a_delegate_sees_the_delegators_tasks_marked_on_behalf_of(as_user, shop, staff):
    task = open_task(adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)]))
    helper = person("hal")
    web = as_user(staff["approver"])
    today = timezone.localdate()

    r = web.post(
        "/approvals/delegations/",
        {"delegate": "hal", "valid_from": today, "valid_until": today + timedelta(days=2), "comment": "leave"},
        follow=True,
    )

    assert messages_of(r)[0].startswith("hal may act for you from ")
    delegation = Delegation.objects.get()
    assert (delegation.delegator, delegation.delegate, delegation.comment) == (staff["approver"], helper, "leave")
    helper_web = as_user(helper)
    assert "on behalf of ava" in text(helper_web.get(f"/approvals/tasks/{task.pk}/"))
    claimed = helper_web.post(f"/approvals/tasks/{task.pk}/claim/", follow=True)
    assert messages_of(claimed) == [f"Task {task.pk} is in your inbox on behalf of ava."]
    assert "on behalf of ava" in text(helper_web.get("/approvals/inbox/"))


def test_the_inbox_shows_age_and_overdue(as_user, shop, staff):
    task = open_task(adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)]))
    web = as_user(staff["approver"])
    web.post(f"/approvals/tasks/{task.pk}/claim/")
    ApprovalTask.objects.filter(pk=task.pk).update(
        created=timezone.now() - timedelta(hours=30), due_at=timezone.now() - timedelta(hours=6)
    )

    page = web.get("/approvals/inbox/")

    assert 'class="ro-appr--overdue"' in page.content.decode()
    assert re.search(r"overdue 6\xa0hours", page.content.decode())
    assert re.search(r"1\xa0day, 6\xa0hours", page.content.decode())


def test_store_managers_do_not_see_the_approvals_application(as_user, staff):
    assert as_user(staff["manager"]).get("/approvals/inbox/").status_code == 403


# --- inventory control pages ----------------------------------------------------------------------
def test_a_store_manager_creates_an_adjustment_from_the_form(as_user, shop, staff):
    web = as_user(staff["manager"])
    form = web.get("/stock/adjustments/new/")
    assert [c[0] for c in form.context["form"].fields["location"].choices] == ["", "ST1"]

    r = web.post(
        "/stock/adjustments/new/",
        {"location": "ST1", "reason": "damage", "note": "leak", "sku_0": "KET-1", "delta_0": "-200"},
        follow=True,
    )

    adjustment = StockAdjustment.objects.get()
    assert r.redirect_chain == [(f"/stock/adjustments/{adjustment.pk}/", 302)]
    assert messages_of(r) == [f"{adjustment.number} (800.00 USD) needs 1 approval level(s); it posts once approved."]
    page = text(r)
    assert "Pending approval" in page
    assert "level 1 of 1, waiting in the queue" in page
    assert "Requested by sam" in page


def test_the_adjustment_page_shows_the_approval_trail_once_decided(as_user, shop, staff):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    approver = as_user(staff["approver"])
    approver.post(f"/approvals/tasks/{task.pk}/claim/")
    approver.post(f"/approvals/tasks/{task.pk}/decide/", {"decision": "approve", "comment": "photos ok"})

    page = text(as_user(staff["manager"]).get(f"/stock/adjustments/{adjustment.pk}/"))

    assert "Posted" in page
    assert "Approved 1 ava photos ok" in page
    assert "Claimed 1 ava" in page
    assert "Pending approval Approved ava approved by ava" in page


def test_the_requester_withdraws_a_pending_adjustment_from_its_page(as_user, shop, staff):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    # (as_user logs the one test client in as that user)
    assert "Withdraw from approval" not in text(as_user(staff["approver"]).get(f"/stock/adjustments/{adjustment.pk}/"))
    manager = as_user(staff["manager"])
    assert "Withdraw from approval" in text(manager.get(f"/stock/adjustments/{adjustment.pk}/"))
    page = text(
        manager.post(f"/stock/adjustments/{adjustment.pk}/", {"action": "withdraw", "reason": "recount"}, follow=True)
    )

    assert f"{adjustment.number} is withdrawn." in page
    assert StockAdjustment.objects.get(pk=adjustment.pk).status == "withdrawn"
    # A second post is refused with the reason shown, and nothing changes.
    again = text(manager.post(f"/stock/adjustments/{adjustment.pk}/", {"action": "withdraw"}, follow=True))
    assert "cannot be withdrawn" in again


@pytest.mark.parametrize(
    "data, error",
    [
        ({"sku_0": "NOPE", "delta_0": "-1"}, "Unknown SKU NOPE."),
        ({"sku_0": "KET-1", "delta_0": "0"}, "A change of zero changes nothing."),
        ({"sku_0": "KET-1"}, "Enter the change for KET-1."),
        ({}, "Enter at least one line."),
    ],
    ids=["unknown sku", "zero", "no quantity", "no lines"],
)
def test_the_adjustment_form_shows_errors_and_writes_nothing(as_user, shop, staff, data, error):
    before = written()
    r = as_user(staff["manager"]).post("/stock/adjustments/new/", {"location": "ST1", "reason": "damage", **data})
    assert r.status_code == 200
    assert error in text(r)
    assert written() == before


def test_a_store_manager_cannot_adjust_or_see_another_store(as_user, shop, staff):
    other = adjust(shop["other"], staff["ops"], [(shop["kettle"], -1)])
    web = as_user(staff["manager"])
    before = written()

    r = web.post("/stock/adjustments/new/", {"location": "ST2", "reason": "damage", "sku_0": "KET-1", "delta_0": "-1"})

    assert r.status_code == 200  # ST2 is not one of the form's choices
    assert written() == before
    assert web.get(f"/stock/adjustments/{other.pk}/").status_code == 404
    assert other.number not in text(web.get("/stock/adjustments/"))


def test_a_cycle_count_from_the_form_shows_variances_and_its_adjustment(as_user, shop, staff):
    r = as_user(staff["manager"]).post(
        "/stock/counts/new/",
        {"location": "ST1", "sku_0": "KET-1", "counted_0": "990", "sku_1": "TOA-1", "counted_1": "1000"},
        follow=True,
    )

    count = CycleCount.objects.get()
    adjustment = count.adjustment
    assert messages_of(r) == [f"{count.number}: variances became {adjustment.number} (40.00 USD), posted."]
    page = text(r)
    assert "KET-1 Kettle 990 1000 -10" in page
    assert "TOA-1 Toaster 1000 1000 +0" in page


def test_approvers_see_adjustments_but_cannot_create_them(as_user, shop, staff):
    adjust(shop["store"], staff["manager"], [(shop["kettle"], -1)])
    web = as_user(staff["approver"])
    assert web.get("/stock/adjustments/").status_code == 200
    assert 'data-testid="new-adjustment"' not in web.get("/stock/adjustments/").content.decode()
    assert web.get("/stock/adjustments/new/").status_code == 403
