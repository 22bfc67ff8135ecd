"""Core models: the transactional outbox and the incident (exception) queue."""

from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it announces."""

    name = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=60)
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="outbox_pending_idx",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="outbox_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.status})"


class OutboxDelivery(models.Model):
    """One handler's successful processing of one event: a handler never runs twice for an event."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    handler = models.CharField(max_length=200)
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="outbox_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.handler} ← event {self.event_id}"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


# Status groups: an incident is in the queue (OPEN) until it is resolved or dismissed (TERMINAL).
INCIDENT_OPEN = (IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED)
INCIDENT_TERMINAL = (IncidentStatus.RESOLVED, IncidentStatus.DISMISSED)


class OwnerTeam(models.TextChoices):
    STORE_OPS = "store_ops", "Store operations"
    FULFILMENT = "fulfilment", "Fulfilment"
    INVENTORY = "inventory", "Inventory"
    FINANCE = "finance", "Finance"
    INTEGRATION = "integration", "Integration"


class Incident(ConcurrentTransitionMixin, models.Model):
    """Something went wrong and needs a person: a failed job, stock drift, a mismatch.

    The one exception queue of every domain. Transitions only check the source status and set
    fields; apps.core.services locks the row, transitions, saves and writes an IncidentEvent.
    """

    kind = models.CharField(max_length=80)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    status = FSMField(max_length=14, choices=IncidentStatus.choices, default=IncidentStatus.OPEN, protected=True)
    title = models.CharField(max_length=200)
    details = models.JSONField(default=dict, blank=True)
    subject_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    subject_id = models.CharField(max_length=64, blank=True, default="")
    subject = GenericForeignKey("subject_type", "subject_id")
    # Where the problem is, when the raiser knows: store managers see the incidents of their stores.
    location = models.ForeignKey("catalog.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=20, blank=True, default="")
    owner_team = models.CharField(max_length=20, choices=OwnerTeam.choices, blank=True, default="")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # While an incident with this key is open, the same problem found again counts an occurrence
    # instead of opening a second incident.
    dedupe_key = models.CharField(max_length=200, blank=True, default="")
    occurrences = models.PositiveIntegerField(default=1)
    retry_count = models.PositiveIntegerField(default=0)
    resolution_note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # created_at + settings.INCIDENT_SLA_HOURS[severity]
    due_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="When it was resolved or dismissed")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(status__in=["open", "acknowledged"]) & ~Q(dedupe_key=""),
                name="incident_one_open_per_key",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "kind"], name="incident_status_kind_idx"),
            models.Index(fields=["-created_at", "-id"], name="incident_created_idx"),
            models.Index(fields=["status", "due_at"], name="incident_status_due_idx"),
        ]
        permissions = [("act_on_incident", "Can assign, acknowledge, resolve, dismiss and retry incidents")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"

    @property
    def is_overdue(self) -> bool:
        return self.status in INCIDENT_OPEN and self.due_at is not None and self.due_at < timezone.now()

    # --- transitions: guards and field changes only -----------------------------------------
    @transition(field=status, source=[IncidentStatus.OPEN], target=IncidentStatus.ACKNOWLEDGED)
    def acknowledge(self, *, at: datetime) -> None:
        self.acknowledged_at = at

    @transition(field=status, source=list(INCIDENT_OPEN), target=IncidentStatus.RESOLVED)
    def resolve(self, *, note: str, at: datetime) -> None:
        self.resolution_note = note
        self.resolved_at = at

    @transition(field=status, source=list(INCIDENT_OPEN), target=IncidentStatus.DISMISSED)
    def dismiss(self, *, reason: str, at: datetime) -> None:
        self.resolution_note = reason
        self.resolved_at = at

    @transition(field=status, source=list(INCIDENT_TERMINAL), target=IncidentStatus.OPEN)
    def reopen(self, *, due_at: datetime) -> None:
        self.resolution_note = ""
        self.resolved_at = None
        self.acknowledged_at = None
        self.due_at = due_at


class IncidentAction(models.TextChoices):
    CREATED = "created", "Created"
    OCCURRED = "occurred", "Occurrence counted"
    ASSIGNED = "assigned", "Assigned"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"
    REOPENED = "reopened", "Reopened"
    RETRIED = "retried", "Retried"


class IncidentEvent(models.Model):
    """One row per change of an incident: what, who, from which status to which, why, when."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=20, choices=IncidentAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(max_length=14, blank=True, default="")
    to_status = models.CharField(max_length=14, blank=True, default="")
    note = models.TextField(blank=True, default="")
    # field → [before, after] for every field the change touched (plus action-specific facts)
    changes = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["incident_id", "at", "id"]
        indexes = [models.Index(fields=["incident", "at", "id"], name="incident_event_incident_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.from_status or '∅'} → {self.to_status or '∅'}"


class ExchangeRate(models.Model):
    """How many units of the company currency one unit of `currency` was worth on `rate_date`.

    Documents convert at their own date (the latest rate on or before it), so a threshold or a
    report never depends on when it happens to be computed.
    """

    currency = models.CharField(max_length=3)
    rate_date = models.DateField()
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency", "-rate_date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "rate_date"], name="exchangerate_currency_date_uniq"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_rate_positive"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="exchangerate_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} on {self.rate_date}"


class StatusHistory(models.Model):
    """One row per status change of a document: who, from, to, why, when. Subclasses add the
    foreign key to their document and their ordering."""

    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"
