"""Core services: the incident (exception) queue of every domain.

Each write locks the incident row, calls the pure FSM transition, saves and appends one
IncidentEvent, all in one transaction; a refused action writes nothing. An actor scoped to some
locations (a store manager) may act only on incidents of those locations: any other is NotFound,
exactly as if it did not exist. `actor=None` is the system (jobs), which is not scoped.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import can_proceed

from apps.accounts.scoping import user_can_see_location, user_location_ids
from apps.core import types
from apps.core.errors import DomainError, InvalidTransition, NotFound
from apps.core.models import (
    INCIDENT_OPEN,
    Incident,
    IncidentAction,
    IncidentEvent,
    OwnerTeam,
    Severity,
)

logger = logging.getLogger(__name__)

OPEN_STATUSES = INCIDENT_OPEN
ACT_PERMISSION = "core.act_on_incident"
Actor = types.Actor | None


class IncidentInputRequired(DomainError):
    """A note or reason the action needs was left empty: bad input, not a conflict."""

    status_code = 400
    code = "note_required"


# --- raising -----------------------------------------------------------------------------------


def incident_due_at(*, severity: str, created_at: datetime) -> datetime:
    """When an incident of this severity raised at `created_at` is due (settings.INCIDENT_SLA_HOURS)."""
    return created_at + timedelta(hours=settings.INCIDENT_SLA_HOURS[severity])


def incident_raise(
    *,
    kind: str,
    title: str,
    severity: str = "medium",
    subject: models.Model | None = None,
    details: dict[str, Any] | None = None,
    dedupe_key: str = "",
    location: models.Model | int | None = None,
    channel: str = "",
    owner_team: str = "",
) -> Incident:
    """Open an incident, or count another occurrence of the open one with the same dedupe key.

    Either way one IncidentEvent is written (`created` or `occurred`). Runs in the caller's
    transaction when there is one (the outbox raises inside its delivery transaction).
    """
    if severity not in Severity.values:
        raise ValueError(f"unknown incident severity {severity!r}")
    if owner_team and owner_team not in OwnerTeam.values:
        raise ValueError(f"unknown owner team {owner_team!r}")
    location_id = location.pk if isinstance(location, models.Model) else location
    for _ in range(3):
        now = timezone.now()
        with transaction.atomic():
            if dedupe_key:
                existing = (
                    Incident.objects.select_for_update().filter(dedupe_key=dedupe_key, status__in=OPEN_STATUSES).first()
                )
                if existing is not None:
                    return _count_occurrence(existing, details=details, at=now)
            incident = Incident(
                kind=kind,
                title=title[:200],
                severity=severity,
                details=details or {},
                dedupe_key=dedupe_key,
                location_id=location_id,
                channel=channel,
                owner_team=owner_team,
                created_at=now,
                last_seen_at=now,
                due_at=incident_due_at(severity=severity, created_at=now),
            )
            if subject is not None:
                incident.subject_type = ContentType.objects.get_for_model(subject)
                incident.subject_id = str(subject.pk)
            try:
                with transaction.atomic():
                    incident.save(force_insert=True)
                    _record(incident, IncidentAction.CREATED, actor=None, from_status="", note=incident.title, at=now)
                return incident
            except IntegrityError:
                if not dedupe_key:
                    raise
                # Another process opened the same incident a moment ago: count this as an occurrence.
    raise DomainError(f"Could not raise incident {dedupe_key!r}: it keeps changing", code="incident_contended")


def _count_occurrence(incident: Incident, *, details: dict[str, Any] | None, at: datetime) -> Incident:
    before = incident.occurrences
    Incident.objects.filter(pk=incident.pk).update(
        occurrences=F("occurrences") + 1, last_seen_at=at, details=details or incident.details
    )
    incident.refresh_from_db()
    _record(
        incident,
        IncidentAction.OCCURRED,
        actor=None,
        from_status=incident.status,
        changes={"occurrences": [before, incident.occurrences]},
        at=at,
    )
    return incident


# --- acting on one incident -----------------------------------------------------------------------


def _user(actor: Actor) -> User | None:
    return types.real_user(actor)


def _visible(incident: Incident, actor: Actor) -> bool:
    if actor is None:
        return True
    scope = user_location_ids(actor)
    return scope is None or incident.location_id in scope


def _lock(incident_id: int, actor: Actor) -> Incident:
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None or not _visible(incident, actor):
        raise NotFound(f"Incident {incident_id} does not exist")
    return incident


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


_TRACKED = ("status", "assignee", "acknowledged_at", "resolved_at", "resolution_note", "due_at", "retry_count")


def _snapshot(incident: Incident) -> dict[str, Any]:
    values = {name: getattr(incident, name) for name in _TRACKED if name != "assignee"}
    values["assignee"] = incident.assignee.get_username() if incident.assignee is not None else None
    return {name: _json(value) for name, value in values.items()}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: [before[name], after[name]] for name in before if before[name] != after[name]}


def _record(
    incident: Incident,
    action: str,
    *,
    actor: Actor,
    from_status: str,
    note: str = "",
    changes: dict[str, Any] | None = None,
    at: datetime,
) -> IncidentEvent:
    return IncidentEvent.objects.create(
        incident=incident,
        action=action,
        actor=_user(actor),
        from_status=from_status,
        to_status=incident.status,
        note=note,
        changes=changes or {},
        at=at,
    )


def _refuse(incident: Incident, verb: str) -> InvalidTransition:
    return InvalidTransition(
        f"Incident #{incident.pk} cannot be {verb} from status {incident.status!r}", extra={"status": incident.status}
    )


def _required(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise IncidentInputRequired(f"A {what} is required.")
    return text


def _transition(
    *,
    incident_id: int,
    actor: Actor,
    method: str,
    verb: str,
    action: str,
    note: str = "",
    prepare: Callable[[Incident, datetime], dict[str, Any]] | None = None,
    after: Callable[[Incident], None] | None = None,
) -> Incident:
    """Lock, check the FSM allows it, transition, save, record: one transaction, nothing on refusal.

    `prepare(incident, now)` returns the transition's keyword arguments; `after` may change more
    fields before the save (they are recorded in the history row's changes too).
    """
    with transaction.atomic():
        now = timezone.now()
        incident = _lock(incident_id, actor)
        bound = getattr(incident, method)
        if not can_proceed(bound):
            raise _refuse(incident, verb)
        before, from_status = _snapshot(incident), incident.status
        bound(**(prepare(incident, now) if prepare else {}))
        if after is not None:
            after(incident)
        try:
            with transaction.atomic():
                incident.save()
        except IntegrityError:
            # Only reopen can collide: the same problem is open again under a newer incident.
            other = Incident.objects.filter(dedupe_key=incident.dedupe_key, status__in=OPEN_STATUSES).first()
            raise DomainError(
                f"Incident #{incident.pk} cannot be reopened: incident #{other.pk if other else '?'} "
                "is already open for the same problem",
                code="duplicate_open_incident",
                extra={"open_incident": other.pk if other else None},
            )
        _record(
            incident,
            action,
            actor=actor,
            from_status=from_status,
            note=note,
            changes=_diff(before, _snapshot(incident)),
            at=now,
        )
    return incident


def incident_assignee_allowed(*, incident: Incident, assignee: User) -> bool:
    """An assignee must be an active user who may act on incidents and can see this one's location."""
    return bool(
        assignee.is_active
        and assignee.has_perm(ACT_PERMISSION)
        and user_can_see_location(assignee, incident.location_id)
    )


def incident_assign(*, incident_id: int, assignee: User | None, actor: Actor, note: str = "") -> Incident:
    """Give an open or acknowledged incident to someone (None: to nobody).

    Assigning the current assignee again changes nothing and writes nothing.
    """
    with transaction.atomic():
        now = timezone.now()
        incident = _lock(incident_id, actor)
        if incident.status not in OPEN_STATUSES:
            raise _refuse(incident, "assigned")
        if assignee is not None and not incident_assignee_allowed(incident=incident, assignee=assignee):
            raise DomainError(
                f"{assignee.get_username()} cannot take incident #{incident.pk}: they may not act on it",
                code="invalid_assignee",
            )
        if incident.assignee_id == (assignee.pk if assignee is not None else None):
            return incident
        before = _snapshot(incident)
        incident.assignee = assignee
        incident.save(update_fields=["assignee", "updated_at"])
        _record(
            incident,
            IncidentAction.ASSIGNED,
            actor=actor,
            from_status=incident.status,
            note=note.strip(),
            changes=_diff(before, _snapshot(incident)),
            at=now,
        )
    return incident


def incident_acknowledge(*, incident_id: int, actor: Actor, note: str = "") -> Incident:
    """Someone is on it: open → acknowledged. An unassigned incident goes to the person acknowledging."""
    user = _user(actor)

    def take(incident: Incident) -> None:
        if incident.assignee_id is None and user is not None:
            incident.assignee = user

    return _transition(
        incident_id=incident_id,
        actor=actor,
        method="acknowledge",
        verb="acknowledged",
        action=IncidentAction.ACKNOWLEDGED,
        note=note.strip(),
        prepare=lambda incident, now: {"at": now},
        after=take,
    )


def incident_resolve(*, incident_id: int, actor: Actor, note: str) -> Incident:
    """Fixed: open/acknowledged → resolved. The note saying what was done is required."""
    note = _required(note, "resolution note")
    return _transition(
        incident_id=incident_id,
        actor=actor,
        method="resolve",
        verb="resolved",
        action=IncidentAction.RESOLVED,
        note=note,
        prepare=lambda incident, now: {"note": note, "at": now},
    )


def incident_dismiss(*, incident_id: int, actor: Actor, reason: str) -> Incident:
    """Not a problem after all: open/acknowledged → dismissed. The reason is required."""
    reason = _required(reason, "reason")
    return _transition(
        incident_id=incident_id,
        actor=actor,
        method="dismiss",
        verb="dismissed",
        action=IncidentAction.DISMISSED,
        note=reason,
        prepare=lambda incident, now: {"reason": reason, "at": now},
    )


def incident_reopen(*, incident_id: int, actor: Actor, note: str = "") -> Incident:
    """Back into the queue: resolved/dismissed → open, due again as if raised now.

    Refused while the same problem (dedupe key) is open under another incident.
    """
    return _transition(
        incident_id=incident_id,
        actor=actor,
        method="reopen",
        verb="reopened",
        action=IncidentAction.REOPENED,
        note=note.strip(),
        prepare=lambda incident, now: {"due_at": incident_due_at(severity=incident.severity, created_at=now)},
    )


# --- retrying the failed job behind an incident -----------------------------------------------------


@dataclass(frozen=True)
class RetryOutcome:
    """What a retry function reports: did the job now succeed, and anything worth recording."""

    succeeded: bool
    detail: str = ""


RetryFunc = Callable[[Incident], "bool | RetryOutcome"]
_retry_funcs: dict[str, RetryFunc] = {}


def register_incident_retry(kind: str, func: RetryFunc) -> RetryFunc:
    """Let incidents of `kind` be retried: `func(incident)` re-runs the failed job and returns whether
    it now succeeds (a bool or a RetryOutcome). It runs inside the retry's transaction, in a
    savepoint: if it raises, its writes are rolled back and the attempt is recorded as failed."""
    _retry_funcs[kind] = func
    return func


def _retry_func(kind: str) -> RetryFunc | None:
    import apps.core.outbox  # noqa: F401 - core's own retry (outbox.delivery_failed) registers on import

    return _retry_funcs.get(kind)


def incident_retry_supported(kind: str) -> bool:
    return _retry_func(kind) is not None


@dataclass(frozen=True)
class RetryResult:
    incident: Incident
    succeeded: bool
    detail: str


def incident_retry(*, incident_id: int, actor: Actor) -> RetryResult:
    """Re-run the failed job behind an open incident with its kind's registered function.

    The attempt is counted (retry_count) and recorded either way; the incident is resolved only
    if the job now succeeds, otherwise it stays as it was (open or acknowledged).
    """
    with transaction.atomic():
        incident = _lock(incident_id, actor)
        if incident.status not in OPEN_STATUSES:
            raise _refuse(incident, "retried")
        func = _retry_func(incident.kind)
        if func is None:
            raise DomainError(f"Incidents of kind {incident.kind!r} cannot be retried", code="retry_not_supported")
        try:
            with transaction.atomic():
                outcome = func(incident)
        except Exception as exc:  # noqa: BLE001 - a failing job is what incidents are for: record it
            logger.warning("retry of incident %s failed", incident.pk, exc_info=True)
            outcome = RetryOutcome(False, f"{type(exc).__name__}: {exc}")
        if not isinstance(outcome, RetryOutcome):
            outcome = RetryOutcome(bool(outcome))
        # Read it again: the job may have counted another occurrence of this very incident.
        now = timezone.now()
        incident = _lock(incident_id, None)
        before, from_status = _snapshot(incident), incident.status
        incident.retry_count += 1
        note = outcome.detail or ("Retry succeeded" if outcome.succeeded else "Retry failed")
        if outcome.succeeded:
            incident.resolve(note=note, at=now)
        incident.save()
        changes: dict[str, Any] = {**_diff(before, _snapshot(incident)), "outcome": outcome.succeeded}
        _record(
            incident, IncidentAction.RETRIED, actor=actor, from_status=from_status, note=note, changes=changes, at=now
        )
    return RetryResult(incident=incident, succeeded=outcome.succeeded, detail=note)


# --- bulk ----------------------------------------------------------------------------------------

BULK_ACTIONS = ("assign", "acknowledge", "resolve", "dismiss", "reopen", "retry")


@dataclass(frozen=True)
class BulkItemResult:
    """One incident's result: ok, or the reason it was refused (`error` is a machine code)."""

    id: int
    ok: bool
    status: str = ""
    error: str = ""
    detail: str = ""


def incident_bulk(
    *,
    action: str,
    ids: Sequence[int],
    actor: Actor,
    note: str = "",
    assignee: User | None = None,
) -> list[BulkItemResult]:
    """Apply one action to many incidents, each in its own transaction; one result per id, in order.

    Refusals are per item: `not_found` (no such incident, or one outside the actor's locations:
    like the single-item endpoints' 404, a refusal must not tell which ids exist),
    `invalid_transition`, `invalid_assignee`, `retry_not_supported`, `retry_failed`. A missing
    note for resolve/dismiss refuses the whole request before anything is done.
    """
    if action not in BULK_ACTIONS:
        raise DomainError(f"Unknown bulk action {action!r}", code="unknown_action")
    if action == "resolve":
        _required(note, "resolution note")
    elif action == "dismiss":
        _required(note, "reason")
    ids = list(dict.fromkeys(ids))
    locations = dict(Incident.objects.filter(pk__in=ids).values_list("pk", "location_id"))
    scope = user_location_ids(actor) if actor is not None else None
    results = []
    for incident_id in ids:
        if incident_id not in locations or (scope is not None and locations[incident_id] not in scope):
            results.append(BulkItemResult(incident_id, False, error="not_found", detail="No such incident"))
            continue
        try:
            results.append(_bulk_one(action, incident_id, actor=actor, note=note, assignee=assignee))
        except DomainError as error:
            results.append(BulkItemResult(incident_id, False, error=error.code, detail=error.detail))
    return results


def _bulk_one(action: str, incident_id: int, *, actor: Actor, note: str, assignee: User | None) -> BulkItemResult:
    if action == "retry":
        result = incident_retry(incident_id=incident_id, actor=actor)
        return BulkItemResult(
            incident_id,
            result.succeeded,
            status=result.incident.status,
            error="" if result.succeeded else "retry_failed",
            detail=result.detail,
        )
    if action == "assign":
        incident = incident_assign(incident_id=incident_id, assignee=assignee, actor=actor, note=note)
    elif action == "acknowledge":
        incident = incident_acknowledge(incident_id=incident_id, actor=actor, note=note)
    elif action == "resolve":
        incident = incident_resolve(incident_id=incident_id, actor=actor, note=note)
    elif action == "dismiss":
        incident = incident_dismiss(incident_id=incident_id, actor=actor, reason=note)
    else:
        incident = incident_reopen(incident_id=incident_id, actor=actor, note=note)
    return BulkItemResult(incident_id, True, status=incident.status)
