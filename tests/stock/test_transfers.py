"""Transfers between locations: every transition and guard, reservations, in transit, conservation, approval."""

from decimal import Decimal

import pytest

from apps.approvals import selectors as approval_selectors
from apps.approvals import services as approvals
from apps.approvals.models import ApprovalPolicy, ApprovalPolicyLevel, ApprovalRequest
from apps.core.errors import DomainError, InvalidTransition
from apps.core.models import Incident, OutboxEvent
from apps.stock import selectors, services
from apps.stock.models import (
    ReplenishmentRule,
    Reservation,
    StockLevel,
    StockMovement,
    StockTransfer,
    StockTransferHistory,
    StockTransferLine,
)
from apps.stock.services import ReceiptLine, TransferLineInput, stock_receive
from tests.approvals.helpers import person
from tests.factories import LocationFactory, ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


def ensure_transfer_policy():
    """The policy migration 0006 seeds; a transactional test's flush removes it."""
    if ApprovalPolicy.objects.filter(subject_type="stock.transfer").exists():
        return
    policy = ApprovalPolicy.objects.create(
        name="Stock transfers above value or below minimum", subject_type="stock.transfer", metric="risk_score"
    )
    ApprovalPolicyLevel.objects.create(
        policy=policy, level=1, threshold=Decimal("0"), permission="stock.approve_transfer", sla_hours=24
    )


def make_network():
    """Two warehouses and two stores. WH1 holds 100 kettles (4.00) and 100 toasters (25.00)."""
    ensure_transfer_policy()
    wh1 = LocationFactory(code="WH1", priority=1)
    wh2 = LocationFactory(code="WH2", priority=2)
    st1 = StoreFactory(code="ST1")
    st2 = StoreFactory(code="ST2")
    kettle = ProductFactory(sku="KET-1", name="Kettle", cost=Decimal("4.00"))
    toaster = ProductFactory(sku="TOA-1", name="Toaster", cost=Decimal("25.00"))
    stock_receive(
        location=wh1,
        reference="opening",
        lines=[
            ReceiptLine(product=kettle, quantity=100, unit_cost=Decimal("4.00")),
            ReceiptLine(product=toaster, quantity=100, unit_cost=Decimal("25.00")),
        ],
    )
    return {"wh1": wh1, "wh2": wh2, "st1": st1, "st2": st2, "kettle": kettle, "toaster": toaster}


def make_people(net):
    return {
        "manager": person("sam", "store_manager", locations=[net["st1"]]),
        "approver": person("ava", "approver"),
        "ops": person("olga", "ops_admin"),
    }


@pytest.fixture
def net(db):
    return make_network()


@pytest.fixture
def people(net):
    return make_people(net)


def level(product, location):
    row = StockLevel.objects.filter(product=product, location=location).first()
    return (row.on_hand, row.reserved) if row else (0, 0)


def in_transit(product, location):
    return selectors.stock_in_transit_quantities(location_ids=[location.pk]).get((location.pk, product.pk), 0)


def total(product, source, destination):
    """Stock of a product in the source, on the way, and at the destination: never changes."""
    return level(product, source)[0] + in_transit(product, destination) + level(product, destination)[0]


def transfer(net, user, lines, source="wh1", destination="st1", note=""):
    return services.stock_transfer_create(
        source=net[source],
        destination=net[destination],
        lines=[TransferLineInput(product=net[p], quantity=q) for p, q in lines],
        requested_by=user,
        note=note,
    )


def history(t):
    return list(
        StockTransferHistory.objects.filter(transfer=t).order_by("at", "id").values_list("from_status", "to_status")
    )


def events(t):
    return list(
        OutboxEvent.objects.filter(aggregate_type="stock.transfer", aggregate_id=str(t.pk))
        .order_by("id")
        .values_list("name", flat=True)
    )


def written():
    return {
        "transfers": list(StockTransfer.objects.order_by("pk").values_list("pk", "status")),
        "lines": list(StockTransferLine.objects.order_by("pk").values_list("pk", "dispatched", "received")),
        "history": StockTransferHistory.objects.count(),
        "movements": StockMovement.objects.count(),
        "levels": list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
        "reservations": list(Reservation.objects.order_by("pk").values_list("pk", "status")),
        "outbox": OutboxEvent.objects.count(),
        "requests": ApprovalRequest.objects.count(),
        "incidents": Incident.objects.count(),
    }


def test_full_flow_conserves_stock_and_writes_history_and_events(net, people):
    # given: 10 kettles requested from WH1 to ST1 (40.00: no approval needed)
    before = total(net["kettle"], net["wh1"], net["st1"])
    t = transfer(net, people["manager"], [("kettle", 10)])
    assert (t.status, t.value, t.proposed) == ("requested", Decimal("40.00"), False)

    # when approved: reserved at the source
    t = services.stock_transfer_submit(transfer_id=t.pk, actor=people["manager"])
    assert t.status == "approved"
    assert level(net["kettle"], net["wh1"]) == (100, 10)
    assert total(net["kettle"], net["wh1"], net["st1"]) == before

    # picking: nothing moves
    t = services.stock_transfer_pick(transfer_id=t.pk, actor=people["ops"])
    assert t.status == "picking"

    # dispatched: on_hand and reserved fall together, 10 in transit to ST1
    t = services.stock_transfer_dispatch(transfer_id=t.pk, actor=people["ops"])
    assert t.status == "in_transit"
    assert level(net["kettle"], net["wh1"]) == (90, 0)
    assert in_transit(net["kettle"], net["st1"]) == 10
    assert total(net["kettle"], net["wh1"], net["st1"]) == before
    assert StockMovement.objects.filter(kind="transfer_out").values_list("quantity", "location__code").get() == (
        -10,
        "WH1",
    )

    # received: TRANSFER_IN at ST1, transit cleared
    t = services.stock_transfer_receive(transfer_id=t.pk, actor=people["manager"])
    assert t.status == "received"
    assert level(net["kettle"], net["st1"]) == (10, 0)
    assert in_transit(net["kettle"], net["st1"]) == 0
    assert total(net["kettle"], net["wh1"], net["st1"]) == before
    assert StockMovement.objects.filter(kind="transfer_in").values_list("quantity", "location__code").get() == (
        10,
        "ST1",
    )
    assert history(t) == [
        ("", "requested"),
        ("requested", "approved"),
        ("approved", "picking"),
        ("picking", "in_transit"),
        ("in_transit", "received"),
    ]
    assert events(t) == [
        "stock.transfer.requested",
        "stock.transfer.approved",
        "stock.transfer.picking_started",
        "stock.transfer.dispatched",
        "stock.transfer.received",
    ]
    assert Incident.objects.count() == 0
    assert OutboxEvent.objects.filter(name="stock.movements.posted", payload__kind="transfer_in").count() == 1
    assert services.stock_verify_invariants() == []


def test_dispatch_straight_from_approved(net, people):
    t = transfer(net, people["ops"], [("kettle", 5), ("toaster", 2)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["ops"])
    t = services.stock_transfer_dispatch(transfer_id=t.pk, actor=people["ops"])
    assert t.status == "in_transit"
    assert (level(net["kettle"], net["wh1"]), level(net["toaster"], net["wh1"])) == ((95, 0), (98, 0))
    assert list(t.lines.order_by("id").values_list("dispatched", "received")) == [(5, 0), (2, 0)]
    assert services.stock_verify_invariants() == []


def test_short_receipt_raises_exactly_one_incident_with_the_figures(net, people):
    # given: 10 kettles and 4 toasters in transit
    before = {p: total(net[p], net["wh1"], net["st1"]) for p in ("kettle", "toaster")}
    t = transfer(net, people["ops"], [("kettle", 10), ("toaster", 4)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["ops"])
    services.stock_transfer_dispatch(transfer_id=t.pk, actor=people["ops"])

    # when: ST1 receives 7 kettles and all 4 toasters
    t = services.stock_transfer_receive(transfer_id=t.pk, actor=people["manager"], received={net["kettle"].pk: 7})

    # then: 7 + 4 arrive, transit clears, the 3 missing kettles are one incident
    assert t.status == "received"
    assert (level(net["kettle"], net["st1"]), level(net["toaster"], net["st1"])) == ((7, 0), (4, 0))
    incident = Incident.objects.get()
    assert (incident.kind, incident.location_id) == ("stock.transfer_discrepancy", net["st1"].pk)
    assert incident.details == {
        "transfer": t.number,
        "lines": [{"sku": "KET-1", "dispatched": 10, "received": 7, "difference": -3}],
    }
    # conservation: what is missing is exactly what the incident records
    assert total(net["kettle"], net["wh1"], net["st1"]) == before["kettle"] - 3
    assert total(net["toaster"], net["wh1"], net["st1"]) == before["toaster"]
    assert services.stock_verify_invariants() == []


def test_approving_with_a_shortfall_is_refused_and_writes_nothing(net, people):
    # given: 50 of WH1's 100 toasters are reserved for ST2; ST1 asks for 60 kettles and 70 toasters (1,990.00)
    other = transfer(net, people["ops"], [("toaster", 50)], destination="st2")
    services.stock_transfer_submit(transfer_id=other.pk, actor=people["ops"])
    t = transfer(net, people["ops"], [("kettle", 60), ("toaster", 70)], destination="st1")
    ensure = written()

    with pytest.raises(DomainError) as error:
        services.stock_transfer_submit(transfer_id=t.pk, actor=people["ops"])

    assert error.value.code == "insufficient_stock"
    assert error.value.extra["shortfalls"] == [{"sku": "TOA-1", "requested": 70, "available": 50}]
    assert written() == ensure
    assert services.stock_verify_invariants() == []


def test_cancel_before_dispatch_releases_the_reservation(net, people):
    t = transfer(net, people["ops"], [("kettle", 10)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["ops"])
    services.stock_transfer_pick(transfer_id=t.pk, actor=people["ops"])
    assert level(net["kettle"], net["wh1"]) == (100, 10)

    t = services.stock_transfer_cancel(transfer_id=t.pk, actor=people["ops"], reason="store closed")

    assert t.status == "cancelled"
    assert level(net["kettle"], net["wh1"]) == (100, 0)
    assert list(Reservation.objects.values_list("status", flat=True)) == ["released"]
    assert history(t)[-1] == ("picking", "cancelled")
    assert events(t)[-1] == "stock.transfer.cancelled"
    assert services.stock_verify_invariants() == []


def test_cancel_a_requested_transfer(net, people):
    t = transfer(net, people["manager"], [("kettle", 1)])
    t = services.stock_transfer_cancel(transfer_id=t.pk, actor=people["manager"])
    assert t.status == "cancelled"


@pytest.mark.parametrize(
    "steps, action",
    [
        pytest.param([], "dispatch", id="dispatch-requested"),
        pytest.param([], "receive", id="receive-requested"),
        pytest.param([], "pick", id="pick-requested"),
        pytest.param(["submit"], "submit", id="submit-twice"),
        pytest.param(["submit"], "receive", id="receive-approved"),
        pytest.param(["submit", "dispatch"], "cancel", id="cancel-in-transit"),
        pytest.param(["submit", "dispatch"], "dispatch", id="dispatch-twice"),
        pytest.param(["submit", "dispatch", "receive"], "receive", id="receive-twice"),
        pytest.param(["submit", "dispatch", "receive"], "cancel", id="cancel-received"),
        pytest.param(["cancel"], "submit", id="submit-cancelled"),
        pytest.param(["cancel"], "cancel", id="cancel-twice"),
    ],
)
def test_transitions_not_allowed_from_the_current_status_write_nothing(net, people, steps, action):
    t = transfer(net, people["ops"], [("kettle", 3)])
    calls = {
        "submit": services.stock_transfer_submit,
        "pick": services.stock_transfer_pick,
        "dispatch": services.stock_transfer_dispatch,
        "receive": services.stock_transfer_receive,
        "cancel": services.stock_transfer_cancel,
    }
    for step in steps:
        calls[step](transfer_id=t.pk, actor=people["ops"])
    before = written()

    with pytest.raises(InvalidTransition):
        calls[action](transfer_id=t.pk, actor=people["ops"])

    assert written() == before


@pytest.mark.parametrize(
    "received, code",
    [
        pytest.param({"kettle": 11}, "invalid_quantity", id="more-than-dispatched"),
        pytest.param({"kettle": -1}, "invalid_quantity", id="negative"),
        pytest.param({"toaster": 1}, "unknown_line", id="not-on-transfer"),
    ],
)
def test_receive_refuses_bad_quantities_and_writes_nothing(net, people, received, code):
    t = transfer(net, people["ops"], [("kettle", 10)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["ops"])
    services.stock_transfer_dispatch(transfer_id=t.pk, actor=people["ops"])
    before = written()

    with pytest.raises(DomainError) as error:
        services.stock_transfer_receive(
            transfer_id=t.pk, actor=people["ops"], received={net[p].pk: q for p, q in received.items()}
        )

    assert (error.value.code, error.value.status_code) == (code, 400)
    assert written() == before


@pytest.mark.parametrize(
    "lines, destination, code",
    [
        pytest.param([], "st1", "empty_transfer", id="no-lines"),
        pytest.param([("kettle", 1), ("kettle", 2)], "st1", "duplicate_line", id="duplicate"),
        pytest.param([("kettle", 0)], "st1", "invalid_quantity", id="zero"),
        pytest.param([("kettle", 1)], "wh1", "same_location", id="same-location"),
    ],
)
def test_create_refuses_bad_requests_and_writes_nothing(net, people, lines, destination, code):
    before = written()
    with pytest.raises(DomainError) as error:
        transfer(net, people["ops"], lines, destination=destination)
    assert error.value.code == code
    assert written() == before


def open_task(t):
    request = ApprovalRequest.objects.get(subject_type="stock.transfer", subject_id=str(t.pk))
    return approval_selectors.approval_request_open_task(request=request)


def test_above_the_value_threshold_waits_for_approval_then_reserves(net, people, settings):
    # given: 90 toasters (2,250.00 > 2,000.00)
    settings.TRANSFER_APPROVAL_VALUE = Decimal("2000.00")
    t = transfer(net, people["manager"], [("toaster", 90)])
    t = services.stock_transfer_submit(transfer_id=t.pk, actor=people["manager"])
    assert (t.status, t.approval_levels) == ("pending_approval", 1)
    assert level(net["toaster"], net["wh1"]) == (100, 0)
    task = open_task(t)
    assert task.owner_permission == "stock.approve_transfer"

    # when: the approver approves
    approvals.approval_task_claim(task_id=task.pk, user=people["approver"])
    approvals.approval_task_approve(task_id=task.pk, user=people["approver"], comment="ok")

    # then: approved and reserved in the same transaction
    t.refresh_from_db()
    assert t.status == "approved"
    assert level(net["toaster"], net["wh1"]) == (100, 90)
    assert history(t) == [("", "requested"), ("requested", "pending_approval"), ("pending_approval", "approved")]
    assert events(t) == ["stock.transfer.requested", "stock.transfer.submitted", "stock.transfer.approved"]
    assert services.stock_verify_invariants() == []


def test_a_rejected_transfer_ends_cancelled_without_reserving(net, people):
    t = transfer(net, people["manager"], [("toaster", 90)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["manager"])
    task = open_task(t)
    approvals.approval_task_claim(task_id=task.pk, user=people["approver"])
    approvals.approval_task_reject(task_id=task.pk, user=people["approver"], comment="too many")

    t.refresh_from_db()
    assert t.status == "cancelled"
    assert level(net["toaster"], net["wh1"]) == (100, 0)
    assert events(t)[-1] == "stock.transfer.rejected"


def test_a_pending_transfer_cannot_be_cancelled_outside_the_inbox(net, people):
    t = transfer(net, people["manager"], [("toaster", 90)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["manager"])
    with pytest.raises(InvalidTransition):
        services.stock_transfer_cancel(transfer_id=t.pk, actor=people["manager"])


def test_the_requester_withdraws_a_pending_transfer_and_may_then_cancel_it(net, people):
    t = transfer(net, people["manager"], [("toaster", 90)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["manager"])

    t = services.stock_transfer_withdraw(transfer_id=t.pk, actor=people["manager"], reason="wrong store")

    assert (t.status, t.approval_levels) == ("requested", 0)
    assert level(net["toaster"], net["wh1"]) == (100, 0)
    assert history(t)[-1] == ("pending_approval", "requested")
    assert events(t)[-1] == "stock.transfer.withdrawn"
    assert ApprovalRequest.objects.get(subject_type="stock.transfer", subject_id=str(t.pk)).outcome == "withdrawn"
    assert services.stock_transfer_cancel(transfer_id=t.pk, actor=people["manager"]).status == "cancelled"


def test_an_approver_may_not_withdraw_someone_elses_transfer(net, people):
    t = transfer(net, people["manager"], [("toaster", 90)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["manager"])

    with pytest.raises(DomainError) as refused:
        services.stock_transfer_withdraw(transfer_id=t.pk, actor=people["approver"])

    assert refused.value.code == "permission_denied"
    assert StockTransfer.objects.get(pk=t.pk).status == "pending_approval"


def test_taking_the_source_below_its_minimum_needs_approval(net, people):
    # given: WH1 should keep at least 95 kettles; 10 kettles (40.00) would leave 90
    ReplenishmentRule.objects.create(location=net["wh1"], product=net["kettle"], min_qty=95, max_qty=200)
    t = transfer(net, people["manager"], [("kettle", 10)])

    t = services.stock_transfer_submit(transfer_id=t.pk, actor=people["manager"])

    assert t.status == "pending_approval"
    assert "below 95" in StockTransferHistory.objects.filter(transfer=t).last().reason
    assert level(net["kettle"], net["wh1"]) == (100, 0)


def test_an_approval_that_meets_a_shortfall_is_undone(net, people):
    # given: 90 toasters wait for approval, meanwhile 20 toasters leave WH1 on another transfer
    t = transfer(net, people["manager"], [("toaster", 90)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["manager"])
    small = transfer(net, people["ops"], [("toaster", 20)], destination="st2")
    services.stock_transfer_submit(transfer_id=small.pk, actor=people["ops"])
    task = open_task(t)
    approvals.approval_task_claim(task_id=task.pk, user=people["approver"])
    before = written()

    with pytest.raises(DomainError) as error:
        approvals.approval_task_approve(task_id=task.pk, user=people["approver"], comment="ok")

    assert error.value.code == "insufficient_stock"
    assert written() == before
    t.refresh_from_db()
    assert t.status == "pending_approval"


def test_levels_selector_shows_in_transit_to_the_destination(net, people):
    t = transfer(net, people["ops"], [("kettle", 10)])
    services.stock_transfer_submit(transfer_id=t.pk, actor=people["ops"])
    services.stock_transfer_dispatch(transfer_id=t.pk, actor=people["ops"])
    stock_receive(
        location=net["st1"], reference="x", lines=[ReceiptLine(product=net["kettle"], quantity=1, unit_cost=1)]
    )

    rows = {r.location.code: r.in_transit_qty for r in selectors.stock_level_list(sku="KET-1")}

    assert rows == {"WH1": 0, "ST1": 10}
