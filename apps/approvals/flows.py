"""The approval process on django-viewflow's workflow engine.

    start ─▶ review(level n) ─▶ approved? ──no──▶ apply_rejection ─▶ rejected (end)
                ▲                  │yes
                │                  ▼
                └──yes── more levels? ──no──▶ apply_approval ─▶ approved (end)

`review` is a human task per level, in the queue of whoever holds that level's permission. The
process is started and driven only through apps.approvals.services, which take the process lock
and check separation of duties; `apply_*` hand the outcome to the subject's own service in the
same transaction.
"""

from datetime import timedelta
from typing import Any

from django.utils import timezone
from viewflow import this
from viewflow.workflow import lock
from viewflow.workflow.base import Flow
from viewflow.workflow.nodes import End, Function, If, StartHandle, View

from apps.approvals import registry
from apps.approvals.models import (
    ApprovalEvent,
    ApprovalRequest,
    ApprovalTask,
    Decision,
    EventAction,
    Outcome,
)


def level_permission(activation: Any) -> str:
    return activation.process.rule(activation.task.data["level"])["permission"]


class ReviewNode(View):
    """A human task that only the services drive; viewflow's own assign/execute checks ask the same rules."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(view=None, **kwargs)

    def can_assign(self, user: Any, task: Any) -> bool:
        from apps.approvals.authority import claim_authority
        from apps.core.errors import DomainError

        task = ApprovalTask.objects.get(pk=task.pk)
        try:
            claim_authority(user=user, task=task, request=task.process.coerced)
        except DomainError:
            return False
        return True

    def can_execute(self, user: Any, task: Any) -> bool:
        from apps.approvals.authority import decide_authority
        from apps.core.errors import DomainError

        task = ApprovalTask.objects.get(pk=task.pk)
        try:
            decide_authority(user=user, task=task, request=task.process.coerced)
        except DomainError:
            return False
        return True


class ApprovalFlow(Flow):
    """Approval

    A request approved level by level by people holding each level's permission.
    """

    process_class = ApprovalRequest
    task_class = ApprovalTask
    lock_impl = lock.select_for_update_lock

    start = StartHandle(this.start_request).Next(this.review, task_data=this.first_level)
    review = (
        ReviewNode()
        .Annotation(title="Approve", description="Approve or reject one level of a request")
        .Permission(level_permission)
        .onCreate(this.review_created)
        .Next(this.check_approved)
    )
    check_approved = If(this.last_level_approved).Then(this.check_levels).Else(this.apply_rejection)
    check_levels = If(this.has_next_level).Then(this.review, task_data=this.next_level).Else(this.apply_approval)
    apply_approval = Function(this.on_approved).Next(this.approved)
    apply_rejection = Function(this.on_rejected).Next(this.rejected)
    approved = End()
    rejected = End()

    # --- node callbacks ------------------------------------------------------------------------
    def start_request(self, activation: Any, **fields: Any) -> ApprovalRequest:
        request: ApprovalRequest = activation.process
        for name, value in fields.items():
            setattr(request, name, value)
        return request

    def first_level(self, activation: Any) -> dict:
        return {"level": 1}

    def next_level(self, activation: Any) -> dict:
        return {"level": activation.process.current_level + 1}

    def review_created(self, activation: Any) -> None:
        """Open a level: its number, group and due time (created + the level's SLA hours)."""
        task: ApprovalTask = activation.task
        request: ApprovalRequest = activation.process
        level = task.data["level"]
        rule = request.rule(level)
        task.level = level
        task.owner_group_id = rule.get("group_id")
        task.due_at = task.created + timedelta(hours=rule["sla_hours"])
        task.save(update_fields=["level", "owner_group", "due_at"])
        request.current_level = level
        request.save(update_fields=["current_level"])
        ApprovalEvent.objects.create(
            request=request,
            task=task,
            action=EventAction.OPENED,
            level=level,
            comment=f"needs {rule['permission']}"
            + (f" in group {rule['group_name']}" if rule.get("group_name") else "")
            + f", due within {rule['sla_hours']} h",
            at=task.created,
        )

    def _last_review(self, activation: Any) -> ApprovalTask:
        return (
            ApprovalTask.objects.filter(process_id=activation.process.pk, flow_task_type="HUMAN")
            .select_related("decided_by", "decided_on_behalf_of")
            .order_by("-level", "-pk")
            .first()
        )

    def last_level_approved(self, activation: Any) -> bool:
        return self._last_review(activation).decision == Decision.APPROVED

    def has_next_level(self, activation: Any) -> bool:
        return activation.process.current_level < activation.process.levels

    def _finish(self, activation: Any, outcome: str) -> None:
        request: ApprovalRequest = activation.process
        last = self._last_review(activation)
        request.outcome = outcome
        request.decided_at = timezone.now()
        request.save(update_fields=["outcome", "decided_at"])
        decided = registry.Decided(
            subject_id=request.subject_id,
            request_id=request.pk,
            actor=last.decided_by,
            on_behalf_of=last.decided_on_behalf_of,
            comment=last.comment,
        )
        subject = registry.subject_type(request.subject_type)
        (subject.on_approved if outcome == Outcome.APPROVED else subject.on_rejected)(decided)
        ApprovalEvent.objects.create(
            request=request,
            action=EventAction.COMPLETED,
            actor=last.decided_by,
            on_behalf_of=last.decided_on_behalf_of,
            comment=f"{subject.label} {request.subject_id} {outcome}",
        )

    def on_approved(self, activation: Any) -> None:
        self._finish(activation, Outcome.APPROVED)

    def on_rejected(self, activation: Any) -> None:
        self._finish(activation, Outcome.REJECTED)
