"""The incident API: shapes, filters, aging, actions, bulk, errors, scoping and a query budget."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core import outbox
from apps.core.models import Incident, IncidentEvent, OutboxEvent
from apps.core.outbox import Event, outbox_emit, outbox_handler, outbox_relay
from apps.core.services import incident_acknowledge, incident_resolve
from tests.core.test_incidents_factories import api_client, history, make_incident, perm_user, role_user, snapshot
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/incidents/"


@pytest.fixture
def stores(db):
    return StoreFactory(code="MINE"), StoreFactory(code="THEIRS")


@pytest.fixture
def ops(db):
    return role_user("ops.admin", "ops_admin")


@pytest.fixture
def manager(stores):
    return role_user("store.manager", "store_manager", locations=[stores[0]])


def test_the_list_shape(ops, stores):
    incident = make_incident(
        kind="stock.drift",
        title="Level 7 disagrees",
        severity="high",
        location=stores[0],
        channel="store",
        owner_team="inventory",
        details={"level_id": 7},
    )
    r = api_client(ops).get(LIST)
    assert r.status_code == 200
    body = r.json()
    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    row = body["results"][0]
    assert row == {
        "id": incident.pk,
        "kind": "stock.drift",
        "title": "Level 7 disagrees",
        "severity": "high",
        "status": "open",
        "owner_team": "inventory",
        "location": "MINE",
        "channel": "store",
        "assignee": None,
        "subject": None,
        "occurrences": 1,
        "retry_count": 0,
        "retryable": False,
        "overdue": False,
        "due_at": row["due_at"],
        "created_at": row["created_at"],
        "last_seen_at": row["last_seen_at"],
        "acknowledged_at": None,
        "resolved_at": None,
        "resolution_note": "",
    }
    assert row["due_at"] == (incident.created_at + timedelta(hours=24)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    "query,expected",
    [
        ("", ["a", "b", "c"]),
        ("?kind=stock.drift,pos.sync_failed", ["a", "b"]),
        ("?severity=critical", ["c"]),
        ("?status=acknowledged", ["b"]),
        ("?status=open,acknowledged", ["a", "b", "c"]),
        ("?location=MINE", ["a"]),
        ("?channel=web", ["c"]),
        ("?owner_team=store_ops", ["b"]),
        ("?assignee=ops.admin", ["b"]),
        ("?unassigned=true", ["a", "c"]),
        ("?overdue=true", ["c"]),
        ("?overdue=false", ["a", "b"]),
        ("?age=lt_4h", ["a"]),
        ("?age=1d_3d", ["b"]),
        ("?age=3d_7d", []),
    ],
    ids=lambda v: v or "no filter",
)
def test_the_list_filters(ops, stores, query, expected):
    now = timezone.now()
    made = {
        "a": make_incident(kind="stock.drift", location=stores[0], created_at=now - timedelta(hours=1)),
        "b": make_incident(kind="pos.sync_failed", owner_team="store_ops", created_at=now - timedelta(hours=30)),
        "c": make_incident(
            kind="outbox.delivery_failed", severity="critical", channel="web", created_at=now - timedelta(hours=5)
        ),
    }
    incident_acknowledge(incident_id=made["b"].pk, actor=ops)
    names = {v.pk: k for k, v in made.items()}
    r = api_client(ops).get(LIST + query)
    assert r.status_code == 200
    assert sorted(names[row["id"]] for row in r.json()["results"]) == expected


@pytest.mark.parametrize(
    "query,field",
    [
        ("?status=closed", "status"),
        ("?severity=urgent", "severity"),
        ("?owner_team=marketing", "owner_team"),
        ("?overdue=maybe", "overdue"),
        ("?age=ancient", "age"),
        ("?created_after=yesterday", "created_after"),
    ],
    ids=lambda v: v,
)
def test_a_bad_filter_is_a_400_naming_the_field(ops, query, field):
    r = api_client(ops).get(LIST + query)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid"
    assert list(r.json()["fields"]) == [field]


def test_the_aging_summary(ops, stores):
    now = timezone.now()
    for hours in (1, 2, 5, 30, 100, 200):
        make_incident(location=stores[0], created_at=now - timedelta(hours=hours))
    closed = make_incident(created_at=now - timedelta(hours=1))
    incident_resolve(incident_id=closed.pk, actor=None, note="done")
    r = api_client(ops).get("/api/v1/incidents/aging/")
    assert r.status_code == 200
    assert r.json() == {
        "buckets": [
            {"key": "lt_4h", "label": "< 4h", "count": 2},
            {"key": "4h_24h", "label": "4–24h", "count": 1},
            {"key": "1d_3d", "label": "1–3d", "count": 1},
            {"key": "3d_7d", "label": "3–7d", "count": 1},
            {"key": "gt_7d", "label": "> 7d", "count": 1},
        ],
        "total": 6,
    }
    r = api_client(ops).get("/api/v1/incidents/aging/?location=THEIRS")
    assert r.json()["total"] == 0


def test_the_detail_has_details_and_history(ops, stores):
    incident = make_incident(location=stores[0], details={"till": 3}, dedupe_key="till:3")
    make_incident(dedupe_key="till:3")  # counted again
    incident_acknowledge(incident_id=incident.pk, actor=ops, note="on it")
    r = api_client(ops).get(f"{LIST}{incident.pk}/")
    assert r.status_code == 200
    body = r.json()
    assert (body["details"], body["dedupe_key"], body["occurrences"], body["assignee"]) == (
        {"till": 3},
        "till:3",
        2,
        "ops.admin",
    )
    assert [(h["action"], h["actor"], h["from_status"], h["to_status"], h["note"]) for h in body["history"]] == [
        ("created", "system", "", "open", "Something failed"),
        ("occurred", "system", "open", "open", ""),
        ("acknowledged", "ops.admin", "open", "acknowledged", "on it"),
    ]
    assert body["history"][2]["changes"]["assignee"] == [None, "ops.admin"]


def test_an_order_subject_links_to_its_portal_page(ops, warehouse, product, receive):
    from apps.orders.services import order_create
    from tests.orders.helpers import order_input

    receive(warehouse, product, 1)
    order, _ = order_create(data=order_input([(product, 1)]))
    incident = make_incident(kind="payment.mismatch", subject=order)
    body = api_client(ops).get(f"{LIST}{incident.pk}/").json()
    assert body["subject"] == {"type": "orders.order", "id": str(order.pk), "url": f"/orders/{order.pk}/"}


# --- actions ----------------------------------------------------------------------------------------------


def test_acknowledge_then_resolve(ops):
    incident = make_incident()
    client = api_client(ops)
    r = client.post(f"{LIST}{incident.pk}/acknowledge/", {}, format="json")
    assert (r.status_code, r.json()["status"], r.json()["assignee"]) == (200, "acknowledged", "ops.admin")
    r = client.post(f"{LIST}{incident.pk}/resolve/", {"note": "recounted"}, format="json")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["resolution_note"]) == ("resolved", "recounted")
    assert [h["action"] for h in r.json()["history"]] == ["created", "acknowledged", "resolved"]


def test_dismiss_with_a_reason(ops):
    incident = make_incident()
    r = api_client(ops).post(f"{LIST}{incident.pk}/dismiss/", {"reason": "duplicate"}, format="json")
    assert (r.status_code, r.json()["status"], r.json()["resolution_note"]) == (200, "dismissed", "duplicate")


def test_assign_and_unassign(ops):
    finance = role_user("fin", "finance")
    incident = make_incident()
    client = api_client(ops)
    r = client.post(f"{LIST}{incident.pk}/assign/", {"assignee": "fin"}, format="json")
    assert (r.status_code, r.json()["assignee"]) == (200, "fin")
    r = client.post(f"{LIST}{incident.pk}/assign/", {"assignee": None}, format="json")
    assert (r.status_code, r.json()["assignee"]) == (200, None)
    assert finance.pk


def test_reopen(ops):
    incident = make_incident()
    incident_resolve(incident_id=incident.pk, actor=ops, note="done")
    r = api_client(ops).post(f"{LIST}{incident.pk}/reopen/", {"note": "back again"}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "open")


@pytest.mark.parametrize(
    "action,body,field",
    [
        ("resolve", {}, "note"),
        ("resolve", {"note": ""}, "note"),
        ("dismiss", {"note": "wrong field"}, "reason"),
        ("assign", {}, "assignee"),
        ("assign", {"assignee": "nobody-by-that-name"}, "assignee"),
    ],
    ids=["resolve without note", "resolve blank note", "dismiss without reason", "assign without", "assign unknown"],
)
def test_bad_input_is_a_400_and_nothing_is_written(ops, action, body, field):
    incident = make_incident()
    before = snapshot(incident)
    r = api_client(ops).post(f"{LIST}{incident.pk}/{action}/", body, format="json")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid"
    assert list(r.json()["fields"]) == [field]
    assert snapshot(incident) == before


@pytest.mark.parametrize("body", ["[1, 2]", "not json"], ids=["a list", "malformed"])
def test_a_body_that_is_not_an_object_is_a_400(ops, body):
    incident = make_incident()
    r = api_client(ops).post(f"{LIST}{incident.pk}/resolve/", body, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"] in {"invalid", "malformed"}


@pytest.mark.parametrize(
    "action,body",
    [
        ("acknowledge", {}),
        ("resolve", {"note": "again"}),
        ("dismiss", {"reason": "again"}),
        ("assign", {"assignee": "ops.admin"}),
        ("retry", {}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_acting_on_a_resolved_incident_is_a_409_and_nothing_is_written(ops, action, body):
    incident = make_incident(kind="outbox.delivery_failed")
    incident_resolve(incident_id=incident.pk, actor=ops, note="fixed")
    before = snapshot(incident)
    r = api_client(ops).post(f"{LIST}{incident.pk}/{action}/", body, format="json")
    assert r.status_code == 409
    assert r.json() == {
        "error": "invalid_transition",
        "detail": f"Incident #{incident.pk} cannot be {action.rstrip('e')}ed from status 'resolved'".replace(
            "retryed", "retried"
        ),
        "status": "resolved",
    }
    assert snapshot(incident) == before


def test_assigning_someone_who_may_not_act_is_a_409(ops):
    UserFactory(username="bystander")
    incident = make_incident()
    r = api_client(ops).post(f"{LIST}{incident.pk}/assign/", {"assignee": "bystander"}, format="json")
    assert (r.status_code, r.json()["error"]) == (409, "invalid_assignee")


def test_retry_of_a_kind_without_retry_is_a_409(ops):
    incident = make_incident(kind="stock.drift")
    r = api_client(ops).post(f"{LIST}{incident.pk}/retry/", {}, format="json")
    assert (r.status_code, r.json()["error"]) == (409, "retry_not_supported")


def test_retry_of_a_failed_event(ops, settings, monkeypatch):
    monkeypatch.setattr(outbox, "_handlers", {k: list(v) for k, v in outbox._handlers.items()})

    @outbox_handler("test.api.retry")
    def flaky(event):
        if event.payload.get("fail"):
            raise RuntimeError("downstream unavailable")

    settings.OUTBOX_MAX_ATTEMPTS = 1
    event = outbox_emit(Event("test.api.retry", "test.thing", 1, {"fail": True}))[0]
    outbox_relay()
    incident = Incident.objects.get(kind="outbox.delivery_failed")
    client = api_client(ops)
    assert client.get(f"{LIST}{incident.pk}/").json()["retryable"] is True

    r = client.post(f"{LIST}{incident.pk}/retry/", {}, format="json")
    assert r.status_code == 200
    assert (r.json()["succeeded"], r.json()["incident"]["status"], r.json()["incident"]["retry_count"]) == (
        False,
        "open",
        1,
    )

    OutboxEvent.objects.filter(pk=event.pk).update(payload={})
    r = client.post(f"{LIST}{incident.pk}/retry/", {}, format="json")
    assert (r.json()["succeeded"], r.json()["incident"]["status"], r.json()["incident"]["retryable"]) == (
        True,
        "resolved",
        False,
    )
    # with one attempt allowed, the failed retry was the event's last attempt again: the outbox counted
    # it as another occurrence of this incident, before the retry recorded itself
    assert [h["action"] for h in r.json()["incident"]["history"]] == ["created", "occurred", "retried", "retried"]


# --- bulk ------------------------------------------------------------------------------------------------------


def test_bulk_returns_a_result_per_item(manager, stores):
    mine = make_incident(location=stores[0])
    closed = make_incident(location=stores[0])
    incident_resolve(incident_id=closed.pk, actor=None, note="done")
    theirs = make_incident(location=stores[1])
    r = api_client(manager).post(
        f"{LIST}bulk/",
        {"action": "dismiss", "ids": [mine.pk, closed.pk, theirs.pk, 987654], "note": "test data"},
        format="json",
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["succeeded"], body["failed"]) == (1, 3)
    assert [(i["id"], i["ok"], i["status"], i["error"]) for i in body["results"]] == [
        (mine.pk, True, "dismissed", ""),
        (closed.pk, False, "", "invalid_transition"),
        (theirs.pk, False, "", "not_found"),
        (987654, False, "", "not_found"),
    ]
    assert history(theirs) == [("created", "", "open")]


def test_bulk_assign(ops):
    a, b = make_incident(), make_incident()
    r = api_client(ops).post(
        f"{LIST}bulk/", {"action": "assign", "ids": [a.pk, b.pk], "assignee": "ops.admin"}, format="json"
    )
    assert r.status_code == 200
    assert [i["ok"] for i in r.json()["results"]] == [True, True]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"action": "resolve", "ids": [1]}, "note"),
        ({"action": "dismiss", "ids": [1], "note": "  "}, "note"),
        ({"action": "assign", "ids": [1]}, "assignee"),
        ({"action": "assign", "ids": [1], "assignee": "ghost"}, "assignee"),
        ({"action": "delete", "ids": [1]}, "action"),
        ({"action": "acknowledge", "ids": []}, "ids"),
        ({"action": "acknowledge", "ids": ["one"]}, "ids"),
        ({"action": "acknowledge", "ids": list(range(1, 202))}, "ids"),
    ],
    ids=[
        "resolve without note",
        "dismiss blank note",
        "assign without",
        "assign unknown",
        "unknown action",
        "no ids",
        "bad id",
        "too many",
    ],
)
def test_bulk_bad_input_is_a_400_and_nothing_is_written(ops, body, field):
    make_incident()
    events = IncidentEvent.objects.count()
    r = api_client(ops).post(f"{LIST}bulk/", body, format="json")
    assert r.status_code == 400
    assert list(r.json()["fields"]) == [field]
    assert IncidentEvent.objects.count() == events


# --- permissions and scoping ---------------------------------------------------------------------------------


def test_a_store_manager_sees_only_their_stores_incidents(manager, stores):
    mine = make_incident(location=stores[0])
    make_incident(location=stores[1])
    make_incident()  # no location: nobody's store
    client = api_client(manager)
    assert [row["id"] for row in client.get(LIST).json()["results"]] == [mine.pk]
    assert client.get("/api/v1/incidents/aging/").json()["total"] == 1


@pytest.mark.parametrize(
    "method,suffix,body",
    [
        ("get", "", None),
        ("post", "acknowledge/", {}),
        ("post", "resolve/", {"note": "x"}),
        ("post", "dismiss/", {"reason": "x"}),
        ("post", "assign/", {"assignee": "store.manager"}),
        ("post", "retry/", {}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
@pytest.mark.parametrize("where", ["another store", "no location"])
def test_another_stores_incident_is_a_404_for_a_store_manager(manager, stores, method, suffix, body, where):
    incident = make_incident(kind="outbox.delivery_failed", location=stores[1] if where == "another store" else None)
    before = snapshot(incident)
    r = getattr(api_client(manager), method)(f"{LIST}{incident.pk}/{suffix}", body, format="json")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    assert snapshot(incident) == before


def test_the_integration_role_may_look_but_not_act(db):
    integration = role_user("shop.bot", "integration")
    incident = make_incident()
    client = api_client(integration)
    assert client.get(LIST).status_code == 200
    assert client.get(f"{LIST}{incident.pk}/").status_code == 200
    before = snapshot(incident)
    for suffix, body in [("acknowledge/", {}), ("resolve/", {"note": "x"})]:
        r = client.post(f"{LIST}{incident.pk}/{suffix}", body, format="json")
        assert (r.status_code, r.json()["error"]) == (403, "permission_denied")
    r = client.post(f"{LIST}bulk/", {"action": "acknowledge", "ids": [incident.pk]}, format="json")
    assert r.status_code == 403
    assert snapshot(incident) == before


@pytest.mark.parametrize("role", ["approver"])
def test_an_approver_may_look_but_not_act(db, role):
    user = role_user("appr", role)
    incident = make_incident()
    client = api_client(user)
    assert client.get(LIST).status_code == 200
    assert client.post(f"{LIST}{incident.pk}/acknowledge/", {}, format="json").status_code == 403


def test_without_credentials_it_is_a_401_and_without_a_role_a_403(db):
    incident = make_incident()
    assert APIClient().get(LIST).status_code == 401
    assert APIClient().post(f"{LIST}{incident.pk}/acknowledge/", {}, format="json").status_code == 401
    nobody = api_client(UserFactory(username="nobody"))
    assert nobody.get(LIST).status_code == 403
    assert nobody.get(f"{LIST}{incident.pk}/").status_code == 403


def test_a_user_who_may_act_but_not_view_is_refused(db):
    actor = perm_user("odd", "act_on_incident", "view_all_locations")
    incident = make_incident()
    assert api_client(actor).post(f"{LIST}{incident.pk}/acknowledge/", {}, format="json").status_code == 403


# --- budget and schema ----------------------------------------------------------------------------------------


def test_the_list_query_count_does_not_grow_with_the_page_size(ops, stores):
    assignee = perm_user("bob", "act_on_incident", "view_all_locations")
    for i in range(30):
        incident = make_incident(
            kind=["stock.drift", "outbox.delivery_failed"][i % 2],
            location=stores[i % 2],
            subject=stores[0] if i % 3 == 0 else None,
        )
        if i % 2:
            incident_acknowledge(incident_id=incident.pk, actor=assignee)
    client = api_client(ops)
    client.get(LIST)  # warm caches shared by every request (content types, permissions)

    def queries(page_size):
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(f"{LIST}?page_size={page_size}")
        assert r.status_code == 200
        assert len(r.json()["results"]) == page_size
        return len(ctx.captured_queries)

    small, large = queries(3), queries(30)
    assert small == large
    assert large <= 6


def test_the_openapi_schema_documents_the_incident_endpoints(db):
    r = APIClient().get("/api/schema/?format=json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in [
        "/api/v1/incidents/",
        "/api/v1/incidents/aging/",
        "/api/v1/incidents/bulk/",
        "/api/v1/incidents/{incident_id}/",
        "/api/v1/incidents/{incident_id}/resolve/",
        "/api/v1/incidents/{incident_id}/retry/",
    ]:
        assert path in paths, path
    assert set(paths["/api/v1/incidents/{incident_id}/resolve/"]["post"]["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "409",
    }


def test_overdue_is_reported(ops):
    make_incident(severity="critical", age=timedelta(hours=5))
    assert api_client(ops).get(LIST).json()["results"][0]["overdue"] is True
