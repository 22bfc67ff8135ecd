"""Returns through the services: quantities, scorecard and review, dispositions, refunds and their approval."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.approvals import selectors as approval_selectors
from apps.approvals import services as approvals
from apps.approvals.models import ApprovalRequest
from apps.core.errors import DomainError, InvalidTransition
from apps.core.models import OutboxEvent
from apps.orders import services as order_services
from apps.orders.handlers import allocate_backorders_on_stock_arrival
from apps.orders.models import Order, OrderHistory
from apps.orders.states import OrderStatus
from apps.returns import services
from apps.returns.models import Return, ReturnHistory
from apps.returns.states import Band, RefundApproval, ReturnStatus
from apps.stock.models import StockLevel, StockMovement
from apps.stock.services import stock_verify_invariants
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import order_input
from tests.returns.helpers import counts, il, return_events, rl, shipped_order

pytestmark = pytest.mark.django_db
S = ReturnStatus


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk", is_staff=True, is_superuser=True)


@pytest.fixture
def boss(db):
    return UserFactory(username="boss", is_staff=True, is_superuser=True)


@pytest.fixture
def order(warehouse, product, receive):
    receive(warehouse, product, 10)
    return shipped_order([(product, 3)])


def create(order, *pairs, clerk=None, channel="store", reason="damaged"):
    return services.return_create(order_id=order.pk, channel=channel, reason=reason, lines=rl(*pairs), actor=clerk)


def on_hand(location, product) -> int:
    level = StockLevel.objects.filter(location=location, product=product).first()
    return level.on_hand if level else 0


# --- quantities --------------------------------------------------------------------------------------
def test_partial_and_repeated_returns_never_exceed_shipped(order, clerk):
    first = create(order, ("SKU-A", 1), clerk=clerk)
    second = create(order, ("SKU-A", 2), clerk=clerk)
    assert (first.status, second.status) == (S.AUTHORIZED, S.AUTHORIZED)
    before = counts()
    with pytest.raises(DomainError) as err:
        create(order, ("SKU-A", 1), clerk=clerk)
    assert err.value.code == "over_return"
    assert err.value.extra == {"lines": [{"sku": "SKU-A", "requested": 1, "returnable": 0}]}
    assert counts() == before  # nothing written


def test_over_return_in_one_request_is_refused_and_writes_nothing(order, clerk):
    before = counts()
    with pytest.raises(DomainError) as err:
        create(order, ("SKU-A", 2), ("SKU-A", 2), clerk=clerk)  # duplicate lines add up
    assert err.value.code == "over_return"
    assert counts() == before


def test_a_rejected_return_frees_its_quantities(order, clerk, boss):
    held = create(order, ("SKU-A", 3), clerk=clerk, channel="marketplace")
    Return.objects.filter(pk=held.pk).update(status=S.PENDING_REVIEW)  # as if the scorecard held it
    services.return_reject(return_id=held.pk, actor=boss, comment="photos show wear")
    again = create(order, ("SKU-A", 3), clerk=clerk)
    assert again.lines.get().quantity == 3


@pytest.mark.parametrize(
    "status", [OrderStatus.ALLOCATED, OrderStatus.CANCELLED, OrderStatus.PICKING], ids=lambda s: str(s)
)
def test_orders_not_handed_over_cannot_be_returned(warehouse, product, receive, clerk, status):
    receive(warehouse, product, 5)
    order, _ = order_services.order_create(data=order_input([(product, 1)]))
    Order.objects.filter(pk=order.pk).update(status=status)
    with pytest.raises(DomainError) as err:
        create(order, ("SKU-A", 1), clerk=clerk)
    assert err.value.code == "order_not_returnable"
    assert Return.objects.count() == 0


def test_a_sku_not_on_the_order_is_refused(order, clerk):
    ProductFactory(sku="SKU-B")
    with pytest.raises(DomainError) as err:
        create(order, ("SKU-B", 1), clerk=clerk)
    assert err.value.code == "not_on_order"


# --- scorecard and review ----------------------------------------------------------------------------
def test_a_low_risk_return_is_auto_authorized_with_reasons_and_history(order, clerk):
    ret = create(order, ("SKU-A", 1), clerk=clerk)
    assert (ret.risk_version, ret.risk_band, ret.risk_score) == ("v1", Band.AUTO_AUTHORIZE, 0)
    assert [r["feature"] for r in ret.risk_reasons] == [
        "return_rate",
        "order_value",
        "days_since_handover",
        "channel",
        "repeat_sku",
    ]
    assert ret.risk_inputs["customer_email"] == "ann.lee@example.com"
    assert list(ReturnHistory.objects.filter(ret=ret).values_list("from_status", "to_status")) == [
        ("", "requested"),
        ("requested", "authorized"),
    ]
    assert return_events(ret) == ["returns.return.requested", "returns.return.authorized"]


def test_outside_the_return_window_a_return_is_held_for_review(order, clerk):
    OrderHistory.objects.filter(order=order).update(at=timezone.now() - timedelta(days=45))
    ret = create(order, ("SKU-A", 1), clerk=clerk)
    assert ret.status == S.PENDING_REVIEW
    assert ret.risk_band == Band.REVIEW
    window = [r for r in ret.risk_reasons if r["feature"] == "days_since_handover"][0]
    assert window == {
        "feature": "days_since_handover",
        "value": 45,
        "points": 30,
        "why": "outside the 30-day return window",
    }


def test_a_serial_returner_of_the_same_sku_is_suggested_for_rejection(warehouse, product, receive, clerk):
    receive(warehouse, product, 20)
    orders = [shipped_order([(product, 1)], external_id=f"E{i}") for i in range(3)]
    create(orders[0], ("SKU-A", 1), clerk=clerk, channel="marketplace")
    create(orders[1], ("SKU-A", 1), clerk=clerk, channel="marketplace")
    ret = create(orders[2], ("SKU-A", 1), clerk=clerk, channel="marketplace")
    by_feature = {r["feature"]: r for r in ret.risk_reasons}
    assert by_feature["return_rate"]["value"] == 0.67 and by_feature["return_rate"]["points"] == 35
    assert by_feature["repeat_sku"]["points"] == 40
    assert ret.risk_band == Band.SUGGEST_REJECT
    assert ret.status == S.PENDING_REVIEW


def test_a_reviewer_overrides_the_band_and_the_decision_is_audited(order, clerk, boss):
    OrderHistory.objects.filter(order=order).update(at=timezone.now() - timedelta(days=45))
    ret = create(order, ("SKU-A", 1), clerk=clerk)
    ret = services.return_authorize(return_id=ret.pk, actor=boss, comment="long-standing customer")
    assert ret.status == S.AUTHORIZED
    assert (ret.decision, ret.decided_by, ret.decision_comment) == ("authorize", boss, "long-standing customer")
    last = ReturnHistory.objects.filter(ret=ret).order_by("id").last()
    assert (last.from_status, last.to_status, last.actor) == ("pending_review", "authorized", boss)
    assert "long-standing customer" in last.reason
    with pytest.raises(InvalidTransition):
        services.return_reject(return_id=ret.pk, actor=boss, comment="too late")


def test_a_review_decision_needs_a_comment(order, clerk, boss):
    ret = create(order, ("SKU-A", 1), clerk=clerk)
    Return.objects.filter(pk=ret.pk).update(status=S.PENDING_REVIEW)
    with pytest.raises(DomainError) as err:
        services.return_reject(return_id=ret.pk, actor=boss, comment=" ")
    assert err.value.code == "comment_required"
    assert Return.objects.get(pk=ret.pk).status == S.PENDING_REVIEW


# --- receipt and dispositions --------------------------------------------------------------------------
def received(order, store, clerk, quantity=3, reason="damaged"):
    ret = create(order, ("SKU-A", quantity), clerk=clerk, reason=reason)
    return services.return_receive(return_id=ret.pk, location=store, actor=clerk)


@pytest.mark.parametrize(
    "disposition, on_hand_after, kinds",
    [
        ("restock", 3, [("return", 3)]),
        ("refurbish", 0, []),
        ("write_off", 0, [("return", 3), ("write_off", -3)]),
        ("return_to_vendor", 0, [("return", 3), ("return_to_vendor", -3)]),
    ],
)
def test_each_disposition_has_its_stock_effect_and_keeps_the_ledger(
    order, store, product, clerk, disposition, on_hand_after, kinds
):
    ret = received(order, store, clerk)
    assert StockMovement.objects.filter(location=store).count() == 0  # receipt alone moves nothing
    services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 3, disposition)), actor=clerk)
    assert on_hand(store, product) == on_hand_after
    assert list(StockMovement.objects.filter(location=store).order_by("id").values_list("kind", "quantity")) == kinds
    assert stock_verify_invariants() == []
    ret.refresh_from_db()
    assert ret.status == S.REFUND_PENDING
    assert ret.lines.get().inspections.get().disposition == disposition


def test_mixed_dispositions_per_line(order, store, product, clerk):
    ret = received(order, store, clerk)
    services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 2, "restock"), ("SKU-A", 1, "write_off")), actor=clerk)
    assert on_hand(store, product) == 2
    assert stock_verify_invariants() == []


def test_every_unit_must_be_inspected_exactly_once(order, store, clerk):
    ret = received(order, store, clerk)
    before = counts()
    with pytest.raises(DomainError) as err:
        services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 2, "restock")), actor=clerk)
    assert err.value.code == "inspection_mismatch"
    assert counts() == before
    assert Return.objects.get(pk=ret.pk).status == S.RECEIVED


def test_restocked_returns_let_a_waiting_backorder_allocate(warehouse, store, product, receive, clerk):
    receive(warehouse, product, 3)
    sold = shipped_order([(product, 3)])  # nothing left anywhere
    waiting, _ = order_services.order_create(data=order_input([(product, 2)], external_id="LATE"))
    assert waiting.status == OrderStatus.BACKORDERED
    ret = received(sold, store, clerk)
    services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 3, "restock")), actor=clerk)
    event = OutboxEvent.objects.filter(name="stock.movements.posted").order_by("id").last()
    assert event.payload["increased_product_ids"] == [product.pk]
    allocate_backorders_on_stock_arrival(event)  # what the outbox relay runs after commit
    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.ALLOCATED
    level = StockLevel.objects.get(location=store, product=product)
    assert (level.on_hand, level.reserved) == (3, 2)
    assert stock_verify_invariants() == []


def test_receiving_twice_is_refused(order, store, clerk):
    ret = received(order, store, clerk)
    with pytest.raises(InvalidTransition):
        services.return_receive(return_id=ret.pk, location=store, actor=clerk)


# --- refunds --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reason, payment_amount, goods, fee, shipping, amount",
    [
        ("damaged", "35.00", "30.00", "0.00", "5.00", "35.00"),
        ("wrong_item", None, "30.00", "0.00", "0.00", "30.00"),
        ("changed_mind", "35.00", "30.00", "3.00", "0.00", "27.00"),
        ("not_as_described", "35.00", "30.00", "0.00", "0.00", "30.00"),
    ],
    ids=["damaged-refunds-shipping", "no-shipping-paid", "changed-mind-fee", "no-fee-no-shipping"],
)
def test_refund_amount_rules(order, store, clerk, reason, payment_amount, goods, fee, shipping, amount):
    Order.objects.filter(pk=order.pk).update(payment_amount=payment_amount)
    ret = received(order, store, clerk, reason=reason)
    ret = services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 3, "restock")), actor=clerk)
    assert (ret.refund_goods, ret.restocking_fee, ret.refund_shipping, ret.refund_amount) == (
        Decimal(goods),
        Decimal(fee),
        Decimal(shipping),
        Decimal(amount),
    )


def test_shipping_is_refunded_once_per_order(order, store, clerk):
    Order.objects.filter(pk=order.pk).update(payment_amount="35.00")
    first = received(order, store, clerk, quantity=1)
    first = services.return_inspect(return_id=first.pk, lines=il(("SKU-A", 1, "restock")), actor=clerk)
    second = received(order, store, clerk, quantity=2)
    second = services.return_inspect(return_id=second.pk, lines=il(("SKU-A", 2, "restock")), actor=clerk)
    assert (first.refund_shipping, second.refund_shipping) == (Decimal("5.00"), Decimal("0.00"))


@override_settings(RETURN_RESTOCKING_FEE_PCT={"changed_mind": 25})
def test_the_restocking_fee_is_configurable_per_reason(order, store, clerk):
    ret = received(order, store, clerk, reason="changed_mind")
    ret = services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 3, "restock")), actor=clerk)
    assert (ret.restocking_fee, ret.refund_amount) == (Decimal("7.50"), Decimal("22.50"))


def test_a_small_refund_of_an_auto_authorized_return_needs_no_approval(order, store, clerk):
    ret = received(order, store, clerk)
    ret = services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 3, "restock")), actor=clerk)
    assert (ret.status, ret.refund_approval) == (S.REFUND_PENDING, RefundApproval.NOT_REQUIRED)
    event = OutboxEvent.objects.get(name="returns.refund.approved")
    assert event.payload["amount"] == "30.00"
    assert event.payload["currency"] == "USD"
    assert event.payload["payment_reference"] == "ch_EXT-1"
    assert event.payload["order_id"] == order.pk
    assert ApprovalRequest.objects.count() == 0


@pytest.fixture
def big_order(warehouse, product, receive):
    receive(warehouse, product, 10)
    return shipped_order([(product, 3)], unit_price="100.00")


def open_task(ret):
    request = ApprovalRequest.objects.get(subject_type="returns.refund", subject_id=str(ret.pk))
    return approval_selectors.approval_request_open_task(request=request)


def decide(ret, user, *, approve, comment="ok"):
    task = open_task(ret)
    approvals.approval_task_claim(task_id=task.pk, user=user)
    if approve:
        return approvals.approval_task_approve(task_id=task.pk, user=user, comment=comment)
    return approvals.approval_task_reject(task_id=task.pk, user=user, comment=comment)


def test_a_refund_above_the_threshold_waits_for_approval_then_goes_out(big_order, store, clerk, boss):
    ret = received(big_order, store, clerk)
    ret = services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 3, "restock")), actor=clerk)
    assert (ret.status, ret.refund_approval, ret.refund_amount) == (
        S.INSPECTED,
        RefundApproval.PENDING,
        Decimal("300.00"),
    )
    assert not OutboxEvent.objects.filter(name="returns.refund.approved").exists()
    decide(ret, boss, approve=True)
    ret.refresh_from_db()
    assert (ret.status, ret.refund_approval) == (S.REFUND_PENDING, RefundApproval.APPROVED)
    event = OutboxEvent.objects.get(name="returns.refund.approved")
    assert event.payload["amount"] == "300.00"
    ret = services.return_confirm_refund(return_id=ret.pk, payment_reference="re_123", actor=boss)
    assert (ret.status, ret.refund_payment_reference) == (S.REFUNDED, "re_123")
    ret = services.return_close(return_id=ret.pk, actor=boss)
    assert ret.status == S.CLOSED


def test_a_rejected_refund_emits_nothing_and_the_return_can_be_closed(big_order, store, clerk, boss):
    ret = received(big_order, store, clerk)
    services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 3, "restock")), actor=clerk)
    decide(ret, boss, approve=False, comment="customer damaged it")
    ret.refresh_from_db()
    assert (ret.status, ret.refund_approval) == (S.INSPECTED, RefundApproval.REJECTED)
    assert not OutboxEvent.objects.filter(name="returns.refund.approved").exists()
    with pytest.raises(InvalidTransition):
        services.return_confirm_refund(return_id=ret.pk, payment_reference="re_1", actor=boss)
    assert services.return_close(return_id=ret.pk, actor=boss).status == S.CLOSED


def test_a_small_refund_of_a_reviewed_return_needs_approval(order, store, clerk, boss):
    OrderHistory.objects.filter(order=order).update(at=timezone.now() - timedelta(days=45))
    ret = create(order, ("SKU-A", 1), clerk=clerk)
    services.return_authorize(return_id=ret.pk, actor=boss, comment="fine")
    services.return_receive(return_id=ret.pk, location=store, actor=clerk)
    ret = services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 1, "restock")), actor=clerk)
    assert (ret.status, ret.refund_approval, ret.refund_amount) == (
        S.INSPECTED,
        RefundApproval.PENDING,
        Decimal("10.00"),
    )
    request = ApprovalRequest.objects.get(subject_type="returns.refund", subject_id=str(ret.pk))
    assert request.levels == 1
    assert request.level_rules[0]["permission"] == "returns.approve_refund"


def test_confirming_a_refund_needs_a_reference_and_the_right_status(order, store, clerk):
    ret = received(order, store, clerk)
    with pytest.raises(InvalidTransition):
        services.return_confirm_refund(return_id=ret.pk, payment_reference="re_1", actor=clerk)
    services.return_inspect(return_id=ret.pk, lines=il(("SKU-A", 3, "restock")), actor=clerk)
    with pytest.raises(DomainError) as err:
        services.return_confirm_refund(return_id=ret.pk, payment_reference="  ", actor=clerk)
    assert err.value.code == "payment_reference_required"
    assert Return.objects.get(pk=ret.pk).status == S.REFUND_PENDING
    assert return_events(ret)[-1] == "returns.refund.approved"
