"""Approval API: task lists by scope, claim / approve / reject, bulk, delegations, errors with reasons."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.approvals import selectors
from apps.approvals.models import ApprovalRequest
from apps.stock.models import StockAdjustment
from tests.approvals.helpers import adjust, client_for, on_hand, person, written

pytestmark = pytest.mark.django_db


def open_task(adjustment):
    request = ApprovalRequest.objects.get(subject_type="stock.adjustment", subject_id=str(adjustment.pk))
    return selectors.approval_request_open_task(request=request)


@pytest.fixture
def pending(shop, staff):
    """An 800.00 adjustment by the store manager, waiting for level 1."""
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)], note="water leak")
    return adjustment, open_task(adjustment)


def test_the_queue_lists_what_the_caller_may_claim_with_the_documented_shape(pending, staff):
    adjustment, task = pending

    r = client_for(staff["approver"]).get("/api/v1/approvals/tasks/", {"scope": "queue"})

    assert r.status_code == 200
    (row,) = r.json()["results"]
    request = ApprovalRequest.objects.get()
    assert row == {
        "id": task.pk,
        "request_id": request.pk,
        "subject_type": "stock.adjustment",
        "subject_id": str(adjustment.pk),
        "summary": f"{adjustment.number} at ST1: damage, 1 line(s), 800.00 USD",
        "amount": "800.00",
        "metric": "amount",
        "currency": "USD",
        "level": 1,
        "levels": 1,
        "requested_by": "sam",
        "requested_at": row["requested_at"],
        "created_at": row["created_at"],
        "due_at": (task.due_at.isoformat().replace("+00:00", "Z")),
        "overdue": False,
        "escalated_at": None,
        "status": "open",
        "owner": None,
        "on_behalf_of": None,
        "decided_by": None,
        "decided_at": None,
        "comment": "",
    }


def test_scopes_follow_the_task_from_queue_to_inbox_to_archive(pending, staff):
    _, task = pending
    api = client_for(staff["approver"])

    def ids(scope=None):
        params = {"scope": scope} if scope else {}
        return [t["id"] for t in api.get("/api/v1/approvals/tasks/", params).json()["results"]]

    assert (ids("queue"), ids("inbox"), ids("archive"), ids()) == ([task.pk], [], [], [task.pk])

    claimed = api.post(f"/api/v1/approvals/tasks/{task.pk}/claim/")
    assert claimed.status_code == 200
    assert (claimed.json()["status"], claimed.json()["owner"]) == ("claimed", "ava")
    assert (ids("queue"), ids("inbox"), ids("archive"), ids()) == ([], [task.pk], [], [task.pk])

    approved = api.post(f"/api/v1/approvals/tasks/{task.pk}/approve/", {"comment": "photos ok"}, format="json")
    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["decided_by"], approved.json()["comment"]) == (
        "approved",
        "ava",
        "photos ok",
    )
    assert (ids("queue"), ids("inbox"), ids("archive"), ids()) == ([], [], [task.pk], [])


def test_self_approval_via_the_api_is_403_with_a_reason_and_writes_nothing(shop, staff):
    adjustment = adjust(shop["store"], staff["admin"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    api = client_for(staff["admin"])
    before = written()

    r = api.post(f"/api/v1/approvals/tasks/{task.pk}/claim/")

    assert r.status_code == 403
    assert r.json() == {
        "error": "separation_of_duties",
        "detail": "You requested this; someone else must approve it.",
        "task_id": task.pk,
    }
    assert written() == before
    r = api.post(f"/api/v1/approvals/tasks/{task.pk}/approve/", {}, format="json")
    assert (r.status_code, r.json()["error"]) == (409, "not_claimable")
    assert written() == before


@pytest.mark.parametrize(
    "held, who, path, status, error",
    [
        (True, "approver2", "claim", 409, "not_claimable"),
        (True, "approver2", "approve", 409, "not_claimable"),
        (False, "approver", "approve", 409, "not_claimable"),
        (False, "finance", "claim", 403, "not_eligible"),
    ],
    ids=[
        "claim a task someone holds",
        "approve someone else's task",
        "approve before claiming",
        "claim without the level's permission",
    ],
)
def test_refusals_are_json_with_their_code_and_write_nothing(pending, staff, held, who, path, status, error):
    _, task = pending
    if held:
        client_for(staff["approver"]).post(f"/api/v1/approvals/tasks/{task.pk}/claim/")
    before = written()
    r = client_for(staff[who]).post(f"/api/v1/approvals/tasks/{task.pk}/{path}/", {}, format="json")
    assert (r.status_code, r.json()["error"]) == (status, error)
    assert written() == before


def test_the_holder_releases_a_task_back_to_the_queue(pending, staff):
    _, task = pending
    api = client_for(staff["approver"])
    api.post(f"/api/v1/approvals/tasks/{task.pk}/claim/")
    refused = client_for(staff["approver2"]).post(f"/api/v1/approvals/tasks/{task.pk}/release/")
    assert (refused.status_code, refused.json()["error"]) == (403, "not_eligible")

    r = api.post(f"/api/v1/approvals/tasks/{task.pk}/release/", {"comment": "on leave tomorrow"}, format="json")

    assert (r.status_code, r.json()["status"], r.json()["owner"]) == (200, "open", None)
    queue = client_for(staff["approver2"]).get("/api/v1/approvals/tasks/", {"scope": "queue"}).json()["results"]
    assert [t["id"] for t in queue] == [task.pk]


def test_a_rejection_without_a_comment_is_400(pending, staff):
    _, task = pending
    api = client_for(staff["approver"])
    api.post(f"/api/v1/approvals/tasks/{task.pk}/claim/")
    before = written()
    r = api.post(f"/api/v1/approvals/tasks/{task.pk}/reject/", {}, format="json")
    assert (r.status_code, r.json()["error"], list(r.json()["fields"])) == (400, "invalid", ["comment"])
    assert written() == before


def test_a_rejection_with_a_comment_leaves_stock_untouched(pending, staff, shop):
    adjustment, task = pending
    api = client_for(staff["approver"])
    api.post(f"/api/v1/approvals/tasks/{task.pk}/claim/")
    r = api.post(f"/api/v1/approvals/tasks/{task.pk}/reject/", {"comment": "recount first"}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "rejected")
    assert StockAdjustment.objects.get(pk=adjustment.pk).status == "rejected"
    assert on_hand(shop["kettle"], shop["store"]) == 1000


def test_tasks_the_caller_may_not_see_are_404(pending):
    _, task = pending
    nobody = client_for(person("nobody"))
    assert nobody.get(f"/api/v1/approvals/tasks/{task.pk}/").status_code == 404
    assert nobody.post(f"/api/v1/approvals/tasks/{task.pk}/claim/").status_code == 404
    assert nobody.get("/api/v1/approvals/tasks/").json()["results"] == []
    assert client_for(person("x")).get("/api/v1/approvals/tasks/999999/").status_code == 404


def test_the_detail_shows_subject_policy_trail_and_what_the_caller_may_do(pending, staff):
    adjustment, task = pending
    manager = client_for(staff["manager"]).get(f"/api/v1/approvals/tasks/{task.pk}/").json()
    assert manager["may"] == {
        "claim": False,
        "decide": False,
        "release": False,
        "reason": "You requested this; someone else must approve it.",
        "on_behalf_of": None,
    }

    data = client_for(staff["approver"]).get(f"/api/v1/approvals/tasks/{task.pk}/").json()

    assert data["may"] == {"claim": True, "decide": False, "release": False, "reason": "", "on_behalf_of": None}
    assert data["subject"]["title"] == f"Stock adjustment {adjustment.number} at ST1"
    assert data["subject"]["url"] == f"/stock/adjustments/{adjustment.pk}/"
    assert ["Note", "water leak"] in data["subject"]["facts"]
    assert data["subject"]["rows"] == [["KET-1", "Kettle", "-200", "1000", "0", "4.00", "800.00"]]
    assert data["policy"]["name"] == "Stock adjustments by value"
    assert [(lv["level"], lv["permission"], lv["sla_hours"]) for lv in data["policy"]["levels"]] == [
        (1, "stock.approve_adjustment", 24)
    ]
    assert [(e["action"], e["actor"]) for e in data["trail"]] == [("requested", "sam"), ("opened", None)]


def test_bulk_returns_a_result_per_item(shop, staff):
    ok = open_task(adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)]))
    own = open_task(adjust(shop["store"], staff["approver"], [(shop["kettle"], -150)]))
    api = client_for(staff["approver"])

    r = api.post(
        "/api/v1/approvals/tasks/bulk/",
        {"action": "approve", "ids": [ok.pk, own.pk, ok.pk, 424242], "comment": "batch"},
        format="json",
    )

    assert r.status_code == 200
    assert [(x["id"], x["ok"], x["code"], x["status"]) for x in r.json()["results"]] == [
        (ok.pk, True, "ok", "approved"),
        (own.pk, False, "separation_of_duties", ""),
        (424242, False, "not_found", ""),
    ]
    assert r.json()["results"][1]["detail"] == "You requested this; someone else must approve it."


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"action": "delete", "ids": [1]}, "action"),
        ({"action": "approve", "ids": []}, "ids"),
        ({"action": "approve", "ids": ["1"]}, "ids"),
        ({"action": "approve"}, "ids"),
    ],
    ids=["unknown action", "no ids", "ids as text", "ids missing"],
)
def test_bad_bulk_input_is_400(staff, payload, field):
    r = client_for(staff["approver"]).post("/api/v1/approvals/tasks/bulk/", payload, format="json")
    assert r.status_code == 400
    assert field in r.json()["fields"]


def test_delegations_are_created_listed_and_used(pending, staff):
    _, task = pending
    helper = person("hal")
    api = client_for(staff["approver"])
    now = timezone.now()

    r = api.post(
        "/api/v1/approvals/delegations/",
        {
            "delegate": "hal",
            "valid_from": (now - timedelta(hours=1)).isoformat(),
            "valid_until": (now + timedelta(days=7)).isoformat(),
            "comment": "annual leave",
        },
        format="json",
    )

    assert r.status_code == 201, r.content
    assert {k: r.json()[k] for k in ("delegator", "delegate", "comment", "active", "created_by")} == {
        "delegator": "ava",
        "delegate": "hal",
        "comment": "annual leave",
        "active": True,
        "created_by": "ava",
    }
    assert [d["id"] for d in api.get("/api/v1/approvals/delegations/").json()] == [r.json()["id"]]
    # the delegate (no approval permission of their own) acts on behalf of the delegator
    hal = client_for(helper)
    claimed = hal.post(f"/api/v1/approvals/tasks/{task.pk}/claim/").json()
    assert (claimed["owner"], claimed["on_behalf_of"]) == ("hal", "ava")

    revoked = api.post(f"/api/v1/approvals/delegations/{r.json()['id']}/revoke/")
    assert (revoked.status_code, revoked.json()["active"]) == (200, False)
    r = hal.post(f"/api/v1/approvals/tasks/{task.pk}/approve/", {}, format="json")
    assert (r.status_code, r.json()["error"]) == (403, "not_eligible")


@pytest.mark.parametrize(
    "payload, status, error",
    [
        ({"delegate": "ava"}, 400, "invalid_delegation"),
        ({"delegate": "ghost"}, 400, "invalid"),
        ({"delegate": "abe", "valid_until": "2020-01-01T00:00:00Z"}, 400, "invalid_delegation"),
        ({"delegate": "abe", "valid_from": "yesterday"}, 400, "invalid"),
    ],
    ids=["to oneself", "unknown user", "a window in the past", "not a date"],
)
def test_bad_delegations_are_400_and_write_nothing(staff, payload, status, error):
    now = timezone.now()
    body = {"valid_from": now.isoformat(), "valid_until": (now + timedelta(days=1)).isoformat(), **payload}
    before = written()
    r = client_for(staff["approver"]).post("/api/v1/approvals/delegations/", body, format="json")
    assert (r.status_code, r.json()["error"]) == (status, error)
    assert written() == before


def test_store_managers_may_not_delegate(staff):
    assert client_for(staff["manager"]).post("/api/v1/approvals/delegations/", {}, format="json").status_code == 403


def test_without_credentials_it_is_401():
    assert APIClient().get("/api/v1/approvals/tasks/").status_code == 401


def test_the_task_list_query_count_does_not_grow_with_the_page(shop, staff, django_assert_max_num_queries):
    for delta in (-200, -150, -130, -140, -160):
        adjust(shop["store"], staff["manager"], [(shop["kettle"], delta)])
    api = client_for(staff["approver"])
    # token, delegations, user permissions and groups, count, page: not per row
    with django_assert_max_num_queries(8):
        assert len(api.get("/api/v1/approvals/tasks/", {"scope": "queue"}).json()["results"]) == 5


def test_the_openapi_schema_documents_the_approval_and_adjustment_endpoints(db):
    r = APIClient().get("/api/schema/", {"format": "json"})
    paths = r.json()["paths"]
    for path in (
        "/api/v1/approvals/tasks/",
        "/api/v1/approvals/tasks/{task_id}/claim/",
        "/api/v1/approvals/tasks/{task_id}/approve/",
        "/api/v1/approvals/tasks/{task_id}/reject/",
        "/api/v1/approvals/tasks/bulk/",
        "/api/v1/approvals/delegations/",
        "/api/v1/stock/adjustments/",
        "/api/v1/stock/adjustments/{adjustment_id}/",
        "/api/v1/stock/counts/",
    ):
        assert path in paths, path
    assert set(paths["/api/v1/approvals/tasks/{task_id}/claim/"]["post"]["responses"]) == {
        "200",
        "401",
        "403",
        "404",
        "409",
    }
