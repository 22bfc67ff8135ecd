"""Approval API shapes: inputs, and outputs built by hand from already-loaded rows (no query per row)."""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.approvals import selectors
from apps.approvals.models import ApprovalEvent, ApprovalRequest, ApprovalTask, Delegation
from apps.approvals.services import BULK_ACTIONS, task_status

User = get_user_model()

TASK_STATUSES = ["open", "claimed", "approved", "rejected", "cancelled"]


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _name(user) -> str | None:
    return user.get_username() if user is not None else None


class ApprovalDecisionInput(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ApprovalRejectInput(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, help_text="Why: required for a rejection")


class StrictIdField(serializers.IntegerField):
    """An id: a JSON integer, never a bool or a string."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class ApprovalBulkInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    ids = serializers.ListField(child=StrictIdField(min_value=1, max_value=2**62), allow_empty=False, max_length=200)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ApprovalBulkResultOutput(serializers.Serializer):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    code = serializers.CharField(help_text="ok, or why not: separation_of_duties, already_decided, not_claimable, …")
    detail = serializers.CharField()
    status = serializers.CharField(help_text="The task's status after the action (empty when refused)")


class ApprovalBulkOutput(serializers.Serializer):
    results = ApprovalBulkResultOutput(many=True)


class ApprovalTaskListFilter(serializers.Serializer):
    scope = serializers.ChoiceField(
        choices=selectors.SCOPES,
        required=False,
        help_text="inbox: tasks you hold; queue: tasks you may claim; archive: tasks you decided. "
        "Without it: inbox and queue.",
    )


class ApprovalTaskOutput(serializers.Serializer):
    """Documents the shape of `task_representation`."""

    id = serializers.IntegerField()
    request_id = serializers.IntegerField()
    subject_type = serializers.CharField()
    subject_id = serializers.CharField()
    summary = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="The policy's metric value")
    metric = serializers.CharField()
    currency = serializers.CharField()
    level = serializers.IntegerField()
    levels = serializers.IntegerField()
    requested_by = serializers.CharField()
    requested_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    overdue = serializers.BooleanField()
    escalated_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField(help_text="One of: " + ", ".join(TASK_STATUSES))
    owner = serializers.CharField(allow_null=True)
    on_behalf_of = serializers.CharField(allow_null=True, help_text="Whose authority a delegate used")
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    comment = serializers.CharField()


def task_representation(task: ApprovalTask) -> dict[str, Any]:
    request: ApprovalRequest = task.process.approvalrequest
    behalf = task.decided_on_behalf_of or task.claimed_on_behalf_of
    return {
        "id": task.pk,
        "request_id": request.pk,
        "subject_type": request.subject_type,
        "subject_id": request.subject_id,
        "summary": request.summary,
        "amount": f"{request.value:.2f}",
        "metric": request.metric,
        "currency": request.currency,
        "level": task.level,
        "levels": request.levels,
        "requested_by": _name(request.requested_by),
        "requested_at": _iso(request.created),
        "created_at": _iso(task.created),
        "due_at": _iso(task.due_at),
        "overdue": selectors.is_overdue(task),
        "escalated_at": _iso(task.escalated_at),
        "status": task_status(task),
        "owner": _name(task.owner),
        "on_behalf_of": _name(behalf),
        "decided_by": _name(task.decided_by),
        "decided_at": _iso(task.decided_at),
        "comment": task.comment,
    }


class ApprovalEventOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.CharField()
    level = serializers.IntegerField(allow_null=True)
    actor = serializers.CharField(allow_null=True, help_text="null: the system")
    on_behalf_of = serializers.CharField(allow_null=True)
    comment = serializers.CharField()


def event_representation(event: ApprovalEvent) -> dict[str, Any]:
    return {
        "at": _iso(event.at),
        "action": event.action,
        "level": event.level,
        "actor": _name(event.actor),
        "on_behalf_of": _name(event.on_behalf_of),
        "comment": event.comment,
    }


class ApprovalTaskDetailOutput(ApprovalTaskOutput):
    subject = serializers.DictField(help_text="title, url, facts [[label, value]], columns, rows")
    policy = serializers.DictField(help_text="The policy that applied and the levels it asked for")
    may = serializers.DictField(help_text="What you may do now: claim, decide, release, and why not")
    trail = ApprovalEventOutput(many=True)


class DelegationInput(serializers.Serializer):
    delegate = serializers.CharField(max_length=150, help_text="Username of the person who stands in for you")
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_delegate(self, username):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise serializers.ValidationError(f"Unknown user {username!r}")
        return user


class DelegationOutput(serializers.ModelSerializer):
    delegator = serializers.CharField(source="delegator.username")
    delegate = serializers.CharField(source="delegate.username")
    created_by = serializers.CharField(source="created_by.username")
    active = serializers.SerializerMethodField()

    class Meta:
        model = Delegation
        fields = [
            "id",
            "delegator",
            "delegate",
            "valid_from",
            "valid_until",
            "comment",
            "active",
            "created_by",
            "created_at",
            "revoked_at",
        ]

    def get_active(self, delegation) -> bool:
        return delegation.is_active()
