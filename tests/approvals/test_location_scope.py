"""Approvers scoped to locations: a regional approver (the approve permission, assigned stores, no
`accounts.view_all_locations`) sees and decides only requests of their stores; unscoped approvers
see all, and company-wide requests are theirs alone."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from apps.approvals import selectors, services
from apps.approvals.errors import NotEligible
from apps.approvals.models import ApprovalRequest
from tests.approvals.helpers import adjust, person, written

pytestmark = pytest.mark.django_db


@pytest.fixture
def regional(shop):
    """A store manager of ST1 who may also approve stock adjustments (level 1), for ST1 only."""
    user = person("rita", "store_manager", locations=[shop["store"]])
    user.user_permissions.add(Permission.objects.get(codename="approve_adjustment"))
    return user


def pending_task(location, requester, shop):
    adjustment = adjust(location, requester, [(shop["toaster"], -40)])  # 1,000.00: one approval level
    request = ApprovalRequest.objects.get(subject_type="stock.adjustment", subject_id=str(adjustment.pk))
    return request, selectors.approval_open_tasks(request_ids=[request.pk])[request.pk]


def test_a_request_names_the_location_of_its_subject(shop, staff):
    request, _ = pending_task(shop["other"], staff["ops"], shop)
    assert request.location_id == shop["other"].pk


def test_a_regional_approver_sees_and_decides_only_their_stores_requests(shop, staff, regional):
    _, theirs = pending_task(shop["store"], staff["ops"], shop)
    _, elsewhere = pending_task(shop["other"], staff["ops"], shop)

    assert [t.pk for t in selectors.approval_task_queue(user=regional)] == [theirs]
    assert sorted(t.pk for t in selectors.approval_task_queue(user=staff["approver"])) == sorted([theirs, elsewhere])

    before = written()
    with pytest.raises(NotEligible, match="ST2, outside the locations you approve for"):
        services.approval_task_claim(task_id=elsewhere, user=regional)
    assert written() == before

    services.approval_task_claim(task_id=theirs, user=regional)
    services.approval_task_approve(task_id=theirs, user=regional)
    assert ApprovalRequest.objects.get(location=shop["store"]).outcome == "approved"


def test_a_delegate_acting_for_a_regional_approver_is_held_to_the_same_stores(shop, staff, regional):
    _, elsewhere = pending_task(shop["other"], staff["ops"], shop)
    delegate = person("dora", "store_manager", locations=[shop["store"], shop["other"]])
    now = timezone.now()
    services.delegation_create(
        delegator=regional, delegate=delegate, valid_from=now, valid_until=now + timedelta(days=3), actor=regional
    )

    assert list(selectors.approval_task_queue(user=delegate)) == []
    with pytest.raises(NotEligible, match="outside the locations you approve for"):
        services.approval_task_claim(task_id=elsewhere, user=delegate)
