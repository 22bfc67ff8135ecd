"""Staff UI for stock: levels by location, the movement ledger with filters and paging, the admin."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from apps.stock.models import MovementKind, StockMovement
from apps.stock.services import Allocation, stock_levels_lock, stock_post_movements, stock_reserve
from tests.factories import ProductFactory, StoreFactory, UserFactory

LEVELS_URL = "/stock/levels/"
MOVEMENTS_URL = "/stock/movements/"


@pytest.fixture
def stockist(db):
    user = UserFactory(username="stockist", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_stocklevel", "view_stockmovement", "view_order", "view_all_locations"]
        )
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def shelves(warehouse, receive):
    """SKU-A in WH1 (10) and ST7 (4, 1 adjusted away), SKU-B in WH1 (3)."""
    store = StoreFactory(code="ST7")
    a, b = ProductFactory(sku="SKU-A", name="Kettle"), ProductFactory(sku="SKU-B", name="Toaster")
    receive(warehouse, a, 10, reference="PO-1")
    receive(store, a, 4, reference="PO-2")
    receive(warehouse, b, 3, reference="PO-3")
    stock_post_movements(location=store, changes=[(a, -1)], kind=MovementKind.ADJUSTMENT, reference="count")
    held = stock_levels_lock(product_ids=[a.pk], location_ids=[warehouse.pk])
    stock_reserve(allocations=[Allocation(held[0], line_id=1, quantity=2)], demand_type="test", demand_id=1)
    return {"store": store, "a": a, "b": b}


def rows(response):
    return [
        (lv.product.sku, lv.location.code, lv.on_hand, lv.reserved, lv.available_qty)
        for lv in response.context["page_obj"].object_list
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [("SKU-A", "WH1", 10, 2, 8), ("SKU-A", "ST7", 3, 0, 3), ("SKU-B", "WH1", 3, 0, 3)]),
        ("?location=WH1", [("SKU-A", "WH1", 10, 2, 8), ("SKU-B", "WH1", 3, 0, 3)]),
        ("?sku=SKU-A", [("SKU-A", "WH1", 10, 2, 8), ("SKU-A", "ST7", 3, 0, 3)]),
        ("?sku=SKU-B&location=ST7", []),
    ],
    ids=["all", "location", "sku", "nothing"],
)
def test_stock_levels_filter_by_location_and_sku(stockist, shelves, query, expected):
    response = stockist.get(LEVELS_URL + query)

    assert response.status_code == 200
    assert rows(response) == expected


@pytest.mark.django_db
def test_stock_levels_show_on_hand_reserved_and_available(stockist, shelves):
    response = stockist.get(f"{LEVELS_URL}?sku=SKU-A&location=WH1")
    cells = [
        value for _, row in response.context["view"].get_page_data(response.context["page_obj"]) for _, value in row
    ]

    assert [c.header() for c in response.context["view"].list_columns.values()] == [
        "SKU",
        "Product",
        "Location",
        "On hand",
        "Reserved",
        "Available",
    ]
    assert cells == ["SKU-A", "Kettle", "WH1", "10", "2", "8"]


def movements(response):
    return [
        (m.product.sku, m.location.code, m.kind, m.quantity, m.balance_after, m.reference)
        for m in response.context["page_obj"].object_list
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "",
            [
                ("SKU-A", "ST7", "adjustment", -1, 3, "count"),
                ("SKU-B", "WH1", "receipt", 3, 3, "PO-3"),
                ("SKU-A", "ST7", "receipt", 4, 4, "PO-2"),
                ("SKU-A", "WH1", "receipt", 10, 10, "PO-1"),
            ],
        ),
        ("?sku=SKU-B", [("SKU-B", "WH1", "receipt", 3, 3, "PO-3")]),
        (
            "?location=ST7",
            [("SKU-A", "ST7", "adjustment", -1, 3, "count"), ("SKU-A", "ST7", "receipt", 4, 4, "PO-2")],
        ),
        ("?kind=adjustment", [("SKU-A", "ST7", "adjustment", -1, 3, "count")]),
        ("?sku=SKU-A&location=WH1&kind=receipt", [("SKU-A", "WH1", "receipt", 10, 10, "PO-1")]),
    ],
    ids=["newest-first", "sku", "location", "kind", "combined"],
)
def test_movements_filter_by_sku_location_and_kind(stockist, shelves, query, expected):
    response = stockist.get(MOVEMENTS_URL + query)

    assert response.status_code == 200
    assert movements(response) == expected


@pytest.mark.django_db
def test_movements_page_and_the_links_keep_the_filters(stockist, warehouse, product, receive):
    for i in range(60):
        receive(warehouse, product, 1, reference=f"R-{i:02d}")

    first = stockist.get(f"{MOVEMENTS_URL}?kind=receipt")
    second = stockist.get(f"{MOVEMENTS_URL}?kind=receipt&page=2")

    assert len(movements(first)) == 50
    assert [m[5] for m in movements(second)] == [f"R-{i:02d}" for i in range(9, -1, -1)]
    assert 'href="?kind=receipt&amp;page=2"' in first.content.decode()
    assert "51-60 of 60" in second.content.decode()


@pytest.mark.django_db
def test_stock_list_query_counts_do_not_grow_with_the_rows(
    stockist, warehouse, receive, make_products, django_assert_max_num_queries
):
    for product in make_products(30):
        receive(warehouse, product, 5)

    with django_assert_max_num_queries(8):
        levels = stockist.get(LEVELS_URL)
    with django_assert_max_num_queries(8):
        moves = stockist.get(MOVEMENTS_URL)

    assert len(rows(levels)) == 30
    assert len(movements(moves)) == 30


@pytest.mark.django_db
def test_a_user_without_stock_permissions_gets_403(db):
    client = Client()
    client.force_login(UserFactory(username="outsider", is_staff=True))

    assert client.get(LEVELS_URL).status_code == 403
    assert client.get(MOVEMENTS_URL).status_code == 403


@pytest.mark.django_db
def test_the_menu_lists_the_applications_the_user_may_see(stockist):
    html = stockist.get(LEVELS_URL).content.decode()

    assert '<span class="mdc-list-item__content">Orders</span>' in html
    assert '<span class="mdc-list-item__content">Stock</span>' in html
    assert '<span class="mdc-list-item__content">Levels</span>' in html
    assert '<span class="mdc-list-item__content">Movements</span>' in html


# --- admin -------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    ["stock/stockmovement", "stock/stocklevel", "stock/reservation", "stock/stockreceipt", "core/outboxevent"],
)
def test_the_ledger_is_read_only_in_the_admin(user, shelves, model):
    client = Client()
    client.force_login(user)

    changelist = client.get(f"/admin/{model}/")
    add = client.get(f"/admin/{model}/add/")

    assert changelist.status_code == 200
    assert changelist.context["has_add_permission"] is False
    assert add.status_code == 403


@pytest.mark.django_db
def test_a_movement_cannot_be_changed_or_deleted_in_the_admin(user, shelves):
    movement = StockMovement.objects.order_by("id").first()
    client = Client()
    client.force_login(user)

    view = client.get(f"/admin/stock/stockmovement/{movement.pk}/change/")
    change = client.post(f"/admin/stock/stockmovement/{movement.pk}/change/", {"quantity": "99"})
    delete = client.post(f"/admin/stock/stockmovement/{movement.pk}/delete/", {"post": "yes"})

    assert view.status_code == 200
    assert (change.status_code, delete.status_code) == (403, 403)
    movement.refresh_from_db()
    assert (movement.quantity, StockMovement.objects.count()) == (10, 4)


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["catalog/product", "catalog/location", "core/incident", "core/outboxdelivery"])
def test_the_other_models_are_in_the_admin(user, shelves, model):
    client = Client()
    client.force_login(user)

    assert client.get(f"/admin/{model}/").status_code == 200
