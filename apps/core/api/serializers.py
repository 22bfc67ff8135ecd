"""Incident API input and output serializers."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from apps.core.models import Incident, IncidentAction, IncidentEvent, IncidentStatus, OwnerTeam, Severity
from apps.core.selectors import AGING_KEYS, incident_subject_label, incident_subject_url
from apps.core.services import BULK_ACTIONS, OPEN_STATUSES, incident_retry_supported


class CommaSeparatedChoices(serializers.CharField):
    """`a,b,c` → ["a", "b", "c"], each one of `choices` (or anything when choices is None)."""

    def __init__(self, *, choices: list[str] | None = None, **kwargs):
        self.choices = choices
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        values = [v.strip() for v in super().to_internal_value(data).split(",") if v.strip()]
        if self.choices is not None:
            unknown = sorted(set(values) - set(self.choices))
            if unknown:
                raise serializers.ValidationError(f"Unknown value: {', '.join(unknown)}")
        return values


class OptionalBooleanField(serializers.BooleanField):
    """A query-string boolean that is absent when not given (DRF's reads a missing one as False)."""

    default_empty_html = empty


class IncidentListFilter(serializers.Serializer):
    kind = CommaSeparatedChoices(required=False, max_length=500, help_text="One kind or a comma-separated list")
    severity = CommaSeparatedChoices(choices=Severity.values, required=False, help_text="Comma-separated")
    status = CommaSeparatedChoices(choices=IncidentStatus.values, required=False, help_text="Comma-separated")
    location = serializers.CharField(required=False, max_length=32, help_text="Location code")
    channel = serializers.CharField(required=False, max_length=20)
    owner_team = CommaSeparatedChoices(choices=OwnerTeam.values, required=False, help_text="Comma-separated")
    assignee = serializers.CharField(required=False, max_length=150, help_text="Username")
    unassigned = OptionalBooleanField(required=False, help_text="true: nobody is assigned; false: someone is")
    overdue = OptionalBooleanField(required=False, help_text="true: open or acknowledged and past due_at")
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    age = serializers.ChoiceField(
        choices=AGING_KEYS, required=False, help_text="An aging bucket: open and acknowledged incidents of that age"
    )


@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^({'|'.join(IncidentStatus.values)})$",
        "description": "One of: " + ", ".join(IncidentStatus.values),
    }
)
class IncidentStatusField(serializers.CharField):
    """The status without an enum component: drf-spectacular would name it like the orders' `status`
    enum and warn (ENUM_NAME_OVERRIDES in settings would be the other way out)."""


class IncidentSubjectOutput(serializers.Serializer):
    type = serializers.CharField(help_text="app_label.model")
    id = serializers.CharField()
    url = serializers.CharField(allow_null=True, help_text="The subject's portal page, where one exists")


class IncidentOutput(serializers.ModelSerializer):
    status = IncidentStatusField()
    location = serializers.SerializerMethodField()
    assignee = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()
    overdue = serializers.BooleanField(source="is_overdue")
    retryable = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "kind",
            "title",
            "severity",
            "status",
            "owner_team",
            "location",
            "channel",
            "assignee",
            "subject",
            "occurrences",
            "retry_count",
            "retryable",
            "overdue",
            "due_at",
            "created_at",
            "last_seen_at",
            "acknowledged_at",
            "resolved_at",
            "resolution_note",
        ]

    def get_location(self, incident) -> str | None:
        return incident.location.code if incident.location_id else None

    def get_assignee(self, incident) -> str | None:
        return incident.assignee.get_username() if incident.assignee_id else None

    @extend_schema_field(IncidentSubjectOutput(allow_null=True))
    def get_subject(self, incident) -> dict | None:
        label = incident_subject_label(incident)
        if not label:
            return None
        return {"type": label, "id": incident.subject_id, "url": incident_subject_url(incident)}

    def get_retryable(self, incident) -> bool:
        return incident.status in OPEN_STATUSES and incident_retry_supported(incident.kind)


class IncidentEventOutput(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    action = serializers.ChoiceField(choices=IncidentAction.choices)

    class Meta:
        model = IncidentEvent
        fields = ["action", "actor", "from_status", "to_status", "note", "changes", "at"]

    def get_actor(self, event) -> str:
        return event.actor.get_username() if event.actor_id else "system"


class IncidentDetailOutput(IncidentOutput):
    history = serializers.SerializerMethodField()

    class Meta(IncidentOutput.Meta):
        fields = [*IncidentOutput.Meta.fields, "dedupe_key", "details", "history"]

    @extend_schema_field(IncidentEventOutput(many=True))
    def get_history(self, incident) -> list[dict]:
        return list(IncidentEventOutput(self.context["history"], many=True).data)


class IncidentAgingBucketOutput(serializers.Serializer):
    key = serializers.ChoiceField(choices=AGING_KEYS)
    # A declared field shadowing Field.label: the serializer metaclass moves it into _declared_fields.
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


class IncidentAgingOutput(serializers.Serializer):
    buckets = IncidentAgingBucketOutput(many=True)
    total = serializers.IntegerField(help_text="Open and acknowledged incidents in all buckets")


def _user_by_username(username: str | None):
    if username is None:
        return None
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}, is_active=True).first()
    if user is None:
        raise serializers.ValidationError(f"Unknown user {username!r}")
    return user


class IncidentAssignInput(serializers.Serializer):
    assignee = serializers.CharField(allow_null=True, max_length=150, help_text="Username; null to unassign")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    def validate_assignee(self, username):
        return _user_by_username(username)


class IncidentNoteInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class IncidentResolveInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="What was done: required")


class IncidentDismissInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why this needs nothing: required")


class IncidentRetryOutput(serializers.Serializer):
    succeeded = serializers.BooleanField(help_text="The job now succeeds and the incident is resolved")
    detail = serializers.CharField()
    incident = IncidentDetailOutput()


class IncidentBulkInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=200)
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000, help_text="Required for resolve and dismiss"
    )
    assignee = serializers.CharField(
        required=False, allow_null=True, max_length=150, help_text="assign only: username, null to unassign"
    )

    def validate(self, attrs):
        action = attrs["action"]
        if action in ("resolve", "dismiss") and not attrs["note"].strip():
            raise serializers.ValidationError({"note": f"A note is required to {action}."})
        if action == "assign":
            if "assignee" not in attrs:
                raise serializers.ValidationError({"assignee": "Required to assign (null to unassign)."})
            try:
                attrs["assignee"] = _user_by_username(attrs["assignee"])
            except serializers.ValidationError as error:
                raise serializers.ValidationError({"assignee": error.detail})
        else:
            attrs.pop("assignee", None)
        return attrs


class IncidentBulkItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    ok = serializers.BooleanField()
    status = serializers.CharField(help_text="The incident's status afterwards (empty when not found)")
    error = serializers.CharField(
        help_text="Why it was refused: not_found, invalid_transition, invalid_assignee, "
        "retry_not_supported, retry_failed, duplicate_open_incident"
    )
    detail = serializers.CharField()


class IncidentBulkOutput(serializers.Serializer):
    results = IncidentBulkItemOutput(many=True)
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
