"""Approval services: claiming, deciding, separation of duties, delegation and bulk decisions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.approvals import selectors, services
from apps.approvals.errors import (
    AlreadyDecided,
    CommentRequired,
    InvalidDelegation,
    NotClaimable,
    NotEligible,
    SeparationOfDuties,
)
from apps.approvals.models import ApprovalEvent, ApprovalRequest, ApprovalTask
from apps.core.errors import NotFound
from apps.stock.models import StockAdjustment
from tests.approvals.helpers import adjust, on_hand, person, written

pytestmark = pytest.mark.django_db


def open_task(adjustment):
    request = ApprovalRequest.objects.get(subject_type="stock.adjustment", subject_id=str(adjustment.pk))
    return selectors.approval_request_open_task(request=request)


@pytest.fixture
def one_level(shop, staff):
    """An 800.00 adjustment requested by the store manager: one level, stock.approve_adjustment."""
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    return adjustment, open_task(adjustment)


@pytest.fixture
def two_levels(shop, staff):
    """A 6,000.00 adjustment requested by the store manager: two levels."""
    adjustment = adjust(shop["store"], staff["manager"], [(shop["toaster"], -240)])
    return adjustment, open_task(adjustment)


def delegate(delegator, delegate_to, *, starts=-1, ends=24, actor=None):
    now = timezone.now()
    return services.delegation_create(
        delegator=delegator,
        delegate=delegate_to,
        valid_from=now + timedelta(hours=starts),
        valid_until=now + timedelta(hours=ends),
        comment="holiday",
        actor=actor or delegator,
    )


# --- claim ----------------------------------------------------------------------------------------
def test_claiming_assigns_the_task_and_records_who_and_when(one_level, staff):
    _, task = one_level

    claimed = services.approval_task_claim(task_id=task.pk, user=staff["approver"])

    assert (claimed.status, claimed.owner, claimed.claimed_on_behalf_of) == ("ASSIGNED", staff["approver"], None)
    assert claimed.assigned is not None
    event = ApprovalEvent.objects.get(action="claimed")
    assert (event.task_id, event.level, event.actor, event.on_behalf_of) == (task.pk, 1, staff["approver"], None)
    assert list(selectors.approval_task_inbox(user=staff["approver"])) == [claimed]
    assert list(selectors.approval_task_queue(user=staff["approver2"])) == []


def test_a_claimed_task_cannot_be_claimed_again_and_nothing_changes(one_level, staff):
    _, task = one_level
    services.approval_task_claim(task_id=task.pk, user=staff["approver"])
    before = written()

    with pytest.raises(NotClaimable) as refused:
        services.approval_task_claim(task_id=task.pk, user=staff["approver2"])

    assert refused.value.detail == f"Approval task {task.pk} is already claimed by ava."
    assert written() == before


def test_only_holders_of_the_level_permission_may_claim(one_level, staff):
    _, task = one_level
    before = written()

    with pytest.raises(NotEligible) as refused:
        services.approval_task_claim(task_id=task.pk, user=staff["finance"])

    assert refused.value.status_code == 403
    assert refused.value.detail.startswith("Level 1 needs stock.approve_adjustment")
    assert written() == before


def test_an_unknown_task_is_not_found():
    with pytest.raises(NotFound):
        services.approval_task_claim(task_id=999_999, user=None)


def test_deciding_needs_a_claim_first(one_level, staff):
    _, task = one_level
    with pytest.raises(NotClaimable) as refused:
        services.approval_task_approve(task_id=task.pk, user=staff["approver"])
    assert refused.value.detail == f"Claim approval task {task.pk} before deciding it."


def test_only_the_holder_decides(one_level, staff):
    _, task = one_level
    services.approval_task_claim(task_id=task.pk, user=staff["approver"])
    before = written()
    with pytest.raises(NotClaimable):
        services.approval_task_approve(task_id=task.pk, user=staff["approver2"])
    assert written() == before


def test_a_rejection_needs_a_comment(one_level, staff):
    _, task = one_level
    services.approval_task_claim(task_id=task.pk, user=staff["approver"])
    before = written()
    with pytest.raises(CommentRequired):
        services.approval_task_reject(task_id=task.pk, user=staff["approver"], comment="  ")
    assert written() == before


def test_a_decided_task_cannot_be_decided_again(one_level, staff):
    _, task = one_level
    services.approval_task_claim(task_id=task.pk, user=staff["approver"])
    services.approval_task_approve(task_id=task.pk, user=staff["approver"])
    before = written()

    with pytest.raises(AlreadyDecided) as refused:
        services.approval_task_reject(task_id=task.pk, user=staff["approver"], comment="changed my mind")

    assert refused.value.detail == f"Approval task {task.pk} is already approved."
    assert written() == before


def test_the_holder_may_release_a_claimed_task_to_the_queue(one_level, staff):
    _, task = one_level
    services.approval_task_claim(task_id=task.pk, user=staff["approver"])

    released = services.approval_task_release(task_id=task.pk, user=staff["approver"])

    assert (released.status, released.owner, released.assigned) == ("NEW", None, None)
    assert list(selectors.approval_task_queue(user=staff["approver2"])) == [released]
    event = ApprovalEvent.objects.get(action="released")
    assert (event.actor, event.level, event.comment) == (staff["approver"], 1, "released from ava")


def test_only_the_holder_or_a_manager_may_release(one_level, staff):
    _, task = one_level
    services.approval_task_claim(task_id=task.pk, user=staff["approver"])
    before = written()

    with pytest.raises(NotEligible):
        services.approval_task_release(task_id=task.pk, user=staff["approver2"])
    assert written() == before

    # ops admins manage approvals: they free a task whose holder is away
    services.approval_task_release(task_id=task.pk, user=staff["ops"], comment="ava is ill")
    assert ApprovalTask.objects.get(pk=task.pk).status == "NEW"


def test_a_delegate_whose_window_ended_cannot_decide_but_may_release(one_level, staff):
    _, task = one_level
    helper = person("hal")
    delegation = delegate(staff["approver"], helper)
    services.approval_task_claim(task_id=task.pk, user=helper)
    services.delegation_revoke(delegation_id=delegation.pk, actor=staff["approver"])

    with pytest.raises(NotEligible) as refused:
        services.approval_task_approve(task_id=task.pk, user=helper)
    assert refused.value.detail == "Your delegation from ava has ended; release the task to the queue."

    services.approval_task_release(task_id=task.pk, user=helper)
    assert list(selectors.approval_task_queue(user=staff["approver"])) == [ApprovalTask.objects.get(pk=task.pk)]


# --- separation of duties ------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["ops", "admin"], ids=["ops admin holding the permission", "superuser"])
def test_the_requester_can_never_claim_their_own_request(shop, staff, who):
    requester = staff[who]
    adjustment = adjust(shop["store"], requester, [(shop["kettle"], -200)])
    task = open_task(adjustment)
    assert list(selectors.approval_task_queue(user=requester)) == []
    before = written()

    with pytest.raises(SeparationOfDuties) as refused:
        services.approval_task_claim(task_id=task.pk, user=requester)

    assert (refused.value.status_code, refused.value.code) == (403, "separation_of_duties")
    assert refused.value.detail == "You requested this; someone else must approve it."
    assert written() == before


def test_a_requester_who_somehow_holds_the_task_still_cannot_approve_it(shop, staff):
    # given: the superuser requested, and a task row assigned to them (e.g. by hand in the database)
    adjustment = adjust(shop["store"], staff["admin"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    ApprovalTask.objects.filter(pk=task.pk).update(status="ASSIGNED", owner=staff["admin"])
    before = written()

    with pytest.raises(SeparationOfDuties):
        services.approval_task_approve(task_id=task.pk, user=staff["admin"])

    assert written() == before
    assert StockAdjustment.objects.get(pk=adjustment.pk).status == "pending_approval"


def test_one_person_cannot_approve_two_levels_of_one_request(two_levels, staff):
    # given: ops (holding both approval permissions) approved level 1
    adjustment, first = two_levels
    services.approval_task_claim(task_id=first.pk, user=staff["ops"])
    services.approval_task_approve(task_id=first.pk, user=staff["ops"])
    second = open_task(adjustment)
    assert list(selectors.approval_task_queue(user=staff["ops"])) == []
    before = written()

    # when / then: they may not claim level 2
    with pytest.raises(SeparationOfDuties) as refused:
        services.approval_task_claim(task_id=second.pk, user=staff["ops"])
    assert refused.value.detail == "You already approved level 1 of this request; level 2 needs another person."
    assert written() == before
    # and finance still can
    assert list(selectors.approval_task_queue(user=staff["finance"])) == [second]


# --- delegation -----------------------------------------------------------------------------------
def test_inside_the_window_a_delegate_claims_and_decides_on_behalf_of_the_delegator(one_level, staff):
    adjustment, task = one_level
    helper = person("hal")  # no approval permission of their own
    delegation = delegate(staff["approver"], helper)
    assert list(selectors.approval_task_queue(user=helper)) == [task]

    services.approval_task_claim(task_id=task.pk, user=helper)
    decided = services.approval_task_approve(task_id=task.pk, user=helper, comment="on Ava's behalf")

    assert (decided.owner, decided.claimed_on_behalf_of) == (helper, staff["approver"])
    assert (decided.decided_by, decided.decided_on_behalf_of, decided.decision) == (
        helper,
        staff["approver"],
        "approved",
    )
    assert StockAdjustment.objects.get(pk=adjustment.pk).status == "posted"
    assert list(
        ApprovalEvent.objects.filter(action__in=["claimed", "approved", "delegated"])
        .order_by("id")
        .values_list("action", "actor__username", "on_behalf_of__username", "delegation_id")
    ) == [
        ("delegated", "ava", None, delegation.pk),
        ("claimed", "hal", "ava", None),
        ("approved", "hal", "ava", None),
    ]


def test_a_delegate_may_decide_a_task_the_delegator_already_holds(one_level, staff):
    _, task = one_level
    services.approval_task_claim(task_id=task.pk, user=staff["approver"])
    helper = person("hal")
    delegate(staff["approver"], helper)
    assert list(selectors.approval_task_inbox(user=helper)) == [task]

    decided = services.approval_task_reject(task_id=task.pk, user=helper, comment="no evidence")

    assert (decided.owner, decided.decided_by, decided.decided_on_behalf_of) == (
        staff["approver"],
        helper,
        staff["approver"],
    )


@pytest.mark.parametrize(
    "starts, ends", [(1, 24), (-48, -1)], ids=["before the window opens", "after the window closed"]
)
def test_outside_the_window_a_delegate_is_refused_and_nothing_is_written(one_level, staff, starts, ends):
    _, task = one_level
    helper = person("hal")
    now = timezone.now()
    from apps.approvals.models import Delegation

    Delegation.objects.create(
        delegator=staff["approver"],
        delegate=helper,
        valid_from=now + timedelta(hours=starts),
        valid_until=now + timedelta(hours=ends),
        created_by=staff["approver"],
    )
    assert list(selectors.approval_task_queue(user=helper)) == []
    before = written()

    with pytest.raises(NotEligible):
        services.approval_task_claim(task_id=task.pk, user=helper)

    assert written() == before


def test_a_revoked_delegation_stops_working_at_once(one_level, staff):
    _, task = one_level
    helper = person("hal")
    delegation = delegate(staff["approver"], helper)
    services.delegation_revoke(delegation_id=delegation.pk, actor=staff["approver"])
    with pytest.raises(NotEligible):
        services.approval_task_claim(task_id=task.pk, user=helper)


def test_separation_of_duties_applies_to_the_delegate(shop, staff):
    # given: the store manager requested; the approver delegated to that same store manager
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    delegate(staff["approver"], staff["manager"])
    before = written()

    with pytest.raises(SeparationOfDuties):
        services.approval_task_claim(task_id=task.pk, user=staff["manager"])
    assert written() == before


def test_nobody_approves_on_behalf_of_the_requester(shop, staff):
    # given: ops requested and delegated their authority to an approver's colleague
    adjustment = adjust(shop["store"], staff["ops"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    helper = person("hal")
    delegate(staff["ops"], helper)

    with pytest.raises(SeparationOfDuties) as refused:
        services.approval_task_claim(task_id=task.pk, user=helper)
    assert refused.value.detail == "olga requested this; nobody may approve it on their behalf."


def test_a_delegate_cannot_approve_a_second_level_for_someone_who_approved_the_first(two_levels, staff):
    adjustment, first = two_levels
    services.approval_task_claim(task_id=first.pk, user=staff["ops"])
    services.approval_task_approve(task_id=first.pk, user=staff["ops"])
    helper = person("hal")
    delegate(staff["ops"], helper)

    with pytest.raises(SeparationOfDuties):
        services.approval_task_claim(task_id=open_task(adjustment).pk, user=helper)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"to_self": True}, "You cannot delegate to yourself."),
        ({"starts": 5, "ends": 1}, "The window must end after it starts."),
        ({"starts": -10, "ends": -5}, "The window is already over."),
    ],
    ids=["to oneself", "an empty window", "a window in the past"],
)
def test_invalid_delegations_are_refused(staff, change, message):
    before = written()
    with pytest.raises(InvalidDelegation) as refused:
        delegate(
            staff["approver"],
            staff["approver"] if change.get("to_self") else staff["approver2"],
            starts=change.get("starts", -1),
            ends=change.get("ends", 24),
        )
    assert refused.value.detail == message
    assert written() == before


# --- bulk -----------------------------------------------------------------------------------------
def test_bulk_approve_reports_a_result_per_item(shop, staff):
    # given: two 800.00 adjustments by the manager, one by the approver themself, one already decided
    mine = [adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)]) for _ in range(2)]
    own = adjust(shop["store"], staff["approver"], [(shop["kettle"], -150)])
    done = adjust(shop["store"], staff["manager"], [(shop["kettle"], -130)])
    done_task = open_task(done)
    services.approval_task_claim(task_id=done_task.pk, user=staff["approver2"])
    services.approval_task_reject(task_id=done_task.pk, user=staff["approver2"], comment="no")
    held = adjust(shop["store"], staff["manager"], [(shop["kettle"], -140)])
    held_task = open_task(held)
    services.approval_task_claim(task_id=held_task.pk, user=staff["approver2"])
    ids = [open_task(a).pk for a in mine] + [open_task(own).pk, done_task.pk, held_task.pk, 999_999]

    # when
    results = services.approval_tasks_bulk(action="approve", task_ids=ids, user=staff["approver"], comment="ok")

    # then
    assert [(r.id, r.ok, r.code) for r in results] == [
        (ids[0], True, "ok"),
        (ids[1], True, "ok"),
        (ids[2], False, "separation_of_duties"),
        (ids[3], False, "already_decided"),
        (ids[4], False, "not_claimable"),
        (ids[5], False, "not_found"),
    ]
    assert [StockAdjustment.objects.get(pk=a.pk).status for a in (*mine, own, done, held)] == [
        "posted",
        "posted",
        "pending_approval",
        "rejected",
        "pending_approval",
    ]
    assert on_hand(shop["kettle"], shop["store"]) == 600
    # a refused item left no claim behind
    assert ApprovalTask.objects.get(pk=ids[2]).status == "NEW"


def test_bulk_reject_needs_a_comment_for_every_item(one_level, staff):
    _, task = one_level
    results = services.approval_tasks_bulk(action="reject", task_ids=[task.pk], user=staff["approver"])
    assert [(r.ok, r.code) for r in results] == [(False, "comment_required")]
    assert ApprovalTask.objects.get(pk=task.pk).status == "NEW"


def test_an_approval_that_fails_in_the_subject_undoes_the_bulk_claim_too(shop, staff):
    from apps.orders import services as order_services
    from tests.orders.helpers import order_input

    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    order_services.order_create(
        data=order_input([(shop["kettle"], 990)], method="pickup", pickup=shop["store"], unit_price="1.00")
    )
    task = open_task(adjustment)
    before = written()

    results = services.approval_tasks_bulk(action="approve", task_ids=[task.pk], user=staff["approver"])

    assert [(r.ok, r.code) for r in results] == [(False, "insufficient_stock")]
    assert written() == before
