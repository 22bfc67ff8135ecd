"""Approval writes: start a request, claim, approve, reject (one by one or in bulk), delegate, escalate.

Every service that touches a running process takes the process lock first (a blocking row lock,
then viewflow's own select-for-update lock on the same row), re-reads the task, checks authority
and separation of duties (apps.approvals.authority), drives viewflow's activation and writes the
audit event, all in one transaction. The subject's own service applies the outcome inside that
same transaction. E-mail leaves only after commit.
"""

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from viewflow.workflow.models import Process
from viewflow.workflow.status import PROCESS, STATUS

from apps.approvals import authority, registry
from apps.approvals.errors import AlreadyDecided, CommentRequired, InvalidDelegation
from apps.approvals.flows import ApprovalFlow
from apps.approvals.models import (
    ApprovalEvent,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalTask,
    Decision,
    Delegation,
    EventAction,
    Outcome,
)
from apps.core.errors import DomainError, NotFound, PermissionDenied
from apps.core.services import incident_raise

logger = logging.getLogger(__name__)
User = get_user_model()

INCIDENT_OVERDUE = "approvals.task_overdue"


# --- policies ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """What the active policy says about one value: the levels it needs (none: no approval)."""

    subject_type: str
    policy: ApprovalPolicy | None
    metric: str
    value: Decimal
    rules: list[dict]

    @property
    def required(self) -> bool:
        return bool(self.rules)

    @property
    def levels(self) -> int:
        return len(self.rules)


def approval_evaluate(*, subject_type: str, metrics: dict[str, Decimal | int]) -> Evaluation:
    """Apply the subject type's active policy: a level applies when the metric is above its threshold."""
    policy = ApprovalPolicy.objects.filter(subject_type=subject_type, active=True).first()
    if policy is None:
        return Evaluation(subject_type=subject_type, policy=None, metric="", value=Decimal("0"), rules=[])
    if policy.metric not in metrics:
        raise DomainError(
            f"Policy {policy.name!r} decides on {policy.metric!r}, which {subject_type} does not provide",
            code="approval_policy_misconfigured",
        )
    value = Decimal(metrics[policy.metric])
    rules = [
        {
            "level": n,
            "policy_level": lv.level,
            "threshold": str(lv.threshold),
            "permission": lv.permission,
            "group_id": lv.group_id,
            "group_name": lv.group.name if lv.group is not None else "",
            "sla_hours": lv.sla_hours,
        }
        for n, lv in enumerate(
            (lv for lv in policy.levels.select_related("group").order_by("level") if value > lv.threshold), start=1
        )
    ]
    return Evaluation(subject_type=subject_type, policy=policy, metric=policy.metric, value=value, rules=rules)


def approval_request_start(
    *,
    evaluation: Evaluation,
    subject_id: Any,
    requested_by: Any,
    summary: str,
    currency: str = "",
    location: Any = None,
) -> ApprovalRequest:
    """Start the approval process for a subject (in the caller's transaction): level 1 opens at once.

    The subject type must be registered and the evaluation must require approval. `location` is
    the store or warehouse the subject belongs to (approvers scoped to locations see only theirs).
    """
    if not evaluation.required or evaluation.policy is None:
        raise ValueError("approval_request_start needs an evaluation that requires approval")
    registry.subject_type(evaluation.subject_type)  # fail early for an unregistered subject type
    with transaction.atomic():
        request = ApprovalFlow.start.run(
            subject_type=evaluation.subject_type,
            subject_id=str(subject_id),
            summary=summary[:300],
            metric=evaluation.metric,
            value=evaluation.value,
            currency=currency or (settings.COMPANY_CURRENCY if evaluation.metric == "amount" else ""),
            policy=evaluation.policy,
            levels=evaluation.levels,
            level_rules=evaluation.rules,
            requested_by=requested_by,
            location=location,
        )
        ApprovalEvent.objects.create(
            request=request,
            action=EventAction.REQUESTED,
            actor=requested_by,
            comment=f"{evaluation.metric} {evaluation.value} → {evaluation.levels} level(s) "
            f"under policy {evaluation.policy.name!r}",
            at=request.created,
        )
    return request


# --- locking -------------------------------------------------------------------------------------
@contextmanager
def _process_locked(task_id: int) -> Iterator[tuple[ApprovalTask, ApprovalRequest]]:
    """Lock the task's process and yield the task and its request, read after the lock.

    The blocking SELECT … FOR UPDATE makes concurrent callers queue; viewflow's own lock (NOWAIT on
    the same row, which this transaction then already holds) succeeds at once.
    """
    process_id = ApprovalTask.objects.filter(pk=task_id).values_list("process_id", flat=True).first()
    if process_id is None:
        raise NotFound(f"Approval task {task_id} does not exist", extra={"task_id": task_id})
    with transaction.atomic():
        Process.objects.select_for_update().filter(pk=process_id).exists()
        with ApprovalFlow.lock(process_id):
            task = ApprovalTask.objects.select_related("owner", "owner_group", "claimed_on_behalf_of").get(pk=task_id)
            request = ApprovalRequest.objects.select_related("requested_by").get(pk=process_id)
            yield task, request


def _activation(task: ApprovalTask) -> Any:
    activation = task.flow_task.activation_class(task)
    return activation


def approval_request_withdraw(*, subject_type: str, subject_id: Any, actor: Any, comment: str = "") -> ApprovalRequest:
    """Withdraw the pending request of a subject: its open levels are cancelled and the request ends
    `withdrawn`, so the subject may be changed and submitted again.

    Called by the subject's own service inside its transaction (it moves the subject back). Only the
    requester or a manager of approvals may withdraw; a decided request cannot be withdrawn.
    """
    request_id = (
        ApprovalRequest.objects.filter(subject_type=subject_type, subject_id=str(subject_id), outcome=Outcome.PENDING)
        .values_list("pk", flat=True)
        .first()
    )
    if request_id is None:
        raise NotFound(f"No pending approval for {subject_type} {subject_id}")
    with transaction.atomic():
        Process.objects.select_for_update().filter(pk=request_id).exists()
        with ApprovalFlow.lock(request_id):
            request = ApprovalRequest.objects.select_related("requested_by").get(pk=request_id)
            if request.outcome != Outcome.PENDING:
                raise AlreadyDecided(f"Approval #{request.pk} is already {request.outcome}")
            if actor.pk != request.requested_by_id and not actor.has_perm("approvals.manage_approvalrequest"):
                raise PermissionDenied("Only the requester or a manager of approvals may withdraw a request")
            now = timezone.now()
            for task in ApprovalTask.objects.filter(process_id=request_id).exclude(
                status__in=[STATUS.DONE, STATUS.CANCELED, STATUS.REVIVED]
            ):
                task.status = STATUS.CANCELED
                task.finished = now
                task.save(update_fields=["status", "finished"])
            request.status = PROCESS.CANCELED
            request.finished = now
            request.outcome = Outcome.WITHDRAWN
            request.decided_at = now
            request.save(update_fields=["status", "finished", "outcome", "decided_at"])
            ApprovalEvent.objects.create(
                request=request, action=EventAction.WITHDRAWN, actor=actor, comment=comment.strip()[:500], at=now
            )
    return request


# --- claim and decide ----------------------------------------------------------------------------
def approval_task_claim(*, task_id: int, user: Any) -> ApprovalTask:
    """Claim an open task (viewflow's assign). Raises NotFound, AlreadyDecided, NotClaimable (held by
    someone else), SeparationOfDuties or NotEligible; writes nothing when it refuses."""
    with _process_locked(task_id) as (task, request):
        principal = authority.claim_authority(user=user, task=task, request=request)
        _activation(task).assign(user)
        task.assigned = timezone.now()
        task.claimed_on_behalf_of = principal
        task.save(update_fields=["assigned", "claimed_on_behalf_of"])
        ApprovalEvent.objects.create(
            request=request,
            task=task,
            action=EventAction.CLAIMED,
            level=task.level,
            actor=user,
            on_behalf_of=principal,
            at=task.assigned,
        )
    return task


def approval_task_release(*, task_id: int, user: Any, comment: str = "") -> ApprovalTask:
    """Put a claimed task back in the queue (viewflow's unassign): its holder, the person they held it
    for, or a manager of approvals (e.g. when the holder left). Writes nothing when it refuses."""
    with _process_locked(task_id) as (task, request):
        authority.release_allowed(user=user, task=task)
        previous = task.owner
        _activation(task).unassign()
        task.assigned = None
        task.claimed_on_behalf_of = None
        task.save(update_fields=["assigned", "claimed_on_behalf_of"])
        ApprovalEvent.objects.create(
            request=request,
            task=task,
            action=EventAction.RELEASED,
            level=task.level,
            actor=user,
            comment=(comment or "").strip() or f"released from {previous.get_username()}",
        )
    return task


def approval_task_decide(*, task_id: int, user: Any, approve: bool, comment: str = "") -> ApprovalTask:
    """Approve or reject the level the user (or their delegator) holds.

    Approving the last level, or rejecting any, completes the process and applies the outcome through
    the subject's own service in this transaction: if that service refuses (e.g. not enough stock),
    nothing at all is written and its DomainError reaches the caller.
    """
    comment = (comment or "").strip()
    if not approve and not comment:
        raise CommentRequired("A rejection needs a comment saying why.", extra={"task_id": task_id})
    with _process_locked(task_id) as (task, request):
        principal = authority.decide_authority(user=user, task=task, request=request)
        activation = _activation(task)
        activation.start(None)
        now = timezone.now()
        task.decision = Decision.APPROVED if approve else Decision.REJECTED
        task.decided_by = user
        task.decided_on_behalf_of = principal
        task.comment = comment
        task.decided_at = now
        task.save()
        ApprovalEvent.objects.create(
            request=request,
            task=task,
            action=EventAction.APPROVED if approve else EventAction.REJECTED,
            level=task.level,
            actor=user,
            on_behalf_of=principal,
            comment=comment,
            at=now,
        )
        activation.execute()
    return task


def approval_task_approve(*, task_id: int, user: Any, comment: str = "") -> ApprovalTask:
    return approval_task_decide(task_id=task_id, user=user, approve=True, comment=comment)


def approval_task_reject(*, task_id: int, user: Any, comment: str) -> ApprovalTask:
    return approval_task_decide(task_id=task_id, user=user, approve=False, comment=comment)


BULK_ACTIONS = ("claim", "approve", "reject")


@dataclass(frozen=True)
class BulkResult:
    id: int
    ok: bool
    code: str = "ok"
    detail: str = ""
    status: str = ""


def approval_tasks_bulk(*, action: str, task_ids: Sequence[int], user: Any, comment: str = "") -> list[BulkResult]:
    """Claim, approve or reject many tasks; each one on its own (one refusal does not stop the others).

    Approving or rejecting an open task claims it first, in the same transaction: if the decision is
    refused the claim is undone too. Returns one result per distinct id, in the order given.
    """
    if action not in BULK_ACTIONS:
        raise ValueError(f"unknown bulk action {action!r}")
    results: list[BulkResult] = []
    for task_id in dict.fromkeys(task_ids):
        try:
            with transaction.atomic():
                if action == "claim":
                    task = approval_task_claim(task_id=task_id, user=user)
                else:
                    if ApprovalTask.objects.filter(pk=task_id, status=STATUS.NEW).exists():
                        approval_task_claim(task_id=task_id, user=user)
                    task = approval_task_decide(
                        task_id=task_id, user=user, approve=action == "approve", comment=comment
                    )
        except DomainError as error:
            results.append(BulkResult(id=task_id, ok=False, code=error.code, detail=error.detail))
        else:
            results.append(BulkResult(id=task_id, ok=True, status=task_status(task)))
    return results


def task_status(task: ApprovalTask) -> str:
    """open (in the queue), claimed, approved, rejected or cancelled."""
    if task.status == STATUS.NEW:
        return "open"
    if task.status in (STATUS.ASSIGNED, STATUS.STARTED):
        return "claimed"
    if task.status == STATUS.DONE and task.decision:
        return task.decision
    return "cancelled"


# --- delegation ----------------------------------------------------------------------------------
def delegation_create(
    *,
    delegator: Any,
    delegate: Any,
    valid_from: datetime,
    valid_until: datetime,
    comment: str = "",
    actor: Any,
) -> Delegation:
    """Let `delegate` claim and decide `delegator`'s approval tasks inside the window."""
    if delegate.pk == delegator.pk:
        raise InvalidDelegation("You cannot delegate to yourself.")
    if not delegate.is_active:
        raise InvalidDelegation(f"{delegate.get_username()} is not an active user.")
    if valid_until <= valid_from:
        raise InvalidDelegation("The window must end after it starts.")
    if valid_until <= timezone.now():
        raise InvalidDelegation("The window is already over.")
    with transaction.atomic():
        delegation = Delegation.objects.create(
            delegator=delegator,
            delegate=delegate,
            valid_from=valid_from,
            valid_until=valid_until,
            comment=comment.strip(),
            created_by=actor,
        )
        ApprovalEvent.objects.create(
            delegation=delegation,
            action=EventAction.DELEGATED,
            actor=actor,
            on_behalf_of=delegator if actor.pk != delegator.pk else None,
            comment=f"to {delegate.get_username()} from {valid_from:%Y-%m-%d %H:%M} until {valid_until:%Y-%m-%d %H:%M}"
            + (f": {comment.strip()}" if comment.strip() else ""),
        )
    return delegation


def delegation_revoke(*, delegation_id: int, actor: Any) -> Delegation:
    """End a delegation now (its delegator, or whoever created it). Revoking twice changes nothing."""
    with transaction.atomic():
        delegation = Delegation.objects.select_for_update().filter(pk=delegation_id).first()
        if delegation is None or actor.pk not in (delegation.delegator_id, delegation.created_by_id):
            raise NotFound(f"Delegation {delegation_id} does not exist")
        if delegation.revoked_at is None:
            delegation.revoked_at = timezone.now()
            delegation.revoked_by = actor
            delegation.save(update_fields=["revoked_at", "revoked_by"])
            ApprovalEvent.objects.create(
                delegation=delegation, action=EventAction.DELEGATION_REVOKED, actor=actor, at=delegation.revoked_at
            )
    return delegation


# --- SLA -----------------------------------------------------------------------------------------
def approval_tasks_escalate_overdue(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate every open task past its due time, once: an incident, an audit event and an e-mail to the
    next level's people (the same level's at the last level). Safe to run again: returns how many it
    escalated this time."""
    now = now or timezone.now()
    due = list(
        ApprovalTask.objects.filter(
            flow_task_type="HUMAN",
            status__in=[STATUS.NEW, STATUS.ASSIGNED],
            escalated_at__isnull=True,
            due_at__lt=now,
        )
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    escalated = 0
    for task_id in due:
        try:
            if _escalate(task_id=task_id, now=now):
                escalated += 1
        except NotFound:
            continue
    return escalated


def _escalate(*, task_id: int, now: datetime) -> bool:
    with _process_locked(task_id) as (task, request):
        due_at = task.due_at
        if task.status not in authority.OPEN or task.escalated_at is not None or due_at is None or due_at >= now:
            return False
        task.escalated_at = now
        task.save(update_fields=["escalated_at"])
        notify_level = min(task.level + 1, request.levels)
        recipients = level_recipients(request=request, level=notify_level)
        overdue_by = now - due_at
        held = f", held by {task.owner.get_username()}" if task.owner_id else ", unclaimed"
        title = f"Approval overdue: {request.summary} (level {task.level} of {request.levels}{held})"
        incident_raise(
            kind=INCIDENT_OVERDUE,
            title=title,
            severity="high" if task.level == request.levels and request.levels > 1 else "medium",
            subject=task,
            details={
                "task_id": task.pk,
                "request_id": request.pk,
                "subject_type": request.subject_type,
                "subject_id": request.subject_id,
                "level": task.level,
                "levels": request.levels,
                "due_at": due_at.isoformat(),
                "overdue_minutes": int(overdue_by.total_seconds() // 60),
                "owner": task.owner.get_username() if task.owner_id else None,
                "notified": recipients,
            },
            dedupe_key=f"{INCIDENT_OVERDUE}:{task.pk}",
        )
        ApprovalEvent.objects.create(
            request=request,
            task=task,
            action=EventAction.ESCALATED,
            level=task.level,
            comment=f"due {task.due_at:%Y-%m-%d %H:%M}; notified level {notify_level}: "
            + (", ".join(recipients) or "nobody with an e-mail address"),
            at=now,
        )
        if recipients:
            subject_line = f"[RetailOps] Approval overdue: {request.summary}"[:200]
            body = (
                f"{title}\n\n"
                f"Requested by {request.requested_by.get_username()} on {request.created:%Y-%m-%d %H:%M} UTC, "
                f"due {task.due_at:%Y-%m-%d %H:%M} UTC.\n"
                f"Amount: {request.value} {request.currency}\n\n"
                f"Open it in the portal under Approvals, task {task.pk}: /approvals/tasks/{task.pk}/\n"
            )
            transaction.on_commit(lambda: _send_overdue_mail(subject_line, body, recipients))
    return True


def _send_overdue_mail(subject: str, body: str, recipients: list[str]) -> None:
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # noqa: BLE001 - the escalation is committed; a mail failure is logged, not raised
        logger.exception("could not send the approval overdue e-mail to %s", recipients)


def level_recipients(*, request: ApprovalRequest, level: int) -> list[str]:
    """E-mail addresses of the people a level belongs to: its group's members, else everyone holding its
    permission (superusers only through a group), never the requester."""
    rule = request.rule(level)
    if rule.get("group_id"):
        users = User.objects.filter(groups__pk=rule["group_id"], is_active=True)
    else:
        users = User.objects.with_perm(rule["permission"], is_active=True, include_superusers=False)
    return sorted(set(users.exclude(pk=request.requested_by_id).exclude(email="").values_list("email", flat=True)))
