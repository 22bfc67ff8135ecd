"""The demo seed: what it creates, that it is idempotent, and that the stock ledger stays consistent."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from apps.accounts.scoping import user_location_ids
from apps.approvals.models import ApprovalRequest
from apps.catalog.models import Location, LocationKind, Product
from apps.core.demo import seed_demo
from apps.core.models import OutboxEvent
from apps.orders.models import Order, OrderHistory
from apps.stock.models import CycleCount, StockAdjustment, StockMovement
from apps.stock.services import stock_verify_invariants

ALL_STATUSES = {
    "allocated",
    "backordered",
    "picking",
    "shipped",
    "delivered",
    "ready_for_pickup",
    "picked_up",
    "cancelled",
    "fraud_hold",
    "closed",
}
DEMO_USERS = {"admin", "store.manager", "approver", "finance"}


def _snapshot() -> dict[str, int]:
    return {
        "locations": Location.objects.count(),
        "products": Product.objects.count(),
        "orders": Order.objects.count(),
        "history": OrderHistory.objects.count(),
        "movements": StockMovement.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "users": get_user_model().objects.count(),
        "groups": Group.objects.count(),
    }


def test_seed_demo_builds_every_status_through_the_services(db):
    # given an empty database
    # when
    result = seed_demo(warehouses=2, stores=3, skus=40, orders=45, password="demo-pass-1")

    # then
    assert result.created is True
    warehouses = list(Location.objects.filter(kind=LocationKind.WAREHOUSE).order_by("priority"))
    stores = list(Location.objects.filter(kind=LocationKind.STORE).order_by("priority"))
    assert [w.priority for w in warehouses] == [1, 2]
    assert [s.priority for s in stores] == [50, 51, 52]
    assert Product.objects.count() == 40
    assert Order.objects.count() == 45
    assert set(Order.objects.values_list("status", flat=True)) == ALL_STATUSES
    assert set(Order.objects.values_list("channel", flat=True)) == {"web", "store", "marketplace"}
    assert set(Order.objects.values_list("fulfillment_method", flat=True)) == {"ship", "pickup"}
    assert result.statuses == {s: Order.objects.filter(status=s).count() for s in ALL_STATUSES}
    # every status change went through a service: one history row per change, a movement per stock change
    assert not Order.objects.exclude(history__to_status="received").exists()
    assert StockMovement.objects.filter(kind="opening").exists()
    assert StockMovement.objects.filter(kind="shipment").exists()
    assert StockMovement.objects.filter(kind="pickup").exists()
    assert stock_verify_invariants() == []


def test_seed_demo_creates_users_with_a_usable_password_and_groups(db, monkeypatch):
    # given
    monkeypatch.setenv("DEMO_PASSWORD", "from-the-env-42")

    # when
    result = seed_demo(warehouses=1, stores=2, skus=20, orders=15)

    # then
    assert result.password == "from-the-env-42"
    assert set(result.users) == DEMO_USERS
    for username in DEMO_USERS:
        user = authenticate(username=username, password="from-the-env-42")
        assert user is not None, username
        assert user.is_staff
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "store_manager",
        "approver",
        "finance",
        "ops_admin",
        "integration",
    }
    memberships = {u.username: {g.name for g in u.groups.all()} for u in get_user_model().objects.all()}
    assert memberships == {
        "admin": {"ops_admin"},
        "store.manager": {"store_manager"},
        "approver": {"approver"},
        "finance": {"finance"},
    }
    store_manager = authenticate(username="store.manager", password="from-the-env-42")
    assert store_manager.has_perms(["orders.view_order", "stock.view_stocklevel", "orders.transition_order"])
    assert not store_manager.is_superuser
    assert user_location_ids(store_manager) == sorted(
        Location.objects.filter(kind="store").order_by("priority").values_list("id", flat=True)[:2]
    )
    finance = authenticate(username="finance", password="from-the-env-42")
    assert finance.has_perms(["orders.view_order", "stock.view_stocklevel"])
    assert not finance.has_perm("orders.transition_order")


def test_seed_demo_twice_changes_nothing(db):
    # given
    seed_demo(warehouses=1, stores=2, skus=20, orders=15, password="demo-pass-1")
    before = _snapshot()

    # when
    again = seed_demo(warehouses=1, stores=2, skus=20, orders=15, password="other-pass-2")

    # then
    assert again.created is False
    assert _snapshot() == before
    # an existing user keeps the password it has
    assert authenticate(username="admin", password="demo-pass-1") is not None
    assert authenticate(username="admin", password="other-pass-2") is None


def test_seed_demo_leaves_existing_domain_data_alone(db, product):
    # given a database that already holds a product
    before = _snapshot()

    # when
    result = seed_demo(warehouses=1, stores=2, skus=20, orders=15, password="demo-pass-1")

    # then users are there, nothing else was added
    assert result.created is False
    assert _snapshot() == {**before, "users": before["users"] + 4}


@pytest.mark.parametrize("counts", [{"skus": 19}, {"orders": 14}, {"stores": 0}, {"warehouses": 4}], ids=str)
def test_seed_demo_refuses_counts_it_cannot_honour(db, counts):
    with pytest.raises(ValueError):
        seed_demo(**counts)
    assert Location.objects.count() == 0
    assert get_user_model().objects.count() == 0


def test_seed_demo_command_at_full_size_matches_the_spec(db, capsys):
    # when
    call_command("seed_demo")

    # then
    assert Location.objects.filter(kind=LocationKind.WAREHOUSE).count() == 3
    assert Location.objects.filter(kind=LocationKind.STORE).count() == 12
    assert not Location.objects.filter(kind=LocationKind.STORE, priority__lt=50).exists()
    assert Product.objects.count() == 240
    assert Order.objects.count() == 400
    assert set(Order.objects.values_list("status", flat=True)) == ALL_STATUSES
    assert stock_verify_invariants() == []
    out = capsys.readouterr().out
    assert "Seeded demo data" in out
    assert "retailops-demo" in out
    assert all(name in out for name in DEMO_USERS)

    # and a second run says so and skips
    call_command("seed_demo")
    assert "already has data" in capsys.readouterr().out
    assert Order.objects.count() == 400


def test_seed_demo_leaves_work_in_every_approval_band(db):
    # when
    seed_demo(warehouses=1, stores=2, skus=20, orders=15, password="demo-pass-1")

    # then the first store has a posted damage, one request per approval band waiting, and a count
    store = Location.objects.filter(kind=LocationKind.STORE).order_by("priority").first()
    adjustments = sorted((a.reason, a.status) for a in StockAdjustment.objects.filter(location=store))
    assert adjustments == [
        ("count_variance", "posted"),
        ("damage", "posted"),
        ("found", "pending_approval"),
        ("found", "pending_approval"),
    ]
    pending = ApprovalRequest.objects.filter(subject_type="stock.adjustment", outcome="pending")
    assert sorted(pending.values_list("levels", flat=True)) == [1, 2]
    assert CycleCount.objects.filter(location=store).count() == 1
    assert stock_verify_invariants() == []
