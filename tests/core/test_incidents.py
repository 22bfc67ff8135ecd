"""The incident queue's services: raising, every transition and its guard, history, retry, bulk."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.core import outbox
from apps.core.errors import DomainError, InvalidTransition, NotFound
from apps.core.models import Incident, IncidentEvent, OutboxEvent
from apps.core.outbox import Event, outbox_emit, outbox_handler, outbox_relay
from apps.core.services import (
    IncidentInputRequired,
    RetryOutcome,
    incident_acknowledge,
    incident_assign,
    incident_bulk,
    incident_dismiss,
    incident_raise,
    incident_reopen,
    incident_resolve,
    incident_retry,
    register_incident_retry,
)
from apps.orders.services import order_create
from apps.stock import services as stock_services
from tests.core.test_incidents_factories import history, make_incident, perm_user, role_user, snapshot
from tests.factories import StoreFactory, UserFactory
from tests.orders.helpers import order_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db):
    return perm_user("alice", "view_incident", "act_on_incident", "view_all_locations")


# --- raising ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "severity,hours", [("critical", 4), ("high", 24), ("medium", 72), ("low", 168)], ids=lambda v: str(v)
)
def test_due_at_follows_from_the_severity(severity, hours):
    incident = incident_raise(kind="test.failure", title="x", severity=severity)
    assert incident.due_at - incident.created_at == timedelta(hours=hours)


def test_the_sla_hours_come_from_settings(settings):
    settings.INCIDENT_SLA_HOURS = {**settings.INCIDENT_SLA_HOURS, "high": 2}
    incident = incident_raise(kind="test.failure", title="x", severity="high")
    assert incident.due_at - incident.created_at == timedelta(hours=2)


def test_raising_stores_what_the_raiser_knows_and_writes_a_created_row():
    store = StoreFactory(code="ST9")
    incident = incident_raise(
        kind="pos.sync_failed",
        title="Till 3 did not sync",
        severity="low",
        details={"till": 3},
        location=store,
        channel="store",
        owner_team="store_ops",
    )
    incident.refresh_from_db()
    assert (incident.status, incident.location, incident.channel, incident.owner_team, incident.occurrences) == (
        "open",
        store,
        "store",
        "store_ops",
        1,
    )
    event = IncidentEvent.objects.get(incident=incident)
    assert (event.action, event.from_status, event.to_status, event.actor, event.note) == (
        "created",
        "",
        "open",
        None,
        "Till 3 did not sync",
    )


def test_a_location_may_be_given_by_id():
    store = StoreFactory()
    assert incident_raise(kind="k", title="t", location=store.pk).location_id == store.pk


@pytest.mark.parametrize("kwargs", [{"severity": "urgent"}, {"owner_team": "marketing"}], ids=["severity", "team"])
def test_raising_with_an_unknown_severity_or_team_is_a_programming_error(kwargs):
    with pytest.raises(ValueError):
        incident_raise(kind="k", title="t", **kwargs)
    assert (Incident.objects.count(), IncidentEvent.objects.count()) == (0, 0)


def test_the_same_problem_while_open_counts_an_occurrence_and_writes_history():
    first = incident_raise(kind="k", title="t", dedupe_key="k:1", details={"n": 1})
    again = incident_raise(kind="k", title="t", dedupe_key="k:1", details={"n": 2})
    assert again.pk == first.pk
    assert (again.occurrences, again.details) == (2, {"n": 2})
    assert Incident.objects.count() == 1
    assert history(first) == [("created", "", "open"), ("occurred", "open", "open")]
    assert IncidentEvent.objects.filter(action="occurred").get().changes == {"occurrences": [1, 2]}


def test_the_same_problem_after_resolution_opens_a_new_incident():
    first = incident_raise(kind="k", title="t", dedupe_key="k:1")
    incident_resolve(incident_id=first.pk, actor=None, note="fixed")
    second = incident_raise(kind="k", title="t", dedupe_key="k:1")
    assert second.pk != first.pk
    assert second.occurrences == 1


def test_the_status_cannot_be_set_directly():
    incident = make_incident()
    with pytest.raises(AttributeError):
        incident.status = "resolved"


# --- transitions ---------------------------------------------------------------------------------------


def test_acknowledge_takes_an_unassigned_incident_and_records_the_change(alice):
    incident = make_incident()
    incident = incident_acknowledge(incident_id=incident.pk, actor=alice, note="looking")
    incident.refresh_from_db()
    assert (incident.status, incident.assignee) == ("acknowledged", alice)
    assert incident.acknowledged_at is not None
    event = IncidentEvent.objects.filter(incident=incident).last()
    assert (event.action, event.actor, event.from_status, event.to_status, event.note) == (
        "acknowledged",
        alice,
        "open",
        "acknowledged",
        "looking",
    )
    assert set(event.changes) == {"status", "assignee", "acknowledged_at"}
    assert event.changes["assignee"] == [None, "alice"]


def test_acknowledge_keeps_an_existing_assignee(alice):
    bob = perm_user("bob", "act_on_incident", "view_all_locations")
    incident = make_incident()
    incident_assign(incident_id=incident.pk, assignee=bob, actor=alice)
    assert incident_acknowledge(incident_id=incident.pk, actor=alice).assignee == bob


def test_resolve_records_the_note_and_the_time(alice):
    incident = make_incident()
    incident = incident_resolve(incident_id=incident.pk, actor=alice, note="  restarted the sync  ")
    incident.refresh_from_db()
    assert (incident.status, incident.resolution_note) == ("resolved", "restarted the sync")
    assert incident.resolved_at is not None
    assert history(incident)[-1] == ("resolved", "open", "resolved")


def test_an_acknowledged_incident_can_be_resolved(alice):
    incident = make_incident()
    incident_acknowledge(incident_id=incident.pk, actor=alice)
    incident_resolve(incident_id=incident.pk, actor=alice, note="done")
    assert history(incident) == [
        ("created", "", "open"),
        ("acknowledged", "open", "acknowledged"),
        ("resolved", "acknowledged", "resolved"),
    ]


def test_dismiss_records_the_reason(alice):
    incident = make_incident()
    incident = incident_dismiss(incident_id=incident.pk, actor=alice, reason="test data")
    incident.refresh_from_db()
    assert (incident.status, incident.resolution_note) == ("dismissed", "test data")
    assert history(incident)[-1] == ("dismissed", "open", "dismissed")


@pytest.mark.parametrize(
    "act",
    [
        lambda i, u: incident_resolve(incident_id=i, actor=u, note=""),
        lambda i, u: incident_resolve(incident_id=i, actor=u, note="   "),
        lambda i, u: incident_dismiss(incident_id=i, actor=u, reason=""),
    ],
    ids=["resolve without note", "resolve with blank note", "dismiss without reason"],
)
def test_resolve_and_dismiss_need_their_text_and_write_nothing_without_it(alice, act):
    incident = make_incident()
    before = snapshot(incident)
    with pytest.raises(IncidentInputRequired) as refused:
        act(incident.pk, alice)
    assert refused.value.status_code == 400
    assert snapshot(incident) == before


@pytest.mark.parametrize("end", ["resolved", "dismissed"])
@pytest.mark.parametrize(
    "act",
    [
        lambda i, u: incident_acknowledge(incident_id=i, actor=u),
        lambda i, u: incident_resolve(incident_id=i, actor=u, note="again"),
        lambda i, u: incident_dismiss(incident_id=i, actor=u, reason="again"),
        lambda i, u: incident_assign(incident_id=i, assignee=u, actor=u),
        lambda i, u: incident_retry(incident_id=i, actor=u),
    ],
    ids=["acknowledge", "resolve", "dismiss", "assign", "retry"],
)
def test_a_closed_incident_refuses_every_action_but_reopen_and_nothing_is_written(alice, end, act):
    incident = make_incident(kind="outbox.delivery_failed")
    if end == "resolved":
        incident_resolve(incident_id=incident.pk, actor=alice, note="fixed")
    else:
        incident_dismiss(incident_id=incident.pk, actor=alice, reason="noise")
    before = snapshot(incident)
    with pytest.raises(InvalidTransition) as refused:
        act(incident.pk, alice)
    assert refused.value.status_code == 409
    assert refused.value.extra == {"status": end}
    assert snapshot(incident) == before


def test_acknowledging_twice_is_refused(alice):
    incident = make_incident()
    incident_acknowledge(incident_id=incident.pk, actor=alice)
    before = snapshot(incident)
    with pytest.raises(InvalidTransition, match="cannot be acknowledged from status 'acknowledged'"):
        incident_acknowledge(incident_id=incident.pk, actor=alice)
    assert snapshot(incident) == before


def test_reopen_puts_a_closed_incident_back_in_the_queue_due_again_from_now(alice):
    incident = make_incident(severity="high", age=timedelta(days=5))
    incident_acknowledge(incident_id=incident.pk, actor=alice)
    incident_resolve(incident_id=incident.pk, actor=alice, note="thought so")
    started = timezone.now()
    incident = incident_reopen(incident_id=incident.pk, actor=alice, note="it is back")
    incident.refresh_from_db()
    assert (incident.status, incident.resolution_note, incident.resolved_at, incident.acknowledged_at) == (
        "open",
        "",
        None,
        None,
    )
    assert started + timedelta(hours=24) <= incident.due_at <= timezone.now() + timedelta(hours=24)
    assert history(incident)[-1] == ("reopened", "resolved", "open")


def test_reopen_is_refused_while_the_same_problem_is_open_again(alice):
    old = make_incident(dedupe_key="k:1")
    incident_resolve(incident_id=old.pk, actor=alice, note="fixed")
    new = make_incident(dedupe_key="k:1")
    before = snapshot(old)
    with pytest.raises(DomainError) as refused:
        incident_reopen(incident_id=old.pk, actor=alice)
    assert (refused.value.code, refused.value.extra) == ("duplicate_open_incident", {"open_incident": new.pk})
    assert snapshot(old) == before


def test_an_open_incident_cannot_be_reopened(alice):
    incident = make_incident()
    with pytest.raises(InvalidTransition):
        incident_reopen(incident_id=incident.pk, actor=alice)


def test_an_unknown_incident_is_not_found(alice):
    with pytest.raises(NotFound):
        incident_acknowledge(incident_id=999_999, actor=alice)


# --- assignment ------------------------------------------------------------------------------------------


def test_assign_and_unassign_each_write_a_history_row(alice):
    bob = perm_user("bob", "act_on_incident", "view_all_locations")
    incident = make_incident()
    incident_assign(incident_id=incident.pk, assignee=bob, actor=alice, note="yours")
    incident_assign(incident_id=incident.pk, assignee=bob, actor=alice)  # no change: no row
    incident_assign(incident_id=incident.pk, assignee=None, actor=alice)
    events = IncidentEvent.objects.filter(incident=incident, action="assigned").order_by("id")
    assert [(e.changes, e.actor, e.note, e.from_status, e.to_status) for e in events] == [
        ({"assignee": [None, "bob"]}, alice, "yours", "open", "open"),
        ({"assignee": ["bob", None]}, alice, "", "open", "open"),
    ]
    incident.refresh_from_db()
    assert incident.assignee is None


@pytest.mark.parametrize(
    "who",
    ["without the permission", "inactive", "manager of another store", "scoped, incident without location"],
)
def test_assign_refuses_someone_who_may_not_act_on_the_incident(alice, who):
    mine, theirs = StoreFactory(code="MINE"), StoreFactory(code="THEIRS")
    location = None if who.endswith("without location") else mine
    incident = make_incident(location=location)
    assignee = {
        "without the permission": lambda: perm_user("viewer", "view_incident", "view_all_locations"),
        "inactive": lambda: perm_user("gone", "act_on_incident", "view_all_locations", is_active=False),
        "manager of another store": lambda: role_user("mgr", "store_manager", locations=[theirs]),
        "scoped, incident without location": lambda: role_user("mgr", "store_manager", locations=[mine]),
    }[who]()
    before = snapshot(incident)
    with pytest.raises(DomainError) as refused:
        incident_assign(incident_id=incident.pk, assignee=assignee, actor=alice)
    assert refused.value.code == "invalid_assignee"
    assert snapshot(incident) == before


def test_a_store_manager_can_be_assigned_an_incident_of_their_store(alice):
    store = StoreFactory()
    manager = role_user("mgr", "store_manager", locations=[store])
    incident = make_incident(location=store)
    assert incident_assign(incident_id=incident.pk, assignee=manager, actor=alice).assignee == manager


# --- scoping ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["another store", "no location"])
@pytest.mark.parametrize(
    "act",
    [
        lambda i, u: incident_acknowledge(incident_id=i, actor=u),
        lambda i, u: incident_resolve(incident_id=i, actor=u, note="x"),
        lambda i, u: incident_dismiss(incident_id=i, actor=u, reason="x"),
        lambda i, u: incident_assign(incident_id=i, assignee=None, actor=u),
        lambda i, u: incident_retry(incident_id=i, actor=u),
    ],
    ids=["acknowledge", "resolve", "dismiss", "assign", "retry"],
)
def test_a_store_manager_cannot_act_on_incidents_outside_their_stores(where, act):
    mine, theirs = StoreFactory(code="MINE"), StoreFactory(code="THEIRS")
    manager = role_user("mgr", "store_manager", locations=[mine])
    incident = make_incident(kind="outbox.delivery_failed", location=theirs if where == "another store" else None)
    before = snapshot(incident)
    with pytest.raises(NotFound):
        act(incident.pk, manager)
    assert snapshot(incident) == before


def test_a_store_manager_acts_on_their_own_stores_incident():
    mine = StoreFactory(code="MINE")
    manager = role_user("mgr", "store_manager", locations=[mine])
    incident = make_incident(location=mine)
    incident_acknowledge(incident_id=incident.pk, actor=manager)
    assert incident_resolve(incident_id=incident.pk, actor=manager, note="counted again").status == "resolved"


# --- retry ---------------------------------------------------------------------------------------------------

calls: list[int] = []


@pytest.fixture
def flaky_handler(monkeypatch):
    """A test-only event whose handler fails while the payload says so (as in test_outbox.py)."""
    monkeypatch.setattr(outbox, "_handlers", {k: list(v) for k, v in outbox._handlers.items()})
    calls.clear()

    @outbox_handler("test.incident.retry")
    def flaky(event):
        calls.append(event.pk)
        if event.payload.get("fail"):
            raise RuntimeError("downstream unavailable")

    yield


@pytest.fixture
def failed_event(settings, flaky_handler):
    """An event that failed its last attempt, and the incident that raised."""
    settings.OUTBOX_MAX_ATTEMPTS = 2
    event = outbox_emit(Event("test.incident.retry", "test.thing", 1, {"fail": True}))[0]
    for _ in range(2):
        OutboxEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())
        outbox_relay()
    event.refresh_from_db()
    assert event.status == "failed"
    return event, Incident.objects.get(kind="outbox.delivery_failed")


def test_the_outbox_raises_its_incident_for_the_integration_team(failed_event):
    event, incident = failed_event
    assert (incident.owner_team, incident.severity, incident.subject, incident.status) == (
        "integration",
        "high",
        event,
        "open",
    )


def test_retry_resolves_the_incident_when_the_event_is_now_delivered(failed_event, alice):
    event, incident = failed_event
    OutboxEvent.objects.filter(pk=event.pk).update(payload={"fail": False})  # downstream is back

    result = incident_retry(incident_id=incident.pk, actor=alice)

    event.refresh_from_db()
    incident.refresh_from_db()
    assert result.succeeded is True
    assert (event.status, incident.status, incident.retry_count) == ("delivered", "resolved", 1)
    assert incident.resolution_note == f"Event test.incident.retry #{event.pk} delivered"
    assert calls == [event.pk, event.pk, event.pk]
    retried = IncidentEvent.objects.filter(incident=incident).last()
    assert (retried.action, retried.actor, retried.from_status, retried.to_status) == (
        "retried",
        alice,
        "open",
        "resolved",
    )
    assert retried.changes["outcome"] is True
    assert retried.changes["retry_count"] == [0, 1]


def test_retry_keeps_the_incident_open_when_the_event_still_fails(failed_event, alice):
    event, incident = failed_event

    result = incident_retry(incident_id=incident.pk, actor=alice)

    event.refresh_from_db()
    incident.refresh_from_db()
    assert result.succeeded is False
    assert "still fails" in result.detail and "downstream unavailable" in result.detail
    # the event is failed again (not left pending for the relay), the attempt is counted and recorded
    assert (event.status, event.attempts) == ("failed", 1)
    assert (incident.status, incident.retry_count, incident.occurrences, incident.resolved_at) == ("open", 1, 1, None)
    assert history(incident) == [("created", "", "open"), ("retried", "open", "open")]
    retried = IncidentEvent.objects.filter(incident=incident).last()
    assert retried.changes == {"retry_count": [0, 1], "outcome": False}
    assert "downstream unavailable" in retried.note
    assert outbox_relay() == 0  # nothing retries it behind the incident's back

    # and a later retry, once the downstream is back, resolves it
    OutboxEvent.objects.filter(pk=event.pk).update(payload={"fail": False})
    assert incident_retry(incident_id=incident.pk, actor=alice).succeeded is True
    incident.refresh_from_db()
    assert (incident.status, incident.retry_count) == ("resolved", 2)


def test_an_acknowledged_incident_can_be_retried(failed_event, alice):
    event, incident = failed_event
    incident_acknowledge(incident_id=incident.pk, actor=alice)
    result = incident_retry(incident_id=incident.pk, actor=alice)
    assert (result.succeeded, result.incident.status) == (False, "acknowledged")


def test_retry_of_a_kind_without_a_retry_function_is_refused_and_writes_nothing(alice):
    incident = make_incident(kind="stock.drift")
    before = snapshot(incident)
    with pytest.raises(DomainError) as refused:
        incident_retry(incident_id=incident.pk, actor=alice)
    assert refused.value.code == "retry_not_supported"
    assert snapshot(incident) == before


def test_a_retry_function_that_raises_is_rolled_back_and_recorded_as_a_failed_attempt(monkeypatch, alice):
    from apps.core import services

    monkeypatch.setattr(services, "_retry_funcs", dict(services._retry_funcs))
    store = StoreFactory(code="RB1")

    def explode(incident):
        incident_raise(kind="side.effect", title="written by the retry", location=store)
        raise RuntimeError("still broken")

    register_incident_retry("test.job_failed", explode)
    incident = make_incident(kind="test.job_failed")

    result = incident_retry(incident_id=incident.pk, actor=alice)

    assert (result.succeeded, result.detail) == (False, "RuntimeError: still broken")
    assert not Incident.objects.filter(kind="side.effect").exists()
    incident.refresh_from_db()
    assert (incident.status, incident.retry_count) == ("open", 1)


def test_a_retry_function_may_answer_with_a_plain_bool(monkeypatch, alice):
    from apps.core import services

    monkeypatch.setattr(services, "_retry_funcs", dict(services._retry_funcs))
    register_incident_retry("test.job_failed", lambda incident: True)
    incident = make_incident(kind="test.job_failed")
    result = incident_retry(incident_id=incident.pk, actor=alice)
    assert (result.succeeded, result.incident.status, result.incident.resolution_note) == (
        True,
        "resolved",
        "Retry succeeded",
    )
    assert isinstance(RetryOutcome(True), RetryOutcome)


def test_retry_of_an_incident_whose_event_is_gone_fails_cleanly(alice):
    incident = make_incident(kind="outbox.delivery_failed")  # no subject at all
    result = incident_retry(incident_id=incident.pk, actor=alice)
    assert (result.succeeded, result.detail) == (False, "The event behind this incident no longer exists")


# --- bulk ------------------------------------------------------------------------------------------------------


def test_bulk_answers_per_item_in_the_order_given(alice):
    mine, theirs = StoreFactory(code="MINE"), StoreFactory(code="THEIRS")
    manager = role_user("mgr", "store_manager", locations=[mine])
    open_one = make_incident(location=mine)
    closed = make_incident(location=mine)
    incident_resolve(incident_id=closed.pk, actor=alice, note="done")
    other_store = make_incident(location=theirs)
    missing = 999_999

    results = incident_bulk(
        action="resolve",
        ids=[closed.pk, open_one.pk, missing, other_store.pk, open_one.pk],
        actor=manager,
        note="counted",
    )

    assert [(r.id, r.ok, r.status, r.error) for r in results] == [
        (closed.pk, False, "", "invalid_transition"),
        (open_one.pk, True, "resolved", ""),
        (missing, False, "", "not_found"),
        (other_store.pk, False, "", "not_found"),
    ]
    assert results[0].detail == f"Incident #{closed.pk} cannot be resolved from status 'resolved'"
    assert Incident.objects.get(pk=other_store.pk).status == "open"
    assert history(other_store) == [("created", "", "open")]


def test_bulk_assign_and_acknowledge(alice):
    a, b = make_incident(), make_incident()
    bob = perm_user("bob", "act_on_incident", "view_all_locations")
    assert [r.ok for r in incident_bulk(action="assign", ids=[a.pk, b.pk], actor=alice, assignee=bob)] == [True, True]
    assert set(Incident.objects.values_list("assignee__username", flat=True)) == {"bob"}
    results = incident_bulk(action="acknowledge", ids=[a.pk, b.pk], actor=alice)
    assert [(r.ok, r.status) for r in results] == [(True, "acknowledged"), (True, "acknowledged")]
    assert set(Incident.objects.values_list("assignee__username", flat=True)) == {"bob"}


def test_bulk_retry_reports_a_still_failing_job_as_refused(failed_event, alice):
    event, incident = failed_event
    plain = make_incident(kind="stock.drift")
    results = incident_bulk(action="retry", ids=[incident.pk, plain.pk], actor=alice)
    assert [(r.ok, r.status, r.error) for r in results] == [
        (False, "open", "retry_failed"),
        (False, "", "retry_not_supported"),
    ]


@pytest.mark.parametrize("action", ["resolve", "dismiss"])
def test_bulk_resolve_or_dismiss_without_a_note_does_nothing_at_all(alice, action):
    a, b = make_incident(), make_incident()
    before = (snapshot(a), snapshot(b))
    with pytest.raises(IncidentInputRequired):
        incident_bulk(action=action, ids=[a.pk, b.pk], actor=alice, note=" ")
    assert (snapshot(a), snapshot(b)) == before


def test_bulk_refuses_an_unknown_action(alice):
    with pytest.raises(DomainError):
        incident_bulk(action="delete", ids=[1], actor=alice)


# --- the raise sites -----------------------------------------------------------------------------------------


def test_stock_drift_is_raised_at_the_levels_location_for_the_inventory_team(warehouse, product, receive):
    receive(warehouse, product, 5)
    order_create(data=order_input([(product, 2)]))
    with connection.cursor() as cursor:  # a write that bypassed the stock service
        cursor.execute("UPDATE stock_stocklevel SET on_hand = on_hand + 3")
    stock_services.stock_verify_invariants()
    stock_services.stock_verify_invariants()
    incident = Incident.objects.get()
    assert (incident.kind, incident.location, incident.owner_team, incident.occurrences) == (
        "stock.drift",
        warehouse,
        "inventory",
        2,
    )
    assert history(incident) == [("created", "", "open"), ("occurred", "open", "open")]


def test_a_user_without_a_role_is_not_an_actor_of_the_system(db):
    # an anonymous or plain user sees nothing: services treat them as scoped to no location
    nobody = UserFactory(username="nobody")
    incident = make_incident(location=StoreFactory())
    with pytest.raises(NotFound):
        incident_acknowledge(incident_id=incident.pk, actor=nobody)


@pytest.mark.parametrize(
    "sql",
    ["UPDATE core_incidentevent SET note = 'rewritten'", "DELETE FROM core_incidentevent"],
    ids=["update", "delete"],
)
def test_the_incident_trail_is_append_only_in_postgresql(sql):
    from django.db import IntegrityError, InternalError, connection, transaction

    from apps.core.models import IncidentEvent
    from apps.core.services import incident_raise

    incident_raise(kind="test.kind", title="something broke")

    with pytest.raises((IntegrityError, InternalError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert list(IncidentEvent.objects.values_list("action", flat=True)) == ["created"]
