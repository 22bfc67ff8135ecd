"""Transfers on PostgreSQL with real threads: competing approvals never over-reserve; a double dispatch moves once."""

import pytest
from django.db import connection

from apps.core.errors import DomainError
from apps.stock import services
from apps.stock.models import StockLevel, StockMovement
from tests.orders.test_concurrency import run_concurrently
from tests.stock.test_transfers import make_network, make_people, transfer

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_transfers_competing_for_one_warehouse_reserve_at_most_its_stock():
    # given: WH1 holds 100 kettles; 20 transfers of 8 kettles each (160) are submitted at once
    assert connection.vendor == "postgresql"
    net = make_network()
    people = make_people(net)
    ids = [transfer(net, people["ops"], [("kettle", 8)], destination=("st1", "st2")[i % 2]).pk for i in range(20)]

    results = run_concurrently(
        lambda tid: services.stock_transfer_submit(transfer_id=tid, actor=people["ops"]).status,
        [(tid,) for tid in ids],
        workers=10,
    )

    # then: exactly 12 fit (96 units), the other 8 are refused with insufficient_stock
    assert results.count("approved") == 12
    assert [r.code for r in results if isinstance(r, DomainError)] == ["insufficient_stock"] * 8
    level = StockLevel.objects.get(location=net["wh1"], product=net["kettle"])
    assert (level.on_hand, level.reserved) == (100, 96)
    assert services.stock_verify_invariants() == []


def test_a_transfer_dispatched_twice_at_once_moves_once():
    net = make_network()
    people = make_people(net)
    t = transfer(net, people["ops"], [("kettle", 10)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["ops"])

    results = run_concurrently(
        lambda: services.stock_transfer_dispatch(transfer_id=t.pk, actor=people["ops"]).status, [(), ()], workers=2
    )

    assert sorted(r if isinstance(r, str) else type(r).__name__ for r in results) == [
        "InvalidTransition",
        "in_transit",
    ]
    assert StockMovement.objects.filter(kind="transfer_out").count() == 1
    assert services.stock_verify_invariants() == []


def test_two_replenishment_runs_at_once_propose_once():
    from apps.stock.models import ReplenishmentRule, StockTransfer

    net = make_network()
    ReplenishmentRule.objects.create(location=net["st1"], product=net["kettle"], min_qty=5, max_qty=20)

    results = run_concurrently(lambda: len(services.stock_replenishment_propose()), [(), ()], workers=2)

    assert sorted(results) == [0, 1]
    assert StockTransfer.objects.filter(proposed=True).count() == 1
