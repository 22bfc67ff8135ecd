"""The incident queue's reads: every filter, the aging buckets at their exact edges, scoping."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import NotFound
from apps.core.models import Incident
from apps.core.selectors import AGING_KEYS, incident_aging, incident_get, incident_list, incident_subject_url
from apps.core.services import incident_acknowledge, incident_assign, incident_dismiss, incident_resolve
from tests.core.test_incidents_factories import make_incident, perm_user
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


@pytest.fixture
def queue(db):
    """A small queue over two stores; names say what each incident is."""
    north, south = StoreFactory(code="NORTH"), StoreFactory(code="SOUTH")
    alice = perm_user("alice", "act_on_incident", "view_all_locations")
    now = timezone.now()
    q = {
        "north_drift": make_incident(
            kind="stock.drift", severity="high", location=north, owner_team="inventory", created_at=now - 2 * H
        ),
        "south_pos": make_incident(
            kind="pos.sync_failed",
            severity="low",
            location=south,
            channel="store",
            owner_team="store_ops",
            created_at=now - 30 * H,
        ),
        "web_outbox": make_incident(
            kind="outbox.delivery_failed",
            severity="critical",
            channel="web",
            owner_team="integration",
            created_at=now - 5 * H,  # critical: due after 4h, so overdue
        ),
        "old_resolved": make_incident(kind="stock.drift", location=north, created_at=now - 10 * 24 * H),
        "old_open": make_incident(kind="stock.drift", severity="low", location=south, created_at=now - 8 * 24 * H),
    }
    incident_resolve(incident_id=q["old_resolved"].pk, actor=None, note="done")
    incident_assign(incident_id=q["south_pos"].pk, assignee=alice, actor=None)
    incident_acknowledge(incident_id=q["south_pos"].pk, actor=alice)
    q.update(north=north, south=south, alice=alice, now=now)
    return q


def names(queue, qs):
    by_pk = {v.pk: k for k, v in queue.items() if isinstance(v, Incident)}
    return sorted(by_pk[i.pk] for i in qs)


@pytest.mark.parametrize(
    "filters,expected",
    [
        ({}, ["north_drift", "old_open", "old_resolved", "south_pos", "web_outbox"]),
        ({"kind": ["stock.drift"]}, ["north_drift", "old_open", "old_resolved"]),
        ({"kind": ["pos.sync_failed", "outbox.delivery_failed"]}, ["south_pos", "web_outbox"]),
        ({"severity": ["low"]}, ["old_open", "south_pos"]),
        ({"severity": ["critical", "high"]}, ["north_drift", "web_outbox"]),
        ({"status": ["open"]}, ["north_drift", "old_open", "web_outbox"]),
        ({"status": ["acknowledged"]}, ["south_pos"]),
        ({"status": ["resolved", "dismissed"]}, ["old_resolved"]),
        ({"location": "NORTH"}, ["north_drift", "old_resolved"]),
        ({"channel": "web"}, ["web_outbox"]),
        ({"owner_team": ["inventory", "integration"]}, ["north_drift", "web_outbox"]),
        ({"assignee": "alice"}, ["south_pos"]),
        ({"unassigned": True}, ["north_drift", "old_open", "old_resolved", "web_outbox"]),
        ({"unassigned": False}, ["south_pos"]),
        ({"overdue": True}, ["old_open", "web_outbox"]),
        ({"overdue": False}, ["north_drift", "old_resolved", "south_pos"]),
        ({"age": "lt_4h"}, ["north_drift"]),
        ({"age": "4h_24h"}, ["web_outbox"]),
        ({"age": "1d_3d"}, ["south_pos"]),
        ({"age": "3d_7d"}, []),
        ({"age": "gt_7d"}, ["old_open"]),
        ({"kind": ["stock.drift"], "status": ["open"], "location": "SOUTH"}, ["old_open"]),
    ],
    ids=lambda v: str(v),
)
def test_the_list_filters(queue, filters, expected):
    assert names(queue, incident_list(**filters, now=queue["now"])) == expected


def test_the_created_range_is_from_inclusive_to_exclusive(queue):
    now = queue["now"]
    qs = incident_list(created_after=now - 5 * H, created_before=now - 2 * H, now=now)
    assert names(queue, qs) == ["web_outbox"]
    assert names(queue, incident_list(created_after=now - 5 * H, now=now)) == ["north_drift", "web_outbox"]


def test_the_list_is_newest_first(queue):
    assert [i.pk for i in incident_list()] == [
        queue[n].pk for n in ("north_drift", "web_outbox", "south_pos", "old_open", "old_resolved")
    ]


def test_aging_counts_open_and_acknowledged_incidents_per_bucket(queue):
    assert incident_aging(now=queue["now"]) == [
        {"key": "lt_4h", "label": "< 4h", "count": 1},
        {"key": "4h_24h", "label": "4–24h", "count": 1},
        {"key": "1d_3d", "label": "1–3d", "count": 1},
        {"key": "3d_7d", "label": "3–7d", "count": 0},
        {"key": "gt_7d", "label": "> 7d", "count": 1},
    ]


def test_aging_applies_the_other_filters_but_not_age(queue):
    counts = {b["key"]: b["count"] for b in incident_aging(location="SOUTH", age="lt_4h", now=queue["now"])}
    assert counts == {"lt_4h": 0, "4h_24h": 0, "1d_3d": 1, "3d_7d": 0, "gt_7d": 1}


@pytest.mark.parametrize(
    "age,bucket",
    [
        (timedelta(0), "lt_4h"),
        (4 * H - timedelta(seconds=1), "lt_4h"),
        (4 * H, "4h_24h"),
        (24 * H - timedelta(seconds=1), "4h_24h"),
        (24 * H, "1d_3d"),
        (72 * H, "3d_7d"),
        (168 * H - timedelta(seconds=1), "3d_7d"),
        (168 * H, "gt_7d"),
        (400 * H, "gt_7d"),
    ],
    ids=lambda v: str(v),
)
def test_aging_bucket_edges(db, age, bucket):
    now = timezone.now()
    incident = make_incident(created_at=now - age)
    counts = {b["key"]: b["count"] for b in incident_aging(now=now)}
    assert counts == {key: int(key == bucket) for key in AGING_KEYS}
    assert [i.pk for i in incident_list(age=bucket, now=now)] == [incident.pk]


def test_a_dismissed_incident_is_not_aging(db):
    incident = make_incident(age=timedelta(days=2))
    incident_dismiss(incident_id=incident.pk, actor=None, reason="noise")
    assert sum(b["count"] for b in incident_aging()) == 0


def test_overdue_is_past_due_and_still_in_the_queue(db):
    now = timezone.now()
    late = make_incident(severity="critical", created_at=now - 4 * H - timedelta(seconds=1))
    on_time = make_incident(severity="critical", created_at=now - 4 * H + timedelta(minutes=1))
    late_but_done = make_incident(severity="critical", created_at=now - 5 * H)
    incident_resolve(incident_id=late_but_done.pk, actor=None, note="done")
    assert [i.pk for i in incident_list(overdue=True, now=now)] == [late.pk]
    assert {i.pk for i in incident_list(overdue=False, now=now)} == {on_time.pk, late_but_done.pk}
    late.refresh_from_db()
    on_time.refresh_from_db()
    assert (late.is_overdue, on_time.is_overdue) == (True, False)


def test_scoping_keeps_a_store_to_its_own_incidents(queue):
    north_only = [queue["north"].pk]
    assert names(queue, incident_list(location_ids=north_only)) == ["north_drift", "old_resolved"]
    assert names(queue, incident_list(location_ids=[])) == []
    counts = {b["key"]: b["count"] for b in incident_aging(location_ids=north_only, now=queue["now"])}
    assert counts == {"lt_4h": 1, "4h_24h": 0, "1d_3d": 0, "3d_7d": 0, "gt_7d": 0}


def test_get_is_not_found_outside_the_scope(queue):
    assert incident_get(incident_id=queue["north_drift"].pk, location_ids=[queue["north"].pk])
    for incident in ("south_pos", "web_outbox"):  # another store; no location at all
        with pytest.raises(NotFound):
            incident_get(incident_id=queue[incident].pk, location_ids=[queue["north"].pk])


def test_an_orders_incident_links_to_the_orders_page(warehouse, product, receive):
    from apps.orders.services import order_create
    from tests.orders.helpers import order_input

    receive(warehouse, product, 5)
    order, _ = order_create(data=order_input([(product, 1)]))
    incident = make_incident(kind="payment.mismatch", subject=order)
    assert incident_subject_url(incident) == f"/orders/{order.pk}/"
    assert incident_subject_url(make_incident()) is None
