"""Staff UI for orders: login, list filters and paging, the detail page, transition buttons, the admin."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.core.models import OutboxEvent
from apps.orders.models import Order, OrderHistory
from apps.orders.services import LineInput, OrderInput, order_create, order_pick, order_ship
from apps.orders.states import OrderStatus
from apps.stock.models import Reservation, StockLevel, StockMovement
from tests.factories import LocationFactory, ProductFactory, StoreFactory, UserFactory

S = OrderStatus
LIST_URL = "/orders/"


def grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def clerk(db):
    """Staff who may see orders and move them along, but is no superuser."""
    return grant(UserFactory(username="clerk", is_staff=True), "view_order", "transition_order", "view_all_locations")


@pytest.fixture
def viewer(db):
    """Staff who may see orders but not move them."""
    return grant(UserFactory(username="viewer", is_staff=True), "view_order", "view_all_locations")


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def make_order(lines, *, external_id, channel="web", email="ann.lee@example.com", method="ship", pickup=None):
    """lines: [(product, quantity)]; goes through the intake service like the API does."""
    data = OrderInput(
        channel=channel,
        external_id=external_id,
        currency="USD",
        customer_email=email,
        customer_name="Ann Lee",
        fulfillment_method=method,
        pickup_location=pickup,
        shipping_address={}
        if pickup
        else {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
        payment_method="card",
        payment_reference=f"ch_{external_id}",
        lines=[LineInput(product=p, quantity=q, unit_price=Decimal("10.00")) for p, q in lines],
    )
    order, _ = order_create(data=data)
    return order


def listed(response):
    return [o.external_id for o in response.context["page_obj"].object_list]


def history(order):
    return list(OrderHistory.objects.filter(order=order).order_by("at", "id").values_list("from_status", "to_status"))


def snapshot(order):
    """Everything a transition could write."""
    order.refresh_from_db()
    return (
        order.status,
        history(order),
        OutboxEvent.objects.count(),
        StockMovement.objects.count(),
        sorted(Reservation.objects.filter(demand_id=order.pk).values_list("id", "status")),
    )


@pytest.fixture
def allocated(warehouse, product, receive):
    receive(warehouse, product, 10)
    return make_order([(product, 2)], external_id="EXT-1")


# --- login -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/", "/orders/", "/orders/1/", "/stock/", "/stock/levels/", "/stock/movements/"],
    ids=["root", "order-list", "order-detail", "stock-app", "stock-levels", "stock-movements"],
)
def test_anonymous_users_are_sent_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.django_db
def test_an_anonymous_transition_post_is_sent_to_login_and_changes_nothing(allocated):
    before = snapshot(allocated)

    response = Client().post(f"/orders/{allocated.pk}/pick/")

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/orders/{allocated.pk}/pick/"
    assert snapshot(allocated) == before


@pytest.mark.django_db
def test_the_login_page_is_the_portal_lock_screen(client):
    response = client.get("/accounts/login/?next=/orders/")

    assert response.status_code == 200
    assert [t.name for t in response.templates][:2] == ["registration/login.html", "registration/login.html"]
    assert "<title>Log in - RetailOps</title>" in response.content.decode()
    assert 'name="next" value="/orders/"' in response.content.decode()


@pytest.mark.django_db
def test_a_user_logs_in_lands_on_the_portal_and_logs_out(clerk):
    client = Client()

    login = client.post("/accounts/login/", {"username": "clerk", "password": "pw-test-123", "next": "/orders/"})
    page = client.get("/orders/")
    logout = client.post("/accounts/logout/")
    after = client.get("/orders/")

    assert (login.status_code, login["Location"]) == (302, "/orders/")
    assert page.status_code == 200
    assert (logout.status_code, logout["Location"]) == (302, "/accounts/login/")
    assert (after.status_code, after["Location"]) == (302, "/accounts/login/?next=/orders/")


@pytest.mark.django_db
def test_a_wrong_password_shows_the_login_form_again(clerk):
    response = Client().post("/accounts/login/", {"username": "clerk", "password": "nope"})

    assert response.status_code == 200
    assert response.context["form"].errors["__all__"] == [
        "Please enter a correct username and password. Note that both fields may be case-sensitive."
    ]


@pytest.mark.django_db
def test_the_root_leads_a_logged_in_user_to_the_order_list(clerk):
    response = client_for(clerk).get("/", follow=True)

    assert response.redirect_chain == [("./orders/", 302)]
    assert response.request["PATH_INFO"] == "/orders/"
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_user_without_view_permission_gets_403_and_no_menu_entry(db):
    nobody = UserFactory(username="nobody", is_staff=True)
    client = client_for(nobody)

    assert client.get("/orders/").status_code == 403
    assert client.get("/stock/levels/").status_code == 403


# --- list --------------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(warehouse, receive):
    """Orders in several statuses, channels, locations and days."""
    store = StoreFactory(code="ST9", name="Main Street")
    a, b = ProductFactory(sku="SKU-A"), ProductFactory(sku="SKU-B")
    receive(warehouse, a, 100)
    receive(store, b, 100)
    orders = {
        "W-ALLOC": make_order([(a, 1)], external_id="W-ALLOC", email="ann@example.com"),
        "W-PICK": make_order([(a, 1)], external_id="W-PICK", email="bob@example.com"),
        "S-PICKUP": make_order(
            [(b, 1)], external_id="S-PICKUP", channel="store", method="pickup", pickup=store, email="cy@example.com"
        ),
        "M-BACK": make_order([(a, 500)], external_id="M-BACK", channel="marketplace", email="dee@example.com"),
    }
    order_pick(order_id=orders["W-PICK"].pk)
    days = {"W-ALLOC": 1, "W-PICK": 2, "S-PICKUP": 3, "M-BACK": 4}
    for ext, day in days.items():
        Order.objects.filter(external_id=ext).update(created_at=datetime(2024, 5, day, 12, tzinfo=UTC))
    return orders


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["M-BACK", "S-PICKUP", "W-PICK", "W-ALLOC"]),
        ("?status=allocated", ["S-PICKUP", "W-ALLOC"]),
        ("?status=picking&status=backordered", ["M-BACK", "W-PICK"]),
        ("?channel=store", ["S-PICKUP"]),
        ("?location=ST9", ["S-PICKUP"]),
        ("?location=WH1", ["W-PICK", "W-ALLOC"]),
        ("?created_from=2024-05-02&created_to=2024-05-03", ["S-PICKUP", "W-PICK"]),
        ("?search=M-BACK", ["M-BACK"]),
        ("?search=BOB@example.com", ["W-PICK"]),
        ("?_search=cy@example.com", ["S-PICKUP"]),
        ("?status=allocated&channel=web", ["W-ALLOC"]),
    ],
    ids=[
        "all-newest-first",
        "status",
        "two-statuses",
        "channel",
        "pickup-location",
        "allocated-location",
        "created-range-inclusive",
        "external-id",
        "email-any-case",
        "toolbar-search",
        "combined",
    ],
)
def test_the_order_list_filters(clerk, catalogue, query, expected):
    response = client_for(clerk).get(LIST_URL + query)

    assert response.status_code == 200
    assert listed(response) == expected


@pytest.mark.django_db
def test_the_order_list_searches_by_order_number(clerk, catalogue):
    number = catalogue["W-PICK"].number

    response = client_for(clerk).get(f"{LIST_URL}?search={number}")

    assert listed(response) == ["W-PICK"]
    assert f'<a href="/orders/{catalogue["W-PICK"].pk}/">{number}</a>' in response.content.decode()


@pytest.mark.django_db
def test_the_order_list_pages_and_its_links_keep_the_filters(clerk, warehouse, product, receive):
    receive(warehouse, product, 100)
    for i in range(30):
        make_order([(product, 1)], external_id=f"E-{i:02d}")

    first = client_for(clerk).get(f"{LIST_URL}?status=allocated")
    second = client_for(clerk).get(f"{LIST_URL}?status=allocated&page=2")

    assert len(listed(first)) == 25
    assert listed(second) == [f"E-{i:02d}" for i in range(4, -1, -1)]
    assert 'href="?status=allocated&amp;page=2"' in first.content.decode()
    assert "26-30 of 30" in second.content.decode()


def count_list_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST_URL)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_the_order_list_query_count_does_not_grow_with_the_orders(
    clerk, warehouse, product, receive, django_assert_max_num_queries
):
    receive(warehouse, product, 100)
    client = client_for(clerk)
    make_order([(product, 1)], external_id="Q-0")
    with_one = count_list_queries(client)
    for i in range(1, 25):
        make_order([(product, 1)], external_id=f"Q-{i}")

    with django_assert_max_num_queries(8):
        response = client.get(LIST_URL)

    assert len(listed(response)) == 25
    assert count_list_queries(client) == with_one


# --- detail ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_detail_page_shows_header_lines_allocations_and_history(clerk, warehouse, receive):
    second = LocationFactory(code="WH2", priority=5)
    a, b = ProductFactory(sku="SKU-A", name="Kettle"), ProductFactory(sku="SKU-B", name="Toaster")
    receive(warehouse, a, 1)
    receive(second, a, 2)
    receive(warehouse, b, 5)
    order = make_order([(a, 3), (b, 1)], external_id="EXT-9")
    order_pick(order_id=order.pk, actor=clerk, reason="wave 7")

    response = client_for(clerk).get(f"/orders/{order.pk}/")
    html = response.content.decode()

    assert response.status_code == 200
    assert response.context["order"] == order
    assert [
        (
            row["line"].line_no,
            row["line"].product.sku,
            row["line"].quantity,
            [(r.location.code, r.quantity, r.status) for r in row["allocations"]],
        )
        for row in response.context["lines"]
    ] == [(1, "SKU-A", 3, [("WH1", 1, "active"), ("WH2", 2, "active")]), (2, "SKU-B", 1, [("WH1", 1, "active")])]
    assert [
        (row["from"], row["to"], row["entry"].actor.username if row["entry"].actor else None, row["entry"].reason)
        for row in response.context["history"]
    ] == [
        ("", "Received", None, "order received"),
        ("Received", "Allocated", None, "stock reserved"),
        ("Allocated", "Picking", "clerk", "wave 7"),
    ]
    assert f"Order {order.number}" in html
    assert 'data-testid="order-status">Picking</span>' in html
    assert "WH1 × 1 <small>(active)</small>" in html and "WH2 × 2 <small>(active)</small>" in html
    assert "<td>Kettle</td>" in html and "EXT-9" in html and "ann.lee@example.com" in html
    assert "<td>clerk</td>" in html and "<td>wave 7</td>" in html


@pytest.mark.django_db
def test_an_unknown_order_is_404(clerk):
    assert client_for(clerk).get("/orders/999999/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("ship", ["pick", "ship", "cancel"]),
        ("pickup", ["pick", "mark-ready", "cancel"]),
        ("fraud-hold", ["release", "cancel"]),
        ("backordered", ["cancel"]),
        ("shipped", ["deliver"]),
        ("cancelled", []),
    ],
    ids=["allocated-ship", "allocated-pickup", "fraud-hold", "backordered", "shipped", "cancelled"],
)
def test_the_buttons_are_the_transitions_the_status_allows(
    clerk, warehouse, product, receive, settings, setup, expected
):
    store = StoreFactory(code="ST5")
    receive(warehouse, product, 10)
    receive(store, product, 10)
    if setup == "fraud-hold":
        settings.ORDER_REVIEW_THRESHOLD = Decimal("5.00")
    order = make_order(
        [(product, 50 if setup == "backordered" else 1)],
        external_id="EXT-B",
        method="pickup" if setup == "pickup" else "ship",
        pickup=store if setup == "pickup" else None,
    )
    if setup == "shipped":
        order_ship(order_id=order.pk)
    if setup == "cancelled":
        client_for(clerk).post(f"/orders/{order.pk}/cancel/", {"reason": "customer called"})

    response = client_for(clerk).get(f"/orders/{order.pk}/")

    assert [a["name"] for a in response.context["actions"]] == expected
    assert response.content.decode().count('<form method="post" action="/orders/') == len(expected)


# --- transitions -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pick_then_ship_move_the_order_through_the_services(clerk, allocated, warehouse, product):
    client = client_for(clerk)

    picked = client.post(f"/orders/{allocated.pk}/pick/")
    picking = client.get(picked["Location"])
    shipped = client.post(f"/orders/{allocated.pk}/ship/", {"carrier": "DHL", "tracking_number": "JD0001"}, follow=True)

    allocated.refresh_from_db()
    assert (picked.status_code, picked["Location"]) == (302, f"/orders/{allocated.pk}/")
    assert allocated.status == S.SHIPPED
    assert (allocated.carrier, allocated.tracking_number) == ("DHL", "JD0001")
    assert list(OrderHistory.objects.filter(order=allocated).values_list("to_status", "actor__username", "reason")) == [
        ("received", None, "order received"),
        ("allocated", None, "stock reserved"),
        ("picking", "clerk", "picking started"),
        ("shipped", "clerk", "shipped"),
    ]
    level = StockLevel.objects.get(product=product, location=warehouse)
    assert (level.on_hand, level.reserved) == (8, 0)
    assert [str(m) for m in picking.context["messages"]] == [f"Order {allocated.number} is now picking."]
    assert [str(m) for m in shipped.context["messages"]] == [f"Order {allocated.number} is now shipped."]
    assert 'data-testid="order-status">Shipped</span>' in shipped.content.decode()


@pytest.mark.django_db
def test_cancel_records_the_reason_and_releases_the_stock(clerk, allocated, warehouse, product):
    response = client_for(clerk).post(f"/orders/{allocated.pk}/cancel/", {"reason": "customer called"})

    allocated.refresh_from_db()
    assert response.status_code == 302
    assert allocated.status == S.CANCELLED
    assert OrderHistory.objects.filter(order=allocated).last().reason == "customer called"
    level = StockLevel.objects.get(product=product, location=warehouse)
    assert (level.on_hand, level.reserved) == (10, 0)


@pytest.mark.django_db
def test_cancel_without_a_reason_is_refused_and_changes_nothing(clerk, allocated):
    before = snapshot(allocated)

    response = client_for(clerk).post(f"/orders/{allocated.pk}/cancel/", {"reason": "  "}, follow=True)

    assert snapshot(allocated) == before
    assert [str(m) for m in response.context["messages"]] == ["Cancel order refused: reason: This field is required."]


@pytest.mark.django_db
def test_a_transition_the_status_does_not_allow_shows_an_error_and_changes_nothing(clerk, allocated):
    before = snapshot(allocated)

    response = client_for(clerk).post(f"/orders/{allocated.pk}/deliver/", follow=True)

    assert response.status_code == 200
    assert snapshot(allocated) == before
    message = f"Order {allocated.number} cannot deliver from status 'allocated'"
    assert [(m.level_tag, str(m)) for m in response.context["messages"]] == [("error", message)]
    assert f'<div class="ro-message ro-message--error">Order {allocated.number} cannot deliver from status' in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_a_user_without_the_transition_permission_sees_no_buttons_and_gets_403(viewer, allocated):
    client = client_for(viewer)
    before = snapshot(allocated)

    page = client.get(f"/orders/{allocated.pk}/")
    post = client.post(f"/orders/{allocated.pk}/pick/")

    assert page.status_code == 200
    assert page.context["actions"] == []
    assert 'class="ro-actions"' not in page.content.decode()
    assert post.status_code == 403
    assert snapshot(allocated) == before


@pytest.mark.django_db
def test_transitions_are_csrf_protected(clerk, allocated):
    client = Client(enforce_csrf_checks=True)
    client.force_login(clerk)
    before = snapshot(allocated)

    response = client.post(f"/orders/{allocated.pk}/pick/")

    assert response.status_code == 403
    assert snapshot(allocated) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", "pick/", 405), ("post", "explode/", 404)],
    ids=["get-is-not-allowed", "unknown-action"],
)
def test_transition_urls_take_known_actions_by_post_only(clerk, allocated, method, path, status):
    before = snapshot(allocated)

    response = getattr(client_for(clerk), method)(f"/orders/{allocated.pk}/{path}")

    assert response.status_code == status
    assert snapshot(allocated) == before


@pytest.mark.django_db
def test_a_transition_of_an_unknown_order_is_404(clerk):
    assert client_for(clerk).post("/orders/999999/pick/").status_code == 404


# --- admin -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_shows_an_order_with_its_status_read_only(user, allocated):
    client = client_for(user)

    changelist = client.get("/admin/orders/order/")
    change = client.get(f"/admin/orders/order/{allocated.pk}/change/")

    assert changelist.status_code == 200
    assert change.status_code == 200
    assert "status" not in change.context["adminform"].form.fields
    assert "status" in change.context["adminform"].readonly_fields
    assert client.get("/admin/orders/order/add/").status_code == 403


@pytest.mark.django_db
def test_the_admin_history_is_read_only(user, allocated):
    entry = OrderHistory.objects.filter(order=allocated).first()
    client = client_for(user)

    view = client.get(f"/admin/orders/orderhistory/{entry.pk}/change/")
    post = client.post(f"/admin/orders/orderhistory/{entry.pk}/change/", {"reason": "rewritten"})

    assert view.status_code == 200
    assert view.context["has_change_permission"] is False
    assert post.status_code == 403
    assert client.get("/admin/orders/orderhistory/add/").status_code == 403
    assert client.post(f"/admin/orders/orderhistory/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.reason == "order received"


@pytest.mark.django_db
def test_the_admin_is_for_superusers_only(clerk):
    client = client_for(clerk)

    assert client.get("/admin/orders/order/").status_code == 403
    assert client.get("/admin/orders/order/1/change/").status_code == 403
