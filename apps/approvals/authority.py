"""Who may claim and decide an approval task.

A person may decide a level when they hold the level's permission (and belong to its group, if it
names one). A delegate may act with a delegator's authority while the delegation is active.
Separation of duties applies to everyone involved, delegates included and superusers too: the
requester never claims or decides their own request, and nobody decides two levels of one request
(neither directly nor through a delegate). An approver scoped to locations (no
`accounts.view_all_locations`) decides only requests of those locations, with their own authority
or as a delegate. The services call `claim_authority` / `decide_authority` under the process lock;
selectors and screens call them to show what is possible.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from viewflow.workflow.status import STATUS

from apps.accounts.scoping import user_location_ids
from apps.approvals.errors import AlreadyDecided, NotClaimable, NotEligible, SeparationOfDuties
from apps.approvals.models import ApprovalRequest, ApprovalTask, Decision, Delegation

User = get_user_model()

OPEN = (STATUS.NEW, STATUS.ASSIGNED)


def holds_level(person: Any, *, permission: str, group_id: int | None) -> bool:
    """The person holds the level's permission and, when the level names a group, belongs to it."""
    if person is None or not person.is_active or not permission:
        return False
    if not person.has_perm(permission):
        return False
    if group_id is None or person.is_superuser:
        return True
    return person.groups.filter(pk=group_id).exists()


def in_location_scope(person: Any, request: ApprovalRequest) -> bool:
    """The request belongs to a location the person works for (always true for unscoped people;
    a company-wide request, with no location, is for unscoped people only)."""
    scope = user_location_ids(person)
    return scope is None or (request.location_id is not None and request.location_id in scope)


def _outside_scope(task: ApprovalTask, request: ApprovalRequest) -> NotEligible:
    where = request.location.code if request.location is not None else "the whole company"
    return NotEligible(
        f"This request is for {where}, outside the locations you approve for.", extra={"task_id": task.pk}
    )


def active_delegations_to(user: Any, *, at: datetime | None = None) -> list[Delegation]:
    """Delegations `user` may act under right now, oldest first (a delegate's own delegations do not chain)."""
    at = at or timezone.now()
    return list(
        Delegation.objects.filter(delegate=user, revoked_at__isnull=True, valid_from__lte=at, valid_until__gt=at)
        .select_related("delegator")
        .order_by("valid_from", "id")
    )


def _name(person: Any) -> str:
    return person.get_username()


def _approvers_of_other_levels(task: ApprovalTask) -> dict[int, int]:
    """person id → level, for everyone who approved (or had a level approved on their behalf) so far."""
    people: dict[int, int] = {}
    rows = (
        ApprovalTask.objects.filter(process_id=task.process_id, decision=Decision.APPROVED)
        .exclude(pk=task.pk)
        .values_list("decided_by_id", "decided_on_behalf_of_id", "claimed_on_behalf_of_id", "level")
    )
    for decided_by, behalf, claimed_behalf, level in rows:
        for person_id in (decided_by, behalf, claimed_behalf):
            if person_id is not None:
                people.setdefault(person_id, level)
    return people


def check_separation_of_duties(*, request: ApprovalRequest, task: ApprovalTask, actor: Any, principal: Any) -> None:
    """Raise SeparationOfDuties if the actor (or whoever they act for) requested this or approved another level."""
    involved = [(actor, True)] + ([(principal, False)] if principal is not None and principal != actor else [])
    for person, is_actor in involved:
        if person.pk == request.requested_by_id:
            raise SeparationOfDuties(
                "You requested this; someone else must approve it."
                if is_actor
                else f"{_name(person)} requested this; nobody may approve it on their behalf.",
                extra={"task_id": task.pk},
            )
    approvers = _approvers_of_other_levels(task)
    for person, is_actor in involved:
        if person.pk in approvers:
            who = "You" if is_actor else _name(person)
            raise SeparationOfDuties(
                f"{who} already approved level {approvers[person.pk]} of this request; "
                f"level {task.level} needs another person.",
                extra={"task_id": task.pk},
            )


def _ensure_open(task: ApprovalTask) -> None:
    if task.status not in OPEN:
        raise AlreadyDecided(
            f"Approval task {task.pk} is already {task.decision or task.get_status_display().lower()}.",
            extra={"task_id": task.pk},
        )


def claim_authority(*, user: Any, task: ApprovalTask, request: ApprovalRequest, at: datetime | None = None) -> Any:
    """Whose authority lets `user` claim the task: None for their own, else the delegator's. Raises if none."""
    _ensure_open(task)
    if task.status != STATUS.NEW:
        raise NotClaimable(
            f"Approval task {task.pk} is already claimed by {_name(task.owner)}.", extra={"task_id": task.pk}
        )
    check_separation_of_duties(request=request, task=task, actor=user, principal=None)
    out_of_scope = False
    if holds_level(user, permission=task.owner_permission, group_id=task.owner_group_id):
        if in_location_scope(user, request):
            return None
        out_of_scope = True
    refusal: SeparationOfDuties | None = None
    for delegation in active_delegations_to(user, at=at):
        delegator = delegation.delegator
        if not holds_level(delegator, permission=task.owner_permission, group_id=task.owner_group_id):
            continue
        if not in_location_scope(delegator, request):
            out_of_scope = True
            continue
        try:
            check_separation_of_duties(request=request, task=task, actor=user, principal=delegator)
        except SeparationOfDuties as error:
            refusal = refusal or error
            continue
        return delegator
    if refusal is not None:
        raise refusal
    if out_of_scope:
        raise _outside_scope(task, request)
    raise NotEligible(
        f"Level {task.level} needs {task.owner_permission}"
        + (" in group " + task.owner_group.name if task.owner_group is not None else "")
        + "; you hold neither it nor a delegation from someone who does.",
        extra={"task_id": task.pk},
    )


def decide_authority(*, user: Any, task: ApprovalTask, request: ApprovalRequest, at: datetime | None = None) -> Any:
    """Whose authority lets `user` decide the task they (or their delegator) hold: None for their own."""
    _ensure_open(task)
    if task.status != STATUS.ASSIGNED:
        raise NotClaimable(f"Claim approval task {task.pk} before deciding it.", extra={"task_id": task.pk})
    if task.owner_id == user.pk:
        principal = task.claimed_on_behalf_of
    else:
        delegation = next((d for d in active_delegations_to(user, at=at) if d.delegator_id == task.owner_id), None)
        if delegation is None:
            raise NotClaimable(f"Approval task {task.pk} is held by {_name(task.owner)}.", extra={"task_id": task.pk})
        principal = delegation.delegator
    check_separation_of_duties(request=request, task=task, actor=user, principal=principal)
    authority = principal if principal is not None else user
    if principal is not None and principal != task.owner and principal.pk not in delegators_of(user, at=at):
        raise NotEligible(
            f"Your delegation from {_name(principal)} has ended; release the task to the queue.",
            extra={"task_id": task.pk},
        )
    if not holds_level(authority, permission=task.owner_permission, group_id=task.owner_group_id):
        holder = "you" if authority == user else _name(authority)
        raise NotEligible(
            f"Level {task.level} needs {task.owner_permission}, which {holder} no longer hold(s).",
            extra={"task_id": task.pk},
        )
    if not in_location_scope(authority, request):
        raise _outside_scope(task, request)
    return principal


MANAGE_PERMISSION = "approvals.manage_approvalrequest"


def release_allowed(*, user: Any, task: ApprovalTask) -> None:
    """The holder, whoever they hold it for, or a manager of approvals may put a claimed task back in the queue."""
    _ensure_open(task)
    if task.status != STATUS.ASSIGNED:
        raise NotClaimable(f"Approval task {task.pk} is not claimed.", extra={"task_id": task.pk})
    if user.pk in (task.owner_id, task.claimed_on_behalf_of_id) or user.has_perm(MANAGE_PERMISSION):
        return
    raise NotEligible(
        f"Approval task {task.pk} is held by {_name(task.owner)}; only they (or a manager) may release it.",
        extra={"task_id": task.pk},
    )


def delegators_of(user: Any, *, at: datetime | None = None) -> set[int]:
    return {d.delegator_id for d in active_delegations_to(user, at=at)}


def people(ids: Iterable[int]) -> dict[int, Any]:
    return {u.pk: u for u in User.objects.filter(pk__in=set(ids))}
