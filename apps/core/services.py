"""Core services: raising and updating incidents."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.models import Incident, IncidentStatus

OPEN_STATUSES = (IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED)


def incident_raise(
    *,
    kind: str,
    title: str,
    severity: str = "medium",
    subject: models.Model | None = None,
    details: dict[str, Any] | None = None,
    dedupe_key: str = "",
) -> Incident:
    """Open an incident, or count another occurrence of the open one with the same dedupe key."""
    now = timezone.now()
    if dedupe_key:
        existing = Incident.objects.filter(dedupe_key=dedupe_key, status__in=OPEN_STATUSES).first()
        if existing is not None:
            Incident.objects.filter(pk=existing.pk).update(
                occurrences=F("occurrences") + 1, last_seen_at=now, details=details or existing.details
            )
            existing.refresh_from_db()
            return existing
    incident = Incident(
        kind=kind,
        title=title[:200],
        severity=severity,
        details=details or {},
        dedupe_key=dedupe_key,
        created_at=now,
        last_seen_at=now,
    )
    if subject is not None:
        incident.subject_type = ContentType.objects.get_for_model(subject)
        incident.subject_id = str(subject.pk)
    try:
        with transaction.atomic():
            incident.save()
    except IntegrityError:
        # Another process opened the same incident a moment ago: count this as an occurrence.
        return incident_raise(
            kind=kind, title=title, severity=severity, subject=subject, details=details, dedupe_key=dedupe_key
        )
    return incident
