"""Approval models: policies (data, edited in the admin), requests and tasks (viewflow's Process and
Task, extended), delegations and the append-only audit trail. Only apps.approvals.services writes
requests, tasks, delegations and events."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from viewflow.workflow.models import Process, Task


class Metric(models.TextChoices):
    AMOUNT = "amount", "Amount (company currency)"
    QUANTITY = "quantity", "Quantity"
    RISK_SCORE = "risk_score", "Risk score"


# django-stubs cannot follow the reverse relation from ApprovalRequest (a viewflow Process subclass).
class ApprovalPolicy(models.Model):  # type: ignore[django-manager-missing]
    """Which requests of a subject type need approval, and by whom: one active policy per subject type."""

    name = models.CharField(max_length=120)
    subject_type = models.CharField(
        max_length=60, help_text='A subject type registered by a domain app, e.g. "stock.adjustment"'
    )
    metric = models.CharField(max_length=20, choices=Metric.choices, default=Metric.AMOUNT)
    active = models.BooleanField(default=True)
    description = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["subject_type", "-active", "name"]
        verbose_name_plural = "approval policies"
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type"], condition=Q(active=True), name="approvalpolicy_one_active_per_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.subject_type}, {self.metric})"


class ApprovalPolicyLevel(models.Model):
    """One approval level: it applies when the metric is above `threshold`."""

    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="levels")
    level = models.PositiveSmallIntegerField(help_text="1 is decided first")
    threshold = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The level applies when the metric is greater than this value",
    )
    permission = models.CharField(
        max_length=150, help_text='Needed to claim and decide, as "app_label.codename", e.g. stock.approve_adjustment'
    )
    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Optional: only members of this group (holding the permission) decide; it is also notified",
    )
    sla_hours = models.PositiveIntegerField(default=24, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["policy_id", "level"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "level"], name="approvalpolicylevel_once"),
            models.CheckConstraint(condition=Q(level__gte=1), name="approvalpolicylevel_level_positive"),
            models.CheckConstraint(condition=Q(sla_hours__gte=1), name="approvalpolicylevel_sla_positive"),
            models.CheckConstraint(condition=Q(threshold__gte=0), name="approvalpolicylevel_threshold_not_negative"),
        ]

    def __str__(self) -> str:
        return f"level {self.level}: > {self.threshold} needs {self.permission}"

    def clean(self) -> None:
        app_label, _, codename = self.permission.partition(".")
        if not app_label or not codename:
            raise ValidationError({"permission": 'Write the permission as "app_label.codename".'})
        from django.contrib.auth.models import Permission

        if not Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists():
            raise ValidationError({"permission": f"No permission {self.permission!r} exists."})


class Outcome(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ApprovalRequest(Process):
    """One subject waiting for (or done with) approval: viewflow's Process with what was asked and why.

    The applicable levels are copied from the policy when the request starts (`level_rules`), so
    editing a policy never changes a request already in flight.
    """

    subject_type = models.CharField(max_length=60)
    subject_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=300)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, blank=True, default="")
    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.PROTECT, related_name="requests")
    levels = models.PositiveSmallIntegerField()
    level_rules = models.JSONField(default=list)
    current_level = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The store or warehouse the subject belongs to: approvers scoped to locations decide only
    # these (None: a company-wide subject such as a journal entry, for unscoped approvers only).
    location = models.ForeignKey("catalog.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # "manage" is what viewflow adds for every flow's process class; spelled out so that the
        # migration state does not depend on whether the flow module was imported.
        default_permissions = ("add", "change", "delete", "view", "manage")
        permissions = [("approve_as_finance", "Can approve as finance (the level above the first)")]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id"],
                condition=Q(outcome="pending"),
                name="approvalrequest_one_pending_per_subject",
            ),
            models.CheckConstraint(condition=Q(levels__gte=1), name="approvalrequest_levels_positive"),
            models.CheckConstraint(condition=Q(current_level__lte=F("levels")), name="approvalrequest_level_in_range"),
        ]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="approvalrequest_subject_idx")]

    def __str__(self) -> str:
        return f"approval #{self.pk} of {self.subject_type} {self.subject_id} ({self.outcome})"

    def rule(self, level: int) -> dict:
        return self.level_rules[level - 1]


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ApprovalTask(Task):
    """A viewflow task; for the review node one approval level of one request.

    `owner` is who claimed it; `claimed_on_behalf_of` is whose authority a delegate used to claim it.
    """

    level = models.PositiveSmallIntegerField(default=0)
    owner_group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    claimed_on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["due_at"], name="approvaltask_open_due_idx", condition=Q(escalated_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"approval task #{self.pk} (level {self.level}, {self.status})"


class Delegation(models.Model):
    """`delegate` may claim and decide `delegator`'s approval tasks from `valid_from` until `valid_until`."""

    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    comment = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-valid_from", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gt=F("valid_from")), name="delegation_window_not_empty"),
            models.CheckConstraint(condition=~Q(delegate=F("delegator")), name="delegation_not_to_self"),
        ]
        indexes = [models.Index(fields=["delegate", "valid_until"], name="delegation_delegate_idx")]

    def __str__(self) -> str:
        return f"{self.delegator_id} → {self.delegate_id} [{self.valid_from:%Y-%m-%d} – {self.valid_until:%Y-%m-%d}]"

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.valid_from <= at < self.valid_until


class EventAction(models.TextChoices):
    REQUESTED = "requested", "Requested"
    OPENED = "opened", "Level opened"
    CLAIMED = "claimed", "Claimed"
    RELEASED = "released", "Released to the queue"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    ESCALATED = "escalated", "Escalated (overdue)"
    COMPLETED = "completed", "Outcome applied"
    WITHDRAWN = "withdrawn", "Withdrawn by the requester"
    DELEGATED = "delegated", "Delegated"
    DELEGATION_REVOKED = "delegation_revoked", "Delegation revoked"


class ApprovalEvent(models.Model):
    """The audit trail: who did what, when, for whom, and why. Append-only (PostgreSQL enforces it)."""

    request = models.ForeignKey(ApprovalRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    task = models.ForeignKey(ApprovalTask, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    delegation = models.ForeignKey(Delegation, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=20, choices=EventAction.choices)
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["request", "at"], name="approvalevent_request_idx")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id or 'system'} at {self.at:%Y-%m-%d %H:%M}"
