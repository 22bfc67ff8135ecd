"""The transactional outbox: emit events with the change, relay them to handlers after commit.

Writers call `outbox_emit` inside their transaction. After commit a Celery task is nudged (best
effort: a broker that is down costs nothing but latency, because a periodic sweep relays whatever
is still pending). Each handler runs at most once per event: its effects and its delivery row
commit together. A handler that keeps failing is retried with exponential backoff and, after the
last attempt, becomes an incident.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from apps.core.db import bulk_insert
from apps.core.models import Incident, OutboxDelivery, OutboxEvent, OutboxStatus

if TYPE_CHECKING:
    from apps.core.services import RetryOutcome

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
_handlers: dict[str, list[tuple[str, Handler]]] = {}


def outbox_handler(*event_names: str) -> Callable[[Handler], Handler]:
    """Register a function as the handler of one or more event names. Handlers must be idempotent."""

    def register(func: Handler) -> Handler:
        key = f"{func.__module__}.{func.__qualname__}"
        for name in event_names:
            entries = _handlers.setdefault(name, [])
            if key not in {k for k, _ in entries}:
                entries.append((key, func))
        return func

    return register


def handlers_for(name: str) -> list[tuple[str, Handler]]:
    return list(_handlers.get(name, []))


@dataclass(frozen=True)
class Event:
    name: str
    aggregate_type: str
    aggregate_id: Any
    payload: dict[str, Any]


def outbox_emit(*events: Event) -> list[OutboxEvent]:
    """Write events in the caller's transaction and nudge the relay once it commits."""
    rows = [
        OutboxEvent(
            name=e.name,
            aggregate_type=e.aggregate_type,
            aggregate_id=str(e.aggregate_id),
            payload=e.payload,
        )
        for e in events
    ]
    if not rows:
        return rows
    bulk_insert(rows)
    transaction.on_commit(outbox_nudge)
    return rows


NUDGE_KEY = "retailops:outbox:nudge-queued"
_nudge_redis: Any = None
_nudge_lock = threading.Lock()
# Monotonic time until which every commit of this process is covered by a relay task that is
# already queued and starts no earlier than that time (so it will read those commits' events).
_nudge_covered_until = 0.0


def _redis_for_nudges() -> Any:
    """A Redis client on the broker, when the broker is Redis (else None: only the local gate)."""
    global _nudge_redis
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    if _nudge_redis is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: redis-py's default (3 with backoff) would hold a request for seconds while
        # Redis is down; the periodic sweep is the retry.
        _nudge_redis = redis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
    return _nudge_redis


def outbox_nudge(countdown: float | None = None) -> bool:
    """Ask a worker to relay soon. Never raises: if the broker is down the periodic sweep catches up.

    With `countdown` (a retry's backoff) one task is queued for then. Otherwise nudges coalesce in
    time, so a busy intake queues about one relay task per OUTBOX_NUDGE_INTERVAL in total instead
    of one per commit (a task costs the worker more CPU than relaying a few hundred events):

    - the first commit of an interval sets a Redis marker that expires after the interval, and
      queues the relay with `countdown` = the interval, so it starts after the marker is gone;
    - a commit that finds the marker set queues nothing: the queued relay starts after the marker
      expires, i.e. after this commit, and reads its events. The process remembers until when
      (PTTL), so further commits in that window do not even ask Redis.

    An event therefore waits at most about one interval (0.1 s by default) plus the relay's own
    time; a lost task or a broker outage is covered by the periodic sweep. Without Redis (the
    embedded filesystem broker) the same gate is kept per process.
    """
    from apps.core.tasks import outbox_relay_task

    global _nudge_covered_until
    if countdown is not None:
        return _publish(outbox_relay_task, countdown)
    interval = settings.OUTBOX_NUDGE_INTERVAL
    now = time.monotonic()
    if now < _nudge_covered_until:
        return True
    with _nudge_lock:
        if now < _nudge_covered_until:
            return True
        marked = False
        try:
            client = _redis_for_nudges()
            if client is not None:
                pipe = client.pipeline(transaction=False)
                pipe.set(NUDGE_KEY, b"1", nx=True, px=max(1, int(interval * 1000)))
                pipe.pttl(NUDGE_KEY)
                created, ttl_ms = pipe.execute()
                if not created:
                    # Another process queued the relay for when the marker expires (ttl < 0: it
                    # just expired; the next commit asks again).
                    _nudge_covered_until = now + max(ttl_ms, 0) / 1000
                    return True
                marked = True
        except Exception:  # noqa: BLE001 - any broker failure must not reach the caller
            logger.warning("outbox nudge failed; the periodic sweep will relay pending events", exc_info=True)
            _nudge_covered_until = time.monotonic() + interval  # do not hammer a broker that is down
            return False
        if not _publish(outbox_relay_task, interval):
            if marked:
                _nudge_clear_marker()  # nothing was queued: the next commit must try again
            _nudge_covered_until = time.monotonic() + interval
            return False
        _nudge_covered_until = now + interval
        return True


def _publish(task: Any, countdown: float) -> bool:
    try:
        task.apply_async(countdown=countdown, retry=False)
    except Exception:  # noqa: BLE001 - any broker failure must not reach the caller
        logger.warning("outbox nudge failed; the periodic sweep will relay pending events", exc_info=True)
        return False
    return True


def _nudge_clear_marker() -> None:
    try:
        client = _redis_for_nudges()
        if client is not None:
            client.delete(NUDGE_KEY)
    except Exception:  # noqa: BLE001 - the marker expires by itself within one interval
        logger.warning("could not clear the outbox nudge marker", exc_info=True)


def outbox_nudge_reset() -> None:
    """Forget this process's nudge window and the shared marker (tests; after a fork)."""
    global _nudge_covered_until
    _nudge_covered_until = 0.0
    _nudge_clear_marker()


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 3600))


def outbox_deliver(*, event_id: int) -> str | None:
    """Deliver one pending event to its handlers. Returns the resulting status, None if not taken.

    The event row is locked (skip locked) so two relays never work on the same event; handlers
    already recorded as delivered are skipped, so a retry only re-runs what failed.
    """
    from apps.core.services import incident_raise

    failed_after_last_attempt = False
    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, status=OutboxStatus.PENDING)
            .first()
        )
        if event is None:
            return None
        done = set(OutboxDelivery.objects.filter(event=event).values_list("handler", flat=True))
        errors: list[str] = []
        for key, handler in handlers_for(event.name):
            if key in done:
                continue
            try:
                with transaction.atomic():
                    handler(event)
                    OutboxDelivery.objects.create(event=event, handler=key)
            except Exception as exc:  # noqa: BLE001 - a failing handler is retried, not fatal
                logger.warning("outbox handler %s failed for event %s", key, event.pk, exc_info=True)
                errors.append(f"{key}: {type(exc).__name__}: {exc}")
        now = timezone.now()
        if not errors:
            event.status = OutboxStatus.DELIVERED
            event.delivered_at = now
            event.last_error = ""
        else:
            event.attempts += 1
            event.last_error = "\n".join(errors)[:4000]
            if event.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                event.status = OutboxStatus.FAILED
                failed_after_last_attempt = True
            else:
                event.next_attempt_at = now + _backoff(event.attempts)
        event.save(update_fields=["status", "delivered_at", "last_error", "attempts", "next_attempt_at"])
        if failed_after_last_attempt:
            incident_raise(
                kind="outbox.delivery_failed",
                severity="high",
                title=f"Event {event.name} #{event.pk} could not be delivered",
                subject=event,
                details={"event": event.name, "attempts": event.attempts, "errors": errors},
                dedupe_key=f"outbox:{event.pk}",
                owner_team="integration",
            )
        elif errors:
            delay = (event.next_attempt_at - now).total_seconds()
            transaction.on_commit(lambda: outbox_nudge(countdown=delay))
    return event.status


def pending_events(limit: int) -> list[tuple[int, str]]:
    """(id, name) of pending events that are due, oldest first."""
    return list(
        OutboxEvent.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("id")
        .values_list("id", "name")[:limit]
    )


def outbox_relay(*, batch_size: int | None = None, max_batches: int = 50) -> int:
    """Deliver pending events that are due, oldest first. Returns how many were delivered.

    Events that no handler subscribes to are marked delivered in one statement per batch; the
    others are delivered one by one (each event locked, each handler in its own savepoint).
    """
    batch_size = batch_size or settings.OUTBOX_BATCH_SIZE
    delivered = 0
    for _ in range(max_batches):
        batch = pending_events(batch_size)
        if not batch:
            break
        unheard = [event_id for event_id, name in batch if not _handlers.get(name)]
        if unheard:
            delivered += OutboxEvent.objects.filter(pk__in=unheard, status=OutboxStatus.PENDING).update(
                status=OutboxStatus.DELIVERED, delivered_at=timezone.now()
            )
        for event_id, name in batch:
            if not _handlers.get(name):
                continue
            try:
                if outbox_deliver(event_id=event_id) == OutboxStatus.DELIVERED:
                    delivered += 1
            except DatabaseError:
                logger.exception("outbox delivery of event %s hit a database error", event_id)
        if len(batch) < batch_size:
            break
    return delivered


def outbox_purge(*, now: Any = None, batch_size: int = 5000, max_batches: int = 200) -> int:
    """Delete events delivered more than OUTBOX_RETENTION_DAYS ago, with their delivery rows.

    Pending and failed events stay whatever their age: they are work still to do or an open
    incident's subject. Deletes in batches (one short transaction each) so the relay and the
    writers are never held up; returns how many events went. OUTBOX_RETENTION_DAYS = 0 keeps all.
    """
    days = settings.OUTBOX_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    purged = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(
                OutboxEvent.objects.filter(status=OutboxStatus.DELIVERED, delivered_at__lt=cutoff)
                .order_by("id")
                .values_list("id", flat=True)[:batch_size]
            )
            if ids:
                _, by_model = OutboxEvent.objects.filter(pk__in=ids, status=OutboxStatus.DELIVERED).delete()
                purged += by_model.get(OutboxEvent._meta.label, 0)
        if len(ids) < batch_size:
            break
    return purged


def outbox_requeue(*, event_ids: Iterable[int]) -> int:
    """Put failed events back in the queue (used by the incident retry action)."""
    return OutboxEvent.objects.filter(pk__in=list(event_ids), status=OutboxStatus.FAILED).update(
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
    )


def _retry_failed_delivery(incident: Incident) -> "RetryOutcome":
    """The `outbox.delivery_failed` incident's retry: requeue the event and deliver it now.

    A delivery that fails again puts the event back to failed, so the relay does not keep retrying
    behind the open incident's back (and a later success cannot leave a stale incident).
    """
    from apps.core.services import RetryOutcome

    event_id = int(incident.subject_id) if str(incident.subject_id).isdigit() else None
    if event_id is None or not OutboxEvent.objects.filter(pk=event_id).exists():
        return RetryOutcome(False, "The event behind this incident no longer exists")
    outbox_requeue(event_ids=[event_id])
    outbox_deliver(event_id=event_id)
    OutboxEvent.objects.filter(pk=event_id, status=OutboxStatus.PENDING).update(status=OutboxStatus.FAILED)
    event = OutboxEvent.objects.get(pk=event_id)
    if event.status == OutboxStatus.DELIVERED:
        return RetryOutcome(True, f"Event {event.name} #{event.pk} delivered")
    return RetryOutcome(False, f"Event {event.name} #{event.pk} still fails: {event.last_error}"[:2000])


def _register_retry() -> None:
    from apps.core.services import register_incident_retry

    register_incident_retry("outbox.delivery_failed", _retry_failed_delivery)


_register_retry()
