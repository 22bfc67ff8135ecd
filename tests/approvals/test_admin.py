"""Approval policies are data that superusers edit in the admin; the rest is read-only there."""

import pytest

from apps.approvals.models import ApprovalPolicy
from tests.approvals.helpers import adjust

pytestmark = pytest.mark.django_db


def inline_form(policy, levels):
    """POST data for the policy page with its levels inline."""
    data = {
        "name": policy.name,
        "subject_type": policy.subject_type,
        "metric": policy.metric,
        "active": "on",
        "description": policy.description,
        "levels-TOTAL_FORMS": str(len(levels)),
        "levels-INITIAL_FORMS": str(sum(1 for lv in levels if lv.get("id"))),
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "1000",
    }
    for n, lv in enumerate(levels):
        for key, value in lv.items():
            data[f"levels-{n}-{key}"] = value
        data[f"levels-{n}-policy"] = policy.pk
    return data


def test_the_seeded_policy_is_editable_with_its_levels_inline(client, staff):
    client.force_login(staff["admin"])
    policy = ApprovalPolicy.objects.get(subject_type="stock.adjustment")
    levels = [
        {"id": lv.pk, "level": lv.level, "threshold": lv.threshold, "permission": lv.permission, "sla_hours": 12}
        for lv in policy.levels.order_by("level")
    ]

    page = client.get(f"/admin/approvals/approvalpolicy/{policy.pk}/change/")
    assert page.status_code == 200
    r = client.post(f"/admin/approvals/approvalpolicy/{policy.pk}/change/", inline_form(policy, levels))

    assert r.status_code == 302, r.content[:2000]
    assert list(policy.levels.order_by("level").values_list("level", "sla_hours")) == [(1, 12), (2, 12)]


def test_a_level_naming_a_permission_that_does_not_exist_is_refused(client, staff):
    client.force_login(staff["admin"])
    policy = ApprovalPolicy.objects.get(subject_type="stock.adjustment")
    levels = [
        {"id": lv.pk, "level": lv.level, "threshold": lv.threshold, "permission": lv.permission, "sla_hours": 24}
        for lv in policy.levels.order_by("level")
    ]
    levels[1]["permission"] = "approvals.approve_as_ceo"

    r = client.post(f"/admin/approvals/approvalpolicy/{policy.pk}/change/", inline_form(policy, levels))

    assert r.status_code == 200
    assert "No permission &#x27;approvals.approve_as_ceo&#x27; exists." in r.content.decode()
    assert policy.levels.get(level=2).permission == "approvals.approve_as_finance"


def test_requests_and_the_trail_are_read_only_in_the_admin(client, shop, staff):
    adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    client.force_login(staff["admin"])
    for url in (
        "/admin/approvals/approvalrequest/",
        "/admin/approvals/approvaltask/",
        "/admin/approvals/approvalevent/",
    ):
        assert client.get(url).status_code == 200
    request_id = ApprovalPolicy.objects.get(subject_type="stock.adjustment").requests.get().pk
    assert client.get(f"/admin/approvals/approvalrequest/{request_id}/change/").status_code == 200
    assert client.get("/admin/approvals/approvalrequest/add/").status_code == 403
