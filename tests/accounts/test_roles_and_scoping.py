"""Roles are groups with permissions; store managers see and act on only their own stores."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.accounts.roles import ROLE_PERMISSIONS
from apps.accounts.scoping import user_location_ids
from apps.accounts.services import user_assign_locations, user_grant_role
from apps.orders import services
from apps.orders.models import Order, OrderHistory
from apps.stock.models import StockMovement
from tests.factories import StoreFactory, UserFactory
from tests.orders.helpers import order_input, payload

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def two_stores(product, receive):
    mine, theirs = StoreFactory(code="MINE"), StoreFactory(code="THEIRS")
    receive(mine, product, 5)
    receive(theirs, product, 5)
    own, _ = services.order_create(data=order_input([(product, 1)], external_id="O1", method="pickup", pickup=mine))
    other, _ = services.order_create(data=order_input([(product, 1)], external_id="O2", method="pickup", pickup=theirs))
    return mine, theirs, own, other


@pytest.fixture
def manager(two_stores):
    mine = two_stores[0]
    user = UserFactory(username="store.manager")
    user_grant_role(user=user, role="store_manager")
    user_assign_locations(user=user, location_ids=[mine.pk])
    return user


def test_every_role_exists_as_a_group_with_its_permissions():
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert set(perms) <= held, role


def test_a_store_manager_is_scoped_to_assigned_locations_and_others_are_not(manager, two_stores):
    assert user_location_ids(manager) == [two_stores[0].pk]
    finance = UserFactory(username="fin")
    user_grant_role(user=finance, role="finance")
    assert user_location_ids(finance) is None


def test_a_store_manager_lists_only_orders_of_their_stores(manager, two_stores):
    own = two_stores[2]
    r = client_for(manager).get("/api/v1/orders/")
    assert r.status_code == 200
    assert [o["id"] for o in r.json()["results"]] == [own.pk]


@pytest.mark.parametrize("path", ["/api/v1/orders/{id}/", "/api/v1/orders/{id}/history/"])
def test_another_stores_order_is_404_for_a_store_manager(manager, two_stores, path):
    other = two_stores[3]
    assert client_for(manager).get(path.format(id=other.pk)).status_code == 404


def test_a_store_manager_cannot_act_on_another_stores_order_and_nothing_changes(manager, two_stores):
    own, other = two_stores[2], two_stores[3]
    client = client_for(manager)
    history = OrderHistory.objects.count()
    assert client.post(f"/api/v1/orders/{other.pk}/mark-ready/", {}, format="json").status_code == 404
    assert Order.objects.get(pk=other.pk).status == "allocated"
    assert OrderHistory.objects.count() == history
    assert client.post(f"/api/v1/orders/{own.pk}/mark-ready/", {}, format="json").json()["status"] == (
        "ready_for_pickup"
    )


def test_a_store_manager_sees_only_their_stock(manager, two_stores):
    client = client_for(manager)
    assert {row["location"] for row in client.get("/api/v1/stock/levels/").json()["results"]} == {"MINE"}
    assert {row["location"] for row in client.get("/api/v1/stock/movements/").json()["results"]} == {"MINE"}


def test_a_store_manager_cannot_receive_at_another_store(manager, two_stores, product):
    before = StockMovement.objects.count()
    body = {"location": "THEIRS", "reference": "x", "lines": [{"sku": product.sku, "quantity": 1, "unit_cost": "1"}]}
    r = client_for(manager).post("/api/v1/stock/receipts/", body, format="json")
    assert r.status_code == 403
    assert r.json()["error"] == "permission_denied"
    assert StockMovement.objects.count() == before


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("post", "/api/v1/orders/", payload([("SKU-A", 1)], external_id="NEW")),
        ("post", "/api/v1/products/", {"sku": "N", "name": "N", "price": "1.00", "cost": "1.00"}),
        ("post", "/api/v1/locations/", {"code": "N", "name": "N", "kind": "store"}),
    ],
    ids=["create order", "create product", "create location"],
)
def test_a_store_manager_lacks_integration_rights(manager, method, path, body):
    orders_before = Order.objects.count()
    r = getattr(client_for(manager), method)(path, body, format="json")
    assert r.status_code == 403
    assert r["Content-Type"].startswith("application/json")
    assert Order.objects.count() == orders_before


def test_a_user_without_a_role_is_403_everywhere(db):
    nobody = UserFactory(username="nobody")
    client = client_for(nobody)
    for path in ("/api/v1/orders/", "/api/v1/stock/levels/", "/api/v1/products/"):
        assert client.get(path).status_code == 403, path


def test_an_integration_user_takes_orders_in(two_stores, product):
    bot = UserFactory(username="webshop")
    user_grant_role(user=bot, role="integration")
    r = client_for(bot).post("/api/v1/orders/", payload([(product.sku, 1)], external_id="WEB-9"), format="json")
    assert r.status_code == 201


def test_the_portal_lists_only_the_managers_orders(client, manager, two_stores):
    own, other = two_stores[2], two_stores[3]
    client.force_login(manager)
    r = client.get("/orders/")
    assert r.status_code == 200
    assert own.number in r.content.decode()
    assert other.number not in r.content.decode()
    assert client.get(f"/orders/{other.pk}/").status_code == 404
    r = client.post(f"/orders/{other.pk}/mark-ready/", {"reason": ""})
    assert r.status_code == 404
    assert Order.objects.get(pk=other.pk).status == "allocated"
