"""Approval reads: a user's inbox, queue and archive; a request's trail; what a user may do with a task."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from viewflow.workflow.status import STATUS

from apps.accounts.scoping import user_location_ids
from apps.approvals import authority, registry
from apps.approvals.models import ApprovalEvent, ApprovalRequest, ApprovalTask, Decision, Delegation
from apps.core.errors import DomainError, NotFound

User = get_user_model()

SCOPES = ("inbox", "queue", "archive")
VIEW_ALL_PERMISSION = "approvals.view_approvalrequest"


def _tasks() -> QuerySet[ApprovalTask]:
    return ApprovalTask.objects.filter(flow_task_type="HUMAN").select_related(
        "process__approvalrequest__requested_by",
        "owner",
        "owner_group",
        "claimed_on_behalf_of",
        "decided_by",
        "decided_on_behalf_of",
    )


def _principals(user: Any, at: datetime | None = None) -> list[Any]:
    """The user and everyone who delegated to them right now."""
    return [user, *(d.delegator for d in authority.active_delegations_to(user, at=at))]


def _may_claim_q(user: Any, principal: Any) -> Q:
    """Open tasks `user` may claim with `principal`'s authority, separation of duties included."""
    if not principal.is_active:
        return Q(pk__in=[])
    people = {user.pk, principal.pk}
    q = Q(owner_permission__in=principal.get_all_permissions())
    if not principal.is_superuser:
        q &= Q(owner_group__isnull=True) | Q(owner_group__in=list(principal.groups.values_list("pk", flat=True)))
    approved_before = ApprovalTask.objects.filter(process_id=OuterRef("process_id"), decision=Decision.APPROVED).filter(
        Q(decided_by__in=people) | Q(decided_on_behalf_of__in=people) | Q(claimed_on_behalf_of__in=people)
    )
    scope = user_location_ids(principal)
    if scope is not None:  # an approver scoped to locations: only requests of those locations
        q &= Q(process__approvalrequest__location__in=scope)
    return q & ~Q(process__approvalrequest__requested_by__in=people) & ~Q(Exists(approved_before))


def approval_task_queue(*, user: Any, at: datetime | None = None) -> QuerySet[ApprovalTask]:
    """Open tasks the user may claim (with their own authority or a delegator's), oldest due first."""
    q = Q(pk__in=[])
    for principal in _principals(user, at):
        q |= _may_claim_q(user, principal)
    return _tasks().filter(status=STATUS.NEW).filter(q).order_by("due_at", "pk")


def approval_task_inbox(*, user: Any, at: datetime | None = None) -> QuerySet[ApprovalTask]:
    """Tasks the user holds, and tasks held by people who delegated to them right now."""
    holders = [p.pk for p in _principals(user, at)]
    return _tasks().filter(status=STATUS.ASSIGNED, owner__in=holders).order_by("due_at", "pk")


def approval_task_archive(*, user: Any) -> QuerySet[ApprovalTask]:
    """Levels the user decided, or that were decided on their behalf, newest first."""
    return (
        _tasks()
        .filter(status=STATUS.DONE)
        .filter(Q(decided_by=user) | Q(decided_on_behalf_of=user))
        .order_by("-decided_at", "-pk")
    )


def approval_task_list(*, user: Any, scope: str | None = None) -> QuerySet[ApprovalTask]:
    """One scope, or (no scope) what the user may claim or holds."""
    if scope == "inbox":
        return approval_task_inbox(user=user)
    if scope == "queue":
        return approval_task_queue(user=user)
    if scope == "archive":
        return approval_task_archive(user=user)
    ids = approval_task_inbox(user=user).values("pk").union(approval_task_queue(user=user).values("pk"))
    return _tasks().filter(pk__in=ids).order_by("due_at", "pk")


def _involved(user: Any, task: ApprovalTask, request: ApprovalRequest) -> bool:
    ids = {
        request.requested_by_id,
        task.owner_id,
        task.claimed_on_behalf_of_id,
        task.decided_by_id,
        task.decided_on_behalf_of_id,
    }
    return user.pk in ids


def approval_task_get(*, task_id: int, user: Any) -> ApprovalTask:
    """The task, if the user may see it: approvers see every task, others only what they are part of."""
    task = _tasks().filter(pk=task_id).first()
    if task is None:
        raise NotFound(f"Approval task {task_id} does not exist")
    request = task.process.approvalrequest
    if user.has_perm(VIEW_ALL_PERMISSION) or _involved(user, task, request):
        return task
    if approval_task_queue(user=user).filter(pk=task_id).exists():
        return task
    if approval_task_inbox(user=user).filter(pk=task_id).exists():
        return task
    if ApprovalEvent.objects.filter(request=request).filter(Q(actor=user) | Q(on_behalf_of=user)).exists():
        return task
    raise NotFound(f"Approval task {task_id} does not exist")


def request_of(task: ApprovalTask) -> ApprovalRequest:
    return task.process.approvalrequest


@dataclass(frozen=True)
class Possible:
    """What a user may do with a task now, and why not."""

    claim: bool
    decide: bool
    reason: str
    on_behalf_of: Any | None
    release: bool = False


def approval_task_possible(*, task: ApprovalTask, user: Any) -> Possible:
    request = request_of(task)
    if task.status == STATUS.NEW:
        try:
            principal = authority.claim_authority(user=user, task=task, request=request)
        except DomainError as error:
            return Possible(claim=False, decide=False, reason=error.detail, on_behalf_of=None)
        return Possible(claim=True, decide=False, reason="", on_behalf_of=principal)
    if task.status == STATUS.ASSIGNED:
        try:
            authority.release_allowed(user=user, task=task)
        except DomainError:
            release = False
        else:
            release = True
        try:
            principal = authority.decide_authority(user=user, task=task, request=request)
        except DomainError as error:
            return Possible(claim=False, decide=False, reason=error.detail, on_behalf_of=None, release=release)
        return Possible(claim=False, decide=True, reason="", on_behalf_of=principal, release=release)
    return Possible(claim=False, decide=False, reason="", on_behalf_of=None)


def approval_request_trail(*, request_id: int) -> QuerySet[ApprovalEvent]:
    return (
        ApprovalEvent.objects.filter(request_id=request_id).select_related("actor", "on_behalf_of").order_by("at", "id")
    )


def approval_requests_for_subjects(*, subject_type: str, subject_ids: Sequence[Any]) -> dict[str, ApprovalRequest]:
    """The latest approval request of each subject (one query)."""
    found: dict[str, ApprovalRequest] = {}
    for request in ApprovalRequest.objects.filter(
        subject_type=subject_type, subject_id__in=[str(i) for i in subject_ids]
    ).order_by("created", "pk"):
        found[request.subject_id] = request
    return found


def approval_request_open_task(*, request: ApprovalRequest) -> ApprovalTask | None:
    return (
        _tasks()
        .filter(process_id=request.pk, status__in=[STATUS.NEW, STATUS.ASSIGNED])
        .order_by("-level", "-pk")
        .first()
    )


def approval_request_tasks(*, request: ApprovalRequest) -> list[ApprovalTask]:
    return list(_tasks().filter(process_id=request.pk).order_by("level", "pk"))


def subject_description(request: ApprovalRequest) -> registry.SubjectDescription | None:
    try:
        subject = registry.subject_type(request.subject_type)
    except LookupError:
        return None
    return subject.describe(request.subject_id)


def delegation_list(*, user: Any) -> QuerySet[Delegation]:
    """Delegations the user gave or received, newest window first."""
    return (
        Delegation.objects.filter(Q(delegator=user) | Q(delegate=user))
        .select_related("delegator", "delegate", "created_by", "revoked_by")
        .order_by("-valid_from", "-id")
    )


def delegation_candidates(*, user: Any) -> QuerySet:
    """People a user may delegate to: any other active user (they act with the delegator's authority)."""
    return User.objects.filter(is_active=True).exclude(pk=user.pk).order_by("username")


def is_overdue(task: ApprovalTask, now: datetime | None = None) -> bool:
    return task.status in authority.OPEN and task.due_at is not None and task.due_at < (now or timezone.now())


def approval_open_tasks(*, request_ids: Sequence[int]) -> dict[int, int]:
    """request id → id of its open task (one query)."""
    rows = ApprovalTask.objects.filter(
        process_id__in=list(request_ids), flow_task_type="HUMAN", status__in=[STATUS.NEW, STATUS.ASSIGNED]
    ).values_list("process_id", "pk")
    return dict(rows)
