"""Builders shared by the incident tests (named test_incidents_* to sit with them; it holds no tests).

Incidents are raised through apps.core.services like any domain does; only their age is set
afterwards, with a plain UPDATE (created_at and the due date that follows from it).
"""

from datetime import datetime, timedelta

from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.accounts.services import user_assign_locations, user_grant_role
from apps.core.models import Incident, IncidentEvent
from apps.core.services import incident_due_at, incident_raise
from tests.factories import UserFactory


def make_incident(
    *,
    kind: str = "test.failure",
    title: str = "Something failed",
    severity: str = "medium",
    age: timedelta | None = None,
    created_at: datetime | None = None,
    **kwargs,
) -> Incident:
    incident = incident_raise(kind=kind, title=title, severity=severity, **kwargs)
    if age is not None or created_at is not None:
        created = created_at or timezone.now() - age
        Incident.objects.filter(pk=incident.pk).update(
            created_at=created, last_seen_at=created, due_at=incident_due_at(severity=severity, created_at=created)
        )
        incident.refresh_from_db()
    return incident


def role_user(username: str, role: str, *, locations=()):
    user = UserFactory(username=username)
    user_grant_role(user=user, role=role)
    if locations:
        user_assign_locations(user=user, location_ids=[loc.pk for loc in locations])
    return user


def perm_user(username: str, *codenames: str, **fields):
    user = UserFactory(username=username, **fields)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def history(incident: Incident) -> list[tuple[str, str, str]]:
    """(action, from_status, to_status) of every history row, oldest first."""
    return list(
        IncidentEvent.objects.filter(incident=incident)
        .order_by("at", "id")
        .values_list("action", "from_status", "to_status")
    )


def snapshot(incident: Incident) -> tuple:
    """Everything an action could write about an incident."""
    return Incident.objects.values().get(pk=incident.pk), history(incident), IncidentEvent.objects.count()
