"""The Exceptions application of the staff portal: the queue, aging, detail, actions, bulk, scoping."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from apps.core.models import Incident
from apps.core.services import incident_acknowledge, incident_resolve
from tests.core.test_incidents_factories import history, make_incident, perm_user, role_user, snapshot
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

LIST = "/exceptions/"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def listed(response):
    return [row["incident"].pk for row in response.context["rows"]]


def flashed(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def stores(db):
    return StoreFactory(code="MINE", name="Main St"), StoreFactory(code="THEIRS", name="High St")


@pytest.fixture
def ops(db):
    return role_user("ops.admin", "ops_admin")


@pytest.fixture
def manager(stores):
    return role_user("store.manager", "store_manager", locations=[stores[0]])


def test_the_queue_needs_a_login_and_the_view_permission(db, stores):
    assert Client().get(LIST).status_code == 302
    plain = perm_user("plain", "view_order", "view_all_locations")
    assert client_for(plain).get(LIST).status_code == 403


def test_the_queue_shows_open_and_acknowledged_newest_first_by_default(ops):
    older = make_incident(title="older", age=timedelta(hours=3))
    newer = make_incident(title="newer", age=timedelta(hours=1))
    done = make_incident(title="done")
    incident_acknowledge(incident_id=older.pk, actor=ops)
    incident_resolve(incident_id=done.pk, actor=ops, note="x")
    r = client_for(ops).get(LIST)
    assert r.status_code == 200
    assert listed(r) == [newer.pk, older.pk]
    assert [c["label"] for c in r.context["status_chips"] if c["active"]] == ["In queue"]
    assert "mdc-drawer--open" not in r.content.decode()  # the default is not a filter the user set
    assert listed(client_for(ops).get(LIST + "?status=resolved")) == [done.pk]
    everything = "?status=open&status=acknowledged&status=resolved&status=dismissed"
    assert listed(client_for(ops).get(LIST + everything)) == [done.pk, newer.pk, older.pk]


@pytest.mark.parametrize(
    "query,expected",
    [
        ("?severity=critical", ["late"]),
        ("?kind=stock.drift", ["drift"]),
        ("?location=MINE", ["drift"]),
        ("?owner_team=integration", ["late"]),
        ("?assignee=__none__", ["drift", "late"]),
        ("?assignee=ops.admin", ["pos"]),
        ("?overdue=yes", ["late"]),
        ("?overdue=no", ["drift", "pos"]),
        ("?age=lt_4h", ["drift"]),
        ("?age=4h_24h", ["late"]),
        ("?age=1d_3d", ["pos"]),
        ("?channel=web", ["late"]),
    ],
    ids=lambda v: v,
)
def test_the_queue_filters(ops, stores, query, expected):
    now = timezone.now()
    made = {
        "drift": make_incident(kind="stock.drift", location=stores[0], created_at=now - timedelta(hours=1)),
        "late": make_incident(
            kind="outbox.delivery_failed",
            severity="critical",
            channel="web",
            owner_team="integration",
            created_at=now - timedelta(hours=5),
        ),
        "pos": make_incident(kind="pos.sync_failed", created_at=now - timedelta(hours=30)),
    }
    incident_acknowledge(incident_id=made["pos"].pk, actor=ops)
    names = {v.pk: k for k, v in made.items()}
    r = client_for(ops).get(LIST + query)
    assert r.status_code == 200
    assert sorted(names[pk] for pk in listed(r)) == expected


def test_a_bad_filter_value_drops_only_that_filter_and_never_the_scope(manager, stores):
    mine = make_incident(location=stores[0])
    done = make_incident(location=stores[0])
    incident_resolve(incident_id=done.pk, actor=None, note="x")
    make_incident(location=stores[1])
    r = client_for(manager).get(LIST + "?status=resolved&kind=no.such.kind&location=THEIRS")
    assert r.status_code == 200
    assert listed(r) == [done.pk]
    assert listed(client_for(manager).get(LIST + "?overdue=perhaps")) == [mine.pk]


def test_the_aging_buckets_count_and_link_to_their_filter(ops):
    now = timezone.now()
    for hours in (1, 2, 30, 200):
        make_incident(created_at=now - timedelta(hours=hours))
    r = client_for(ops).get(LIST)
    assert [(b["key"], b["count"]) for b in r.context["aging"]] == [
        ("lt_4h", 2),
        ("4h_24h", 0),
        ("1d_3d", 1),
        ("3d_7d", 0),
        ("gt_7d", 1),
    ]
    html = r.content.decode()
    assert 'data-age="lt_4h" href="?age=lt_4h"' in html
    # clicking a bucket filters the list and keeps every bucket's count
    r = client_for(ops).get(LIST + "?age=lt_4h")
    assert len(r.context["rows"]) == 2
    assert [b["count"] for b in r.context["aging"]] == [2, 0, 1, 0, 1]


def test_overdue_rows_are_highlighted(ops):
    late = make_incident(severity="critical", age=timedelta(hours=5))
    make_incident(severity="low", age=timedelta(hours=5))
    html = client_for(ops).get(LIST).content.decode()
    assert html.count('class="ro-overdue"') == 1
    assert f'<tr data-row-id="{late.pk}" class="ro-overdue">' in html


def test_the_detail_page_links_the_subject_and_shows_history_and_actions(ops, warehouse, product, receive):
    from apps.orders.services import order_create
    from tests.orders.helpers import order_input

    receive(warehouse, product, 1)
    order, _ = order_create(data=order_input([(product, 1)]))
    incident = make_incident(kind="payment.mismatch", subject=order, details={"expected": "10.00"})
    r = client_for(ops).get(f"{LIST}{incident.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert f'<a href="/orders/{order.pk}/">{order.number}</a>' in html
    assert "expected" in html
    assert list(r.context["actions"]) == ["assign", "acknowledge", "resolve", "dismiss"]
    assert [row["action"] for row in r.context["history"]] == ["Created"]


def test_a_retryable_incident_offers_retry_and_a_closed_one_reopen(ops):
    failed = make_incident(kind="outbox.delivery_failed")
    assert "retry" in client_for(ops).get(f"{LIST}{failed.pk}/").context["actions"]
    incident_resolve(incident_id=failed.pk, actor=ops, note="x")
    assert list(client_for(ops).get(f"{LIST}{failed.pk}/").context["actions"]) == ["reopen"]


def test_a_viewer_gets_no_action_forms_and_cannot_post(db):
    viewer = perm_user("viewer", "view_incident", "view_all_locations")
    incident = make_incident()
    client = client_for(viewer)
    assert client.get(f"{LIST}{incident.pk}/").context["actions"] == {}
    before = snapshot(incident)
    assert client.post(f"{LIST}{incident.pk}/acknowledge/").status_code == 403
    assert client.post(f"{LIST}bulk/", {"action": "acknowledge", "ids": [incident.pk]}).status_code == 403
    assert snapshot(incident) == before
    assert "incident-bulk" in client.get(LIST).content.decode()  # the list, without the bulk bar
    assert client.get(LIST).context["bulk_actions"] == []


def test_resolving_from_the_detail_page(ops):
    incident = make_incident()
    r = client_for(ops).post(f"{LIST}{incident.pk}/resolve/", {"note": "replaced the cable"}, follow=True)
    assert r.redirect_chain == [(f"{LIST}{incident.pk}/", 302)]
    assert ("success", f"Incident #{incident.pk} resolved.") in flashed(r)
    incident.refresh_from_db()
    assert (incident.status, incident.resolution_note) == ("resolved", "replaced the cable")


@pytest.mark.parametrize("action", ["resolve", "dismiss"])
def test_resolve_or_dismiss_without_text_is_refused_with_a_message(ops, action):
    incident = make_incident()
    before = snapshot(incident)
    r = client_for(ops).post(f"{LIST}{incident.pk}/{action}/", {"note": "  "}, follow=True)
    assert r.status_code == 200
    assert [level for level, _ in flashed(r)] == ["error"]
    assert snapshot(incident) == before


def test_an_action_the_status_does_not_allow_is_a_message_not_a_500(ops):
    incident = make_incident()
    incident_resolve(incident_id=incident.pk, actor=ops, note="x")
    before = snapshot(incident)
    r = client_for(ops).post(f"{LIST}{incident.pk}/acknowledge/", follow=True)
    assert r.status_code == 200
    assert flashed(r) == [("error", f"Incident #{incident.pk} cannot be acknowledged from status 'resolved'")]
    assert snapshot(incident) == before


def test_assign_from_the_detail_page(ops):
    role_user("fin", "finance")
    incident = make_incident()
    client = client_for(ops)
    assert [u.username for u in client.get(f"{LIST}{incident.pk}/").context["assignees"]] == ["fin", "ops.admin"]
    r = client.post(f"{LIST}{incident.pk}/assign/", {"assignee": "fin"}, follow=True)
    assert ("success", f"Incident #{incident.pk} is assigned to fin.") in flashed(r)
    r = client.post(f"{LIST}{incident.pk}/assign/", {"assignee": "ghost"}, follow=True)
    assert flashed(r)[0][0] == "error"
    assert Incident.objects.get(pk=incident.pk).assignee.username == "fin"


def test_retry_from_the_detail_page_reports_a_failure_as_a_warning(ops):
    incident = make_incident(kind="outbox.delivery_failed")  # its event is gone: the retry fails
    r = client_for(ops).post(f"{LIST}{incident.pk}/retry/", follow=True)
    assert flashed(r) == [
        (
            "warning",
            f"Retry failed: incident #{incident.pk} stays open. The event behind this incident no longer exists",
        )
    ]
    assert history(incident)[-1] == ("retried", "open", "open")


def test_an_unknown_action_is_a_404(ops):
    incident = make_incident()
    assert client_for(ops).post(f"{LIST}{incident.pk}/delete/").status_code == 404
    assert client_for(ops).get(f"{LIST}{incident.pk}/resolve/").status_code == 405


# --- bulk ------------------------------------------------------------------------------------------------------


def test_bulk_resolve_shows_a_result_per_item_once(ops):
    a, b = make_incident(), make_incident()
    incident_resolve(incident_id=b.pk, actor=ops, note="x")
    client = client_for(ops)
    r = client.post(
        f"{LIST}bulk/",
        {"action": "resolve", "ids": [a.pk, b.pk], "note": "batch fix", "next": f"{LIST}?severity=medium"},
        follow=True,
    )
    assert r.redirect_chain == [(f"{LIST}?severity=medium", 302)]
    assert ("warning", "Resolve: 1 of 2 done, 1 refused.") in flashed(r)
    result = r.context["bulk_result"]
    assert [(i["id"], i["ok"], i["error"]) for i in result["results"]] == [
        (a.pk, True, ""),
        (b.pk, False, "invalid transition"),
    ]
    html = r.content.decode()
    assert f'data-incident="{b.pk}"' in html and "cannot be resolved from status" in html
    assert client.get(LIST).context["bulk_result"] is None  # shown once
    assert Incident.objects.get(pk=a.pk).status == "resolved"


@pytest.mark.parametrize(
    "data,message",
    [
        ({"action": "resolve", "ids": ["1"]}, "Bulk action refused: note: This field is required."),
        ({"action": "acknowledge"}, "Select between 1 and 200 incidents."),
        ({"action": "acknowledge", "ids": ["x"]}, "Select between 1 and 200 incidents."),
        ({"action": "explode", "ids": ["1"]}, None),
    ],
    ids=["resolve without note", "nothing selected", "bad id", "unknown action"],
)
def test_bulk_refusals_are_messages(ops, data, message):
    incident = make_incident()
    before = snapshot(incident)
    r = client_for(ops).post(f"{LIST}bulk/", data, follow=True)
    assert r.status_code == 200
    levels = flashed(r)
    assert [level for level, _ in levels] == ["error"]
    if message:
        assert levels[0][1] == message
    assert snapshot(incident) == before


def test_bulk_never_redirects_off_the_queue(ops):
    incident = make_incident()
    r = client_for(ops).post(
        f"{LIST}bulk/", {"action": "acknowledge", "ids": [incident.pk], "next": "https://evil.example/"}
    )
    assert r["Location"] == LIST


# --- scoping ---------------------------------------------------------------------------------------------------


def test_a_store_manager_sees_only_their_stores_incidents(manager, stores):
    mine = make_incident(location=stores[0], title="ours")
    make_incident(location=stores[1], title="not ours")
    make_incident(title="nobody's store")
    r = client_for(manager).get(LIST)
    assert listed(r) == [mine.pk]
    assert sum(b["count"] for b in r.context["aging"]) == 1
    assert [code for code, _ in r.context["view"].filterset.form.fields["location"].choices if code] == ["MINE"]


@pytest.mark.parametrize("where", ["another store", "no location"])
def test_another_stores_incident_is_a_404_in_the_portal(manager, stores, where):
    incident = make_incident(location=stores[1] if where == "another store" else None)
    client = client_for(manager)
    before = snapshot(incident)
    assert client.get(f"{LIST}{incident.pk}/").status_code == 404
    assert client.post(f"{LIST}{incident.pk}/resolve/", {"note": "x"}).status_code == 404
    r = client.post(f"{LIST}bulk/", {"action": "acknowledge", "ids": [incident.pk]}, follow=True)
    assert [(i["ok"], i["error"]) for i in r.context["bulk_result"]["results"]] == [(False, "not found")]
    assert snapshot(incident) == before


def test_a_store_manager_resolves_their_stores_incident(manager, stores):
    incident = make_incident(location=stores[0])
    r = client_for(manager).post(f"{LIST}{incident.pk}/resolve/", {"note": "recounted the shelf"}, follow=True)
    assert ("success", f"Incident #{incident.pk} resolved.") in flashed(r)
    assert history(incident)[-1] == ("resolved", "open", "resolved")


def test_the_portal_menu_lists_exceptions(ops):
    html = client_for(ops).get("/orders/").content.decode()
    assert 'href="/exceptions/"' in html


def test_the_admin_shows_an_incident_read_only_with_its_history(user):
    incident = make_incident(title="seen in the admin")
    client = client_for(user)
    assert client.get("/admin/core/incident/").status_code == 200
    page = client.get(f"/admin/core/incident/{incident.pk}/change/")
    assert page.status_code == 200
    assert "seen in the admin" in page.content.decode()
    assert client.post(f"/admin/core/incident/{incident.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Incident.objects.filter(pk=incident.pk).exists()
