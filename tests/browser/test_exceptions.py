"""The exception queue in a real browser: a store manager resolves their store's incident from the
queue, and never sees another store's."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.services import user_assign_locations, user_grant_role
from apps.core.models import Incident, IncidentEvent
from apps.core.services import incident_acknowledge, incident_raise
from tests.browser.test_portal import settled
from tests.factories import StoreFactory, UserFactory

SHOTS = Path(os.environ.get("UI_SCREENSHOT_DIR", "/tmp"))  # noqa: S108 - agreed location, nothing secret


def raise_at(location, title, *, kind="stock.drift", severity="medium", hours=1, **kwargs):
    incident = incident_raise(kind=kind, title=title, severity=severity, location=location, **kwargs)
    created = timezone.now() - timedelta(hours=hours)
    Incident.objects.filter(pk=incident.pk).update(
        created_at=created, due_at=incident.due_at - (incident.created_at - created)
    )
    return incident


@pytest.fixture
def queue(transactional_db):
    main, high = StoreFactory(code="MAIN", name="Main St"), StoreFactory(code="HIGH", name="High St")
    manager = UserFactory(username="manager", first_name="Mia", last_name="Manager")
    user_grant_role(user=manager, role="store_manager")
    user_assign_locations(user=manager, location_ids=[main.pk])
    ours = {
        "drift": raise_at(
            main, "Shelf count differs from the ledger", severity="high", hours=30, owner_team="inventory"
        ),
        "till": raise_at(main, "Till 3 did not sync", kind="pos.sync_failed", severity="low", owner_team="store_ops"),
        "late": raise_at(
            main, "Click & collect order not picked", kind="orders.pickup_late", severity="critical", hours=6
        ),
    }
    incident_acknowledge(incident_id=ours["till"].pk, actor=manager)
    theirs = raise_at(high, "High St safe count is short", kind="cash.short", severity="critical", hours=2)
    return {"ours": ours, "theirs": theirs}


def log_in(page, username, next_url):
    page.goto(next_url)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("pw-test-123")
    page.get_by_role("button", name="Log in").click()
    settled(page)
    expect(page).to_have_url(next_url)


@pytest.mark.browser
def test_a_store_manager_resolves_an_incident_from_the_queue(page, queue):
    ours, theirs = queue["ours"], queue["theirs"]
    log_in(page, "manager", "/exceptions/")

    # the queue: only their store's three incidents, aging counted, the overdue one marked
    rows = page.locator("[data-testid=incidents] tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("[data-testid=incidents]")).not_to_contain_text(theirs.title)
    expect(page.locator(f"tr[data-row-id='{ours['late'].pk}']")).to_have_class("ro-overdue")
    expect(page.locator(f"tr[data-row-id='{ours['late'].pk}']")).to_contain_text("Overdue")
    expect(page.locator("[data-testid=aging] a small")).to_have_text(
        ["All ages", "< 4h", "4–24h", "1–3d", "3–7d", "> 7d"]
    )
    counts = page.locator("[data-testid=aging] a strong")
    expect(counts).to_have_text(["3", "1", "1", "1", "0", "0"])
    page.screenshot(path=SHOTS / "exceptions.png", full_page=True)

    # a bucket filters the queue
    page.locator("[data-testid=aging] a[data-age='1d_3d']").click()
    settled(page)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ours["drift"].title)

    # open it, resolve it with a note
    page.get_by_role("link", name=ours["drift"].title).click()
    settled(page)
    expect(page).to_have_url(f"/exceptions/{ours['drift'].pk}/")
    status = page.get_by_test_id("incident-status")
    expect(status).to_have_text("Open")
    expect(page.locator(".ro-actions button")).to_have_text(["Assign", "Acknowledge", "Resolve", "Dismiss"])
    page.screenshot(path=SHOTS / "exceptions-open.png", full_page=True)
    page.get_by_label("Resolution note").fill("Recounted aisle 4; the ledger was right")
    page.get_by_role("button", name="Resolve").click()
    settled(page)
    expect(status).to_have_text("Resolved")
    expect(page.locator(".ro-message--success")).to_have_text(f"Incident #{ours['drift'].pk} resolved.")
    expect(page.get_by_test_id("incident-resolution")).to_have_text("Recounted aisle 4; the ledger was right")
    history = page.get_by_test_id("incident-history").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(1)).to_contain_text("Resolved")
    expect(history.nth(1)).to_contain_text("manager")
    page.screenshot(path=SHOTS / "exceptions-detail.png", full_page=True)

    # back in the queue it is gone; the buckets followed
    page.get_by_role("link", name="Exceptions").first.click()
    settled(page)
    expect(rows).to_have_count(2)
    expect(counts).to_have_text(["2", "1", "1", "0", "0", "0"])
    assert Incident.objects.get(pk=ours["drift"].pk).status == "resolved"
    assert list(
        IncidentEvent.objects.filter(incident=ours["drift"]).order_by("at", "id").values_list("action", flat=True)
    ) == ["created", "resolved"]


@pytest.mark.browser
def test_a_store_manager_cannot_open_another_stores_incident(page, queue):
    theirs = queue["theirs"]
    log_in(page, "manager", "/exceptions/")
    expect(page.locator("[data-testid=incidents] tbody tr")).to_have_count(3)

    response = page.goto(f"/exceptions/{theirs.pk}/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text(theirs.title)
    assert Incident.objects.get(pk=theirs.pk).status == "open"


@pytest.mark.browser
def test_bulk_acknowledge_reports_each_incident(page, queue):
    ours = queue["ours"]
    log_in(page, "manager", "/exceptions/")
    page.get_by_label(f"Select incident {ours['drift'].pk}").check()
    page.get_by_label(f"Select incident {ours['till'].pk}").check()
    page.get_by_label("Bulk action").select_option("acknowledge")
    page.get_by_role("button", name="Apply").click()
    settled(page)

    expect(page.locator(".ro-message--warning")).to_have_text("Acknowledge: 1 of 2 done, 1 refused.")
    result = page.get_by_test_id("bulk-result")
    expect(result.locator(f"li[data-incident='{ours['drift'].pk}']")).to_contain_text("done (now acknowledged)")
    expect(result.locator(f"li[data-incident='{ours['till'].pk}']")).to_contain_text(
        "cannot be acknowledged from status 'acknowledged'"
    )
    page.screenshot(path=SHOTS / "exceptions-bulk.png", full_page=True)
