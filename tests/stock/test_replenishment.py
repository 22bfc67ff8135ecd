"""Store replenishment: proposals below min up to max, from the preferred warehouse with stock, no duplicates."""

from decimal import Decimal

import pytest

from apps.stock import services
from apps.stock.models import ReplenishmentRule, StockTransfer
from apps.stock.services import ReceiptLine, stock_receive
from apps.stock.tasks import stock_replenishment_propose_task
from tests.stock.test_transfers import make_network, make_people, transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def net(db):
    return make_network()


@pytest.fixture
def people(net):
    return make_people(net)


def rule(net, store, product, low, high):
    return ReplenishmentRule.objects.create(location=net[store], product=net[product], min_qty=low, max_qty=high)


def proposals():
    return sorted(
        (t.source.code, t.destination.code, tuple((ln.product.sku, ln.quantity) for ln in t.lines.order_by("id")))
        for t in StockTransfer.objects.filter(proposed=True).select_related("source", "destination")
    )


def test_a_store_below_min_gets_one_proposal_per_source_up_to_max(net):
    # given: ST1 holds 2 kettles and no toasters; rules ask for 5..20 kettles and 3..10 toasters
    stock_receive(location=net["st1"], reference="o", lines=[ReceiptLine(net["kettle"], 2, Decimal("4"))])
    rule(net, "st1", "kettle", 5, 20)
    rule(net, "st1", "toaster", 3, 10)
    rule(net, "st2", "kettle", 0, 5)  # at its minimum already: nothing

    created = services.stock_replenishment_propose()

    assert [(t.status, t.proposed, t.requested_by_id) for t in created] == [("requested", True, None)]
    assert proposals() == [("WH1", "ST1", (("KET-1", 18), ("TOA-1", 10)))]


def test_in_transit_and_open_transfers_count_as_incoming(net, people):
    # given: 15 kettles already on their way to ST1 (min 5, max 20)
    rule(net, "st1", "kettle", 5, 20)
    t = transfer(net, people["ops"], [("kettle", 15)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["ops"])
    services.stock_transfer_dispatch(transfer_id=t.pk, actor=people["ops"])

    assert services.stock_replenishment_propose() == []


def test_a_second_run_does_not_duplicate_an_open_proposal(net):
    rule(net, "st1", "kettle", 5, 20)
    first = stock_replenishment_propose_task()
    second = stock_replenishment_propose_task()
    assert (first, second) == (1, 0)
    assert proposals() == [("WH1", "ST1", (("KET-1", 20),))]


def test_the_preferred_warehouse_with_stock_is_used_and_the_rest_comes_from_the_next(net):
    # given: WH1 (priority 1) has 100 toasters, WH2 (priority 2) 50; ST1 and ST2 each want up to 80
    stock_receive(location=net["wh2"], reference="o", lines=[ReceiptLine(net["toaster"], 50, Decimal("25"))])
    rule(net, "st1", "toaster", 10, 80)
    rule(net, "st2", "toaster", 10, 80)

    services.stock_replenishment_propose()

    assert proposals() == [
        ("WH1", "ST1", (("TOA-1", 80),)),
        ("WH1", "ST2", (("TOA-1", 20),)),
        ("WH2", "ST2", (("TOA-1", 50),)),
    ]


def test_once_the_warehouse_is_empty_nothing_more_is_proposed(net):
    product = net["kettle"]
    ReplenishmentRule.objects.create(location=net["st1"], product=product, min_qty=1, max_qty=500)
    services.stock_replenishment_propose()
    services.stock_transfer_proposals_accept(
        transfer_ids=list(StockTransfer.objects.values_list("pk", flat=True)), actor=None
    )
    # WH1 had 100: the proposal took all of it, and accepting reserved it
    assert proposals() == [("WH1", "ST1", (("KET-1", 100),))]
    assert services.stock_replenishment_propose() == []


def test_accepting_proposals_in_bulk_submits_each(net, people):
    rule(net, "st1", "kettle", 5, 20)
    rule(net, "st2", "kettle", 5, 20)
    ids = [t.pk for t in services.stock_replenishment_propose()]

    results = services.stock_transfer_proposals_accept(transfer_ids=ids, actor=people["manager"])

    assert [(r["ok"], r["status"]) for r in results] == [(True, "approved"), (True, "approved")]
    assert services.stock_verify_invariants() == []
