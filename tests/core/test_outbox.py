"""The transactional outbox: written with the change, delivered once per handler, retried, escalated."""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.core import outbox
from apps.core.models import Incident, OutboxDelivery, OutboxEvent
from apps.core.outbox import Event, outbox_deliver, outbox_emit, outbox_handler, outbox_relay, outbox_requeue
from apps.orders.models import Order
from tests.orders.helpers import payload

pytestmark = pytest.mark.django_db

calls: list[tuple[str, int]] = []


@pytest.fixture(autouse=True)
def test_handlers(monkeypatch):
    """Handlers for test-only event names, removed afterwards."""
    monkeypatch.setattr(outbox, "_handlers", {k: list(v) for k, v in outbox._handlers.items()})
    calls.clear()

    @outbox_handler("test.thing.happened")
    def record(event):
        calls.append(("record", event.pk))

    @outbox_handler("test.thing.happened")
    def flaky(event):
        calls.append(("flaky", event.pk))
        if event.payload.get("fail"):
            raise RuntimeError("downstream unavailable")

    yield


def emit(**payload):
    return outbox_emit(Event("test.thing.happened", "test.thing", 1, payload))[0]


def test_an_event_rolled_back_with_its_change_is_never_written():
    with pytest.raises(RuntimeError), transaction.atomic():
        emit()
        raise RuntimeError("the change failed")
    assert OutboxEvent.objects.count() == 0


def test_every_handler_runs_once_and_the_event_is_delivered():
    event = emit()
    assert outbox_relay() == 1
    assert outbox_relay() == 0
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("delivered", 0)
    assert sorted(calls) == [("flaky", event.pk), ("record", event.pk)]
    assert OutboxDelivery.objects.filter(event=event).count() == 2


def test_a_failing_handler_is_retried_with_backoff_and_the_others_are_not_rerun():
    event = emit(fail=True)
    outbox_deliver(event_id=event.pk)
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("pending", 1)
    assert "downstream unavailable" in event.last_error
    assert timedelta(seconds=1) <= event.next_attempt_at - timezone.now() <= timedelta(seconds=3)
    assert outbox_relay() == 0  # not due yet
    OutboxEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
    outbox_relay()
    assert calls.count(("record", event.pk)) == 1
    assert calls.count(("flaky", event.pk)) == 2
    event.refresh_from_db()
    assert event.attempts == 2
    assert event.next_attempt_at - timezone.now() > timedelta(seconds=3)


def test_a_handler_that_fails_its_last_attempt_raises_one_incident(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    event = emit(fail=True)
    for _ in range(3):
        OutboxEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
        outbox_relay()
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", 3)
    incident = Incident.objects.get()
    assert (incident.kind, incident.severity, incident.subject) == ("outbox.delivery_failed", "high", event)
    assert outbox_relay() == 0
    assert calls.count(("flaky", event.pk)) == 3


def test_a_requeued_failed_event_is_delivered_when_the_handler_recovers(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    event = emit(fail=True)
    outbox_relay()
    OutboxEvent.objects.filter(pk=event.pk).update(payload={"fail": False})
    assert outbox_requeue(event_ids=[event.pk]) == 1
    assert outbox_relay() == 1
    event.refresh_from_db()
    assert event.status == "delivered"


def test_two_relays_never_deliver_the_same_event_twice():
    event = emit()
    with transaction.atomic():
        OutboxEvent.objects.select_for_update().get(pk=event.pk)  # another relay holds it
        assert outbox_deliver(event_id=event.pk) == "delivered"  # same connection: lock is ours
    assert outbox_deliver(event_id=event.pk) is None
    assert calls.count(("record", event.pk)) == 1


def test_order_intake_commits_and_answers_quickly_when_the_broker_is_down(
    api, warehouse, product, receive, django_capture_on_commit_callbacks
):
    from retailops.celery import app

    receive(warehouse, product, 5)
    saved = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    app._pool = None
    app.amqp._producer_pool = None
    try:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            r = api.post("/api/v1/orders/", payload([("SKU-A", 1)]), format="json")
        elapsed = time.monotonic() - started
    finally:
        app.conf.broker_url = saved
        app._pool = None
        app.amqp._producer_pool = None
    assert r.status_code == 201
    assert len(callbacks) == 1  # the nudge ran, failed, and was swallowed
    assert elapsed < 3.0
    assert Order.objects.count() == 1
    assert list(OutboxEvent.objects.filter(aggregate_type="orders.order").values_list("name", "status")) == [
        ("orders.order.received", "pending"),
        ("orders.order.allocated", "pending"),
    ]
    outbox_relay()  # the sweep catches up once the broker is back
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"delivered"}


def test_events_no_handler_listens_to_are_delivered_in_bulk_and_never_touch_handlers(
    django_assert_num_queries,
):
    quiet = outbox_emit(*[Event("test.nobody.listens", "test.thing", i, {}) for i in range(30)])
    with django_assert_num_queries(2):  # select the due batch, one bulk update
        assert outbox_relay() == 30
    assert set(OutboxEvent.objects.filter(pk__in=[e.pk for e in quiet]).values_list("status", flat=True)) == {
        "delivered"
    }
    assert OutboxDelivery.objects.filter(event__in=quiet).count() == 0
    assert calls == []


@pytest.fixture
def published(monkeypatch, settings):
    """Record relay tasks instead of queueing them; a fresh nudge window before and after."""
    from apps.core import tasks

    settings.OUTBOX_NUDGE_INTERVAL = 0.2
    sent: list[dict] = []
    monkeypatch.setattr(tasks.outbox_relay_task, "apply_async", lambda **kw: sent.append(kw))
    outbox.outbox_nudge_reset()
    yield sent
    outbox.outbox_nudge_reset()


def test_nudges_coalesce_into_one_delayed_relay_per_interval(published):
    assert outbox.outbox_nudge() is True
    assert outbox.outbox_nudge() is True
    assert published == [{"countdown": 0.2, "retry": False}]  # it starts after both commits


def test_a_commit_in_another_process_inside_the_interval_queues_nothing(published):
    assert outbox.outbox_nudge() is True
    outbox._nudge_covered_until = 0.0  # another process: it only shares the Redis marker
    assert outbox.outbox_nudge() is True
    assert len(published) == 1  # the queued relay starts after the marker expires, so after this commit


def test_a_commit_after_the_interval_queues_the_next_relay(published):
    assert outbox.outbox_nudge() is True
    time.sleep(0.25)
    assert outbox.outbox_nudge() is True
    assert len(published) == 2


def test_a_retry_nudge_is_queued_for_its_backoff_regardless_of_the_window(published):
    assert outbox.outbox_nudge() is True
    assert outbox.outbox_nudge(countdown=8.0) is True
    assert published[-1] == {"countdown": 8.0, "retry": False}


def test_a_nudge_that_could_not_be_queued_does_not_block_the_next(monkeypatch, published):
    from apps.core import tasks

    def refuse(**kw):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.outbox_relay_task, "apply_async", refuse)
    assert outbox.outbox_nudge() is False
    assert outbox._redis_for_nudges().exists(outbox.NUDGE_KEY) == 0  # the marker was taken back
    monkeypatch.setattr(tasks.outbox_relay_task, "apply_async", lambda **kw: published.append(kw))
    outbox._nudge_covered_until = 0.0  # past the back-off window
    assert outbox.outbox_nudge() is True
    assert len(published) == 1


def test_a_nudge_fails_fast_and_backs_off_when_redis_is_down(monkeypatch, settings, published):
    monkeypatch.setattr(outbox, "_nudge_redis", None)
    monkeypatch.setattr(settings, "CELERY_BROKER_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    started = time.monotonic()
    assert outbox.outbox_nudge() is False
    assert outbox.outbox_nudge() is True  # inside the back-off window: no second connection attempt
    assert time.monotonic() - started < 1.0
    assert published == []


def test_purge_deletes_only_events_delivered_before_the_retention_window(settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    now = timezone.now()
    old_delivered, recent_delivered, old_pending, old_failed = (emit(n=i) for i in range(4))
    OutboxDelivery.objects.create(event=old_delivered, handler="h")
    OutboxDelivery.objects.create(event=recent_delivered, handler="h")
    OutboxEvent.objects.filter(pk=old_delivered.pk).update(status="delivered", delivered_at=now - timedelta(days=31))
    OutboxEvent.objects.filter(pk=recent_delivered.pk).update(status="delivered", delivered_at=now - timedelta(days=29))
    OutboxEvent.objects.filter(pk__in=[old_pending.pk, old_failed.pk]).update(created_at=now - timedelta(days=90))
    OutboxEvent.objects.filter(pk=old_failed.pk).update(status="failed")

    assert outbox.outbox_purge(now=now, batch_size=1) == 1

    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {recent_delivered.pk, old_pending.pk, old_failed.pk}
    assert list(OutboxDelivery.objects.values_list("event_id", flat=True)) == [recent_delivered.pk]


def test_purge_works_through_batches_and_zero_retention_keeps_everything(settings):
    now = timezone.now()
    events = [emit(n=i) for i in range(5)]
    OutboxEvent.objects.update(status="delivered", delivered_at=now - timedelta(days=400))
    settings.OUTBOX_RETENTION_DAYS = 0
    assert outbox.outbox_purge(now=now) == 0
    assert OutboxEvent.objects.count() == 5
    settings.OUTBOX_RETENTION_DAYS = 365
    assert outbox.outbox_purge(now=now, batch_size=2) == 5
    assert not OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).exists()
