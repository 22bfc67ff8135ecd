"""Core reads: the incident queue filtered and scoped, its aging buckets, one incident and its history."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.core.errors import NotFound
from apps.core.models import INCIDENT_OPEN, Incident, IncidentEvent


@dataclass(frozen=True)
class AgingBucket:
    """Open and acknowledged incidents whose age is in [min_hours, max_hours)."""

    key: str
    label: str
    min_hours: int
    max_hours: int | None

    def q(self, now: datetime) -> Q:
        q = Q(created_at__lte=now - timedelta(hours=self.min_hours))
        if self.max_hours is not None:
            q &= Q(created_at__gt=now - timedelta(hours=self.max_hours))
        return q


AGING_BUCKETS: tuple[AgingBucket, ...] = (
    AgingBucket("lt_4h", "< 4h", 0, 4),
    AgingBucket("4h_24h", "4–24h", 4, 24),
    AgingBucket("1d_3d", "1–3d", 24, 72),
    AgingBucket("3d_7d", "3–7d", 72, 168),
    AgingBucket("gt_7d", "> 7d", 168, None),
)
AGING_KEYS = tuple(b.key for b in AGING_BUCKETS)


def _bucket(key: str) -> AgingBucket:
    for bucket in AGING_BUCKETS:
        if bucket.key == key:
            return bucket
    raise ValueError(f"unknown aging bucket {key!r}")


def incident_list(
    *,
    kind: Sequence[str] | None = None,
    severity: Sequence[str] | None = None,
    status: Sequence[str] | None = None,
    location: str | None = None,
    channel: str | None = None,
    owner_team: Sequence[str] | None = None,
    assignee: str | None = None,
    unassigned: bool | None = None,
    overdue: bool | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    age: str | None = None,
    location_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> QuerySet[Incident]:
    """Incidents newest first. `location` is a location code, `assignee` a username; `age` is the key
    of an aging bucket (open and acknowledged only); `location_ids` scopes to those locations (an
    incident without a location is in no one's scope)."""
    now = now or timezone.now()
    qs = Incident.objects.select_related("location", "assignee", "subject_type")
    if location_ids is not None:
        qs = qs.filter(location_id__in=list(location_ids))
    if kind:
        qs = qs.filter(kind__in=list(kind))
    if severity:
        qs = qs.filter(severity__in=list(severity))
    if status:
        qs = qs.filter(status__in=list(status))
    if location:
        qs = qs.filter(location__code=location)
    if channel:
        qs = qs.filter(channel=channel)
    if owner_team:
        qs = qs.filter(owner_team__in=list(owner_team))
    if assignee:
        qs = qs.filter(assignee__username=assignee)
    if unassigned is not None:
        qs = qs.filter(assignee__isnull=unassigned)
    if overdue is not None:
        late = Q(status__in=INCIDENT_OPEN, due_at__lt=now)
        qs = qs.filter(late if overdue else ~late)
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    if age:
        qs = qs.filter(_bucket(age).q(now), status__in=INCIDENT_OPEN)
    return qs.order_by("-created_at", "-id")


def incident_aging(*, now: datetime | None = None, **filters: Any) -> list[dict[str, Any]]:
    """Open and acknowledged incidents counted per aging bucket, under the same filters as the list
    (except `age`): one query. Returns [{key, label, count}] in bucket order."""
    now = now or timezone.now()
    filters.pop("age", None)
    qs = incident_list(now=now, **filters).filter(status__in=INCIDENT_OPEN).order_by()
    counts = qs.aggregate(**{b.key: Count("id", filter=b.q(now)) for b in AGING_BUCKETS})
    return [{"key": b.key, "label": b.label, "count": counts[b.key]} for b in AGING_BUCKETS]


def incident_get(*, incident_id: int, location_ids: Sequence[int] | None = None) -> Incident:
    """The incident, if it exists and (when `location_ids` is given) is at one of those locations."""
    qs = Incident.objects.select_related("location", "assignee", "subject_type").filter(pk=incident_id)
    if location_ids is not None:
        qs = qs.filter(location_id__in=list(location_ids))
    incident = qs.first()
    if incident is None:
        raise NotFound(f"Incident {incident_id} does not exist")
    return incident


def incident_events(*, incident_id: int) -> QuerySet[IncidentEvent]:
    return IncidentEvent.objects.filter(incident_id=incident_id).select_related("actor").order_by("at", "id")


def incident_filter_choices(*, location_ids: Sequence[int] | None = None) -> dict[str, list[tuple[str, str]]]:
    """The kinds, locations, channels and assignees that occur in the incidents this user may see."""
    qs = Incident.objects.order_by()
    if location_ids is not None:
        qs = qs.filter(location_id__in=list(location_ids))
    kinds = qs.values_list("kind", flat=True).distinct().order_by("kind")
    locations = (
        qs.filter(location__isnull=False)
        .values_list("location__code", "location__name")
        .distinct()
        .order_by("location__code")
    )
    channels = qs.exclude(channel="").values_list("channel", flat=True).distinct().order_by("channel")
    assignees = (
        qs.filter(assignee__isnull=False)
        .values_list("assignee__username", flat=True)
        .distinct()
        .order_by("assignee__username")
    )
    return {
        "kind": [(k, k) for k in kinds],
        "location": [(code, f"{code} {name}") for code, name in locations],
        "channel": [(c, c) for c in channels],
        "assignee": [(u, u) for u in assignees],
    }


def incident_assignee_candidates(*, incident: Incident | None) -> QuerySet[AbstractBaseUser]:
    """Active users who may act on incidents and (given an incident) see its location; superusers
    included. The rule of apps.core.services.incident_assignee_allowed, as one query for a form."""
    User = get_user_model()

    def perm(app_label: str, codename: str) -> Q:
        return Q(user_permissions__content_type__app_label=app_label, user_permissions__codename=codename) | Q(
            groups__permissions__content_type__app_label=app_label, groups__permissions__codename=codename
        )

    may_act = Q(is_superuser=True) | perm("core", "act_on_incident")
    ids = User.objects.filter(may_act, is_active=True)
    if incident is not None:
        sees = Q(is_superuser=True) | perm("accounts", "view_all_locations")
        if incident.location_id is not None:
            sees |= Q(location_assignments__location_id=incident.location_id)
        ids = ids.filter(sees)
    return User.objects.filter(pk__in=ids.values("pk")).order_by(User.USERNAME_FIELD)


# --- links to an incident's subject -----------------------------------------------------------------

SubjectUrl = Callable[[Incident], str | None]
_subject_urls: dict[str, SubjectUrl] = {}


def register_incident_subject_url(model_label: str, func: SubjectUrl) -> SubjectUrl:
    """Let incidents about `model_label` ("app_label.model") link to the subject's portal page."""
    _subject_urls[model_label] = func
    return func


def _reverse(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def incident_subject_label(incident: Incident) -> str:
    """`app_label.model`, without loading the subject; empty when the incident has none."""
    content_type = incident.subject_type if incident.subject_type_id is not None else None
    if content_type is None:
        return ""
    return f"{content_type.app_label}.{content_type.model}"


def incident_subject_url(incident: Incident) -> str | None:
    """The portal page of the incident's subject, where one exists."""
    func = _subject_urls.get(incident_subject_label(incident))
    return func(incident) if func is not None and incident.subject_id else None


def _stock_level_url(incident: Incident) -> str | None:
    url = _reverse("stock:levels:index")
    return f"{url}?location={incident.location.code}" if url and incident.location is not None else url


# The portal pages that exist today; the owning apps may register their own instead.
register_incident_subject_url("orders.order", lambda incident: _reverse("orders:order:detail", incident.subject_id))
register_incident_subject_url("stock.stocklevel", _stock_level_url)
