"""Concurrency on real PostgreSQL with real threads: no oversell, no deadlock, replays create once."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.models import Sum

from apps.core.errors import InvalidTransition
from apps.orders import services
from apps.orders.models import Order
from apps.orders.states import OrderStatus
from apps.stock.models import Reservation, StockLevel
from tests.factories import LocationFactory, ProductFactory
from tests.orders.helpers import order_input

pytestmark = pytest.mark.django_db(transaction=True)


def run_concurrently(fn, args, workers):
    """Run fn(*a) for every a in args on `workers` threads started together; return results/exceptions."""
    first_wave = min(workers, len(args))
    barrier = threading.Barrier(first_wave)
    started = iter(range(len(args)))
    lock = threading.Lock()

    def call(a):
        try:
            with lock:
                n = next(started)
            if n < first_wave:  # the first wave starts together; later calls follow as threads free up
                barrier.wait(timeout=10)
            return fn(*a)
        except Exception as exc:  # noqa: BLE001 - returned to the test to assert on
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(call, args))


def test_sixty_concurrent_orders_for_twenty_units_allocate_exactly_twenty(receive):
    assert connection.vendor == "postgresql"
    warehouse, product = LocationFactory(code="WH1"), ProductFactory(sku="LAST")
    receive(warehouse, product, 20)
    results = run_concurrently(
        lambda i: services.order_create(data=order_input([(product, 1)], external_id=f"C{i}"))[0].status,
        [(i,) for i in range(60)],
        workers=12,
    )
    assert sorted(results).count(OrderStatus.ALLOCATED) == 20
    assert sorted(results).count(OrderStatus.BACKORDERED) == 40
    lv = StockLevel.objects.get()
    assert (lv.on_hand, lv.reserved) == (20, 20)


def test_multi_line_orders_in_random_line_order_neither_deadlock_nor_oversell(receive):
    locations = [LocationFactory(code=f"W{i}", priority=i) for i in range(3)]
    products = [ProductFactory() for _ in range(6)]
    stock = {}
    for loc in locations:
        for p in products:
            receive(loc, p, 4)
            stock[(p.pk, loc.pk)] = 4
    rng = random.Random(7)
    orders = []
    for i in range(80):
        picked = rng.sample(products, 3)
        rng.shuffle(picked)
        orders.append(([(p, rng.randint(1, 3)) for p in picked], f"M{i}"))

    results = run_concurrently(
        lambda lines, ext: services.order_create(data=order_input(lines, external_id=ext))[0].status,
        orders,
        workers=12,
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert set(results) <= {OrderStatus.ALLOCATED, OrderStatus.BACKORDERED}
    for lv in StockLevel.objects.all():
        active = Reservation.objects.filter(level=lv, status="active").aggregate(s=Sum("quantity"))["s"] or 0
        assert lv.on_hand == stock[(lv.product_id, lv.location_id)]
        assert 0 <= lv.reserved == active <= lv.on_hand
    # Every allocated order is fully reserved, every backordered one reserves nothing.
    for order in Order.objects.prefetch_related("lines"):
        reserved = Reservation.objects.filter(demand_id=order.pk, status="active").aggregate(s=Sum("quantity"))["s"]
        wanted = sum(line.quantity for line in order.lines.all())
        assert (reserved or 0) == (wanted if order.status == OrderStatus.ALLOCATED else 0)


def test_concurrent_replays_of_one_order_create_it_once(receive):
    warehouse, product = LocationFactory(code="WH1"), ProductFactory(sku="REPLAY")
    receive(warehouse, product, 10)
    results = run_concurrently(
        lambda _: services.order_create(data=order_input([(product, 1)], external_id="SAME")),
        [(i,) for i in range(10)],
        workers=10,
    )
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({order.pk for order, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Order.objects.count() == 1
    assert StockLevel.objects.get().reserved == 1


def test_ship_and_cancel_racing_on_one_order_leave_exactly_one_outcome(receive):
    warehouse, product = LocationFactory(code="WH1"), ProductFactory(sku="RACE")
    receive(warehouse, product, 5)
    order, _ = services.order_create(data=order_input([(product, 2)]))
    results = run_concurrently(
        lambda fn: fn(order_id=order.pk),
        [(services.order_ship,), (services.order_cancel,)],
        workers=2,
    )
    outcomes = sorted(type(r).__name__ for r in results)
    assert outcomes == ["InvalidTransition", "Order"]
    order.refresh_from_db()
    lv = StockLevel.objects.get()
    if order.status == OrderStatus.SHIPPED:
        assert (lv.on_hand, lv.reserved) == (3, 0)
    else:
        assert order.status == OrderStatus.CANCELLED
        assert (lv.on_hand, lv.reserved) == (5, 0)
    assert any(isinstance(r, InvalidTransition) for r in results)


def test_a_receipt_racing_with_orders_never_loses_a_unit(receive):
    warehouse, product = LocationFactory(code="WH1"), ProductFactory(sku="FLOW")
    receive(warehouse, product, 5)

    def work(i):
        if i % 5 == 0:
            receive(warehouse, product, 2, reference=f"R{i}")
            return "receipt"
        return services.order_create(data=order_input([(product, 1)], external_id=f"F{i}"))[0].status

    results = run_concurrently(work, [(i,) for i in range(40)], workers=8)
    assert [r for r in results if isinstance(r, Exception)] == []
    lv = StockLevel.objects.get()
    assert lv.on_hand == 5 + 2 * 8
    assert lv.reserved == results.count(OrderStatus.ALLOCATED) <= lv.on_hand
    connections.close_all()
