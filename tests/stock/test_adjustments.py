"""Stock adjustments and cycle counts through the approval policy: bands, outcomes, refusals, counts."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from apps.approvals import selectors as approval_selectors
from apps.approvals import services as approvals
from apps.approvals.models import ApprovalEvent, ApprovalRequest, ApprovalTask
from apps.core.errors import DomainError
from apps.core.models import OutboxEvent
from apps.orders import services as order_services
from apps.stock import services
from apps.stock.models import CycleCountLine, StockAdjustment, StockAdjustmentHistory, StockMovement
from tests.approvals.helpers import adjust, make_shop, make_staff, on_hand, written
from tests.orders.helpers import order_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    return make_shop()


@pytest.fixture
def staff(shop):
    return make_staff(shop)


def history(adjustment):
    return list(
        StockAdjustmentHistory.objects.filter(adjustment=adjustment)
        .order_by("at", "id")
        .values_list("from_status", "to_status", "actor__username")
    )


def adjustment_events(adjustment):
    return list(
        OutboxEvent.objects.filter(aggregate_type="stock.adjustment", aggregate_id=str(adjustment.pk))
        .order_by("id")
        .values_list("name", flat=True)
    )


def open_task(adjustment):
    request = ApprovalRequest.objects.get(subject_type="stock.adjustment", subject_id=str(adjustment.pk))
    return approval_selectors.approval_request_open_task(request=request)


def reserve_990_kettles(shop):
    order_services.order_create(
        data=order_input([(shop["kettle"], 990)], method="pickup", pickup=shop["store"], unit_price="1.00")
    )


def claim_and_approve(task, user, comment="ok"):
    approvals.approval_task_claim(task_id=task.pk, user=user)
    return approvals.approval_task_approve(task_id=task.pk, user=user, comment=comment)


# --- policy bands ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "delta", [-125, 125], ids=["500.00 exactly, a loss (the threshold itself needs no approval)", "500.00 found"]
)
def test_up_to_500_posts_at_once_with_movements_and_no_approval(shop, staff, delta):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], delta)])

    assert (adjustment.status, adjustment.value, adjustment.approval_levels) == ("posted", Decimal("500.00"), 0)
    assert on_hand(shop["kettle"], shop["store"]) == 1000 + delta
    movement = StockMovement.objects.filter(kind="adjustment").get()
    assert (movement.quantity, movement.balance_after, movement.reference, movement.actor) == (
        delta,
        1000 + delta,
        f"{adjustment.number} damage",
        staff["manager"],
    )
    assert history(adjustment) == [("", "draft", "sam"), ("draft", "posted", "sam")]
    assert adjustment_events(adjustment) == ["stock.adjustment.submitted", "stock.adjustment.posted"]
    assert ApprovalRequest.objects.count() == 0


def test_value_is_the_sum_of_absolute_deltas_times_cost(shop, staff):
    # 10 kettles lost (40.00) and 4 toasters found (100.00): 140.00, although the net is -6 units
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -10), (shop["toaster"], 4)])
    assert adjustment.value == Decimal("140.00")
    assert (on_hand(shop["kettle"], shop["store"]), on_hand(shop["toaster"], shop["store"])) == (990, 1004)


def test_above_500_waits_for_one_level_then_posts_when_approved(shop, staff):
    # given: 200 kettles damaged (800.00)
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)], note="water leak")
    assert (adjustment.status, adjustment.approval_levels) == ("pending_approval", 1)
    assert on_hand(shop["kettle"], shop["store"]) == 1000
    assert StockMovement.objects.filter(kind="adjustment").count() == 0
    request = ApprovalRequest.objects.get()
    task = open_task(adjustment)
    assert (request.levels, task.level, task.owner_permission) == (1, 1, "stock.approve_adjustment")
    assert adjustment_events(adjustment) == ["stock.adjustment.submitted"]

    # when: an approver claims and approves
    claim_and_approve(task, staff["approver"], comment="photos checked")

    # then: it is approved and posted in the same transaction, the stock falls
    adjustment.refresh_from_db()
    assert adjustment.status == "posted"
    assert on_hand(shop["kettle"], shop["store"]) == 800
    assert StockMovement.objects.filter(kind="adjustment").values_list("quantity", "actor__username").get() == (
        -200,
        "ava",
    )
    assert history(adjustment) == [
        ("", "draft", "sam"),
        ("draft", "pending_approval", "sam"),
        ("pending_approval", "approved", "ava"),
        ("approved", "posted", "ava"),
    ]
    assert adjustment_events(adjustment) == [
        "stock.adjustment.submitted",
        "stock.adjustment.approved",
        "stock.adjustment.posted",
    ]
    request.refresh_from_db()
    assert (request.outcome, request.status) == ("approved", "DONE")


def test_above_5000_needs_a_second_level_from_finance(shop, staff):
    # given: 240 toasters written off (6,000.00) → two levels
    adjustment = adjust(shop["store"], staff["manager"], [(shop["toaster"], -240)], reason="shrink")
    assert (adjustment.value, adjustment.approval_levels) == (Decimal("6000.00"), 2)
    first = open_task(adjustment)
    assert (first.level, first.owner_permission) == (1, "stock.approve_adjustment")
    assert approval_selectors.approval_task_queue(user=staff["finance"]).count() == 0

    # when: level 1 is approved by an approver
    claim_and_approve(first, staff["approver"])

    # then: level 2 opens in finance's queue only, and nothing is posted yet
    adjustment.refresh_from_db()
    assert adjustment.status == "pending_approval"
    second = open_task(adjustment)
    assert (second.level, second.owner_permission) == (2, "approvals.approve_as_finance")
    assert list(approval_selectors.approval_task_queue(user=staff["finance"])) == [second]
    assert list(approval_selectors.approval_task_queue(user=staff["approver2"])) == []
    assert on_hand(shop["toaster"], shop["store"]) == 1000

    # when: finance approves level 2
    claim_and_approve(second, staff["finance"])

    # then: posted
    adjustment.refresh_from_db()
    assert adjustment.status == "posted"
    assert on_hand(shop["toaster"], shop["store"]) == 760
    assert list(
        ApprovalEvent.objects.filter(request__subject_id=str(adjustment.pk))
        .order_by("at", "id")
        .values_list("action", "level", "actor__username")
    ) == [
        ("requested", None, "sam"),
        ("opened", 1, None),
        ("claimed", 1, "ava"),
        ("approved", 1, "ava"),
        ("opened", 2, None),
        ("claimed", 2, "fin"),
        ("approved", 2, "fin"),
        ("completed", None, "fin"),
    ]


def test_a_policy_change_applies_to_new_requests_only(shop, staff):
    pending = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    level = ApprovalRequest.objects.get().policy.levels.get(level=1)
    level.threshold = Decimal("1000.00")
    level.save()

    assert adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)]).status == "posted"
    assert ApprovalRequest.objects.get().level_rules[0]["threshold"] == "500.00"
    assert StockAdjustment.objects.get(pk=pending.pk).status == "pending_approval"


# --- rejection and refusals -----------------------------------------------------------------------
def test_a_rejection_leaves_stock_untouched(shop, staff):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    approvals.approval_task_claim(task_id=task.pk, user=staff["approver"])

    approvals.approval_task_reject(task_id=task.pk, user=staff["approver"], comment="count it again first")

    adjustment.refresh_from_db()
    assert adjustment.status == "rejected"
    assert on_hand(shop["kettle"], shop["store"]) == 1000
    assert StockMovement.objects.filter(kind="adjustment").count() == 0
    assert history(adjustment)[-1] == ("pending_approval", "rejected", "ava")
    assert StockAdjustmentHistory.objects.filter(adjustment=adjustment).last().reason == (
        "rejected by ava: count it again first"
    )
    assert adjustment_events(adjustment) == ["stock.adjustment.submitted", "stock.adjustment.rejected"]
    assert OutboxEvent.objects.get(name="stock.adjustment.rejected").payload["comment"] == "count it again first"
    assert ApprovalRequest.objects.get().outcome == "rejected"


def test_rejecting_the_second_level_rejects_the_whole_adjustment(shop, staff):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["toaster"], -240)])
    claim_and_approve(open_task(adjustment), staff["approver"])
    second = open_task(adjustment)
    approvals.approval_task_claim(task_id=second.pk, user=staff["finance"])

    approvals.approval_task_reject(task_id=second.pk, user=staff["finance"], comment="too much")

    adjustment.refresh_from_db()
    assert adjustment.status == "rejected"
    assert on_hand(shop["toaster"], shop["store"]) == 1000


def test_an_approval_that_would_go_below_reserved_fails_and_writes_nothing(shop, staff):
    # given: 990 kettles are reserved by an order, and an adjustment asks to write off 200 of the 1,000
    reserve_990_kettles(shop)
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])
    task = open_task(adjustment)
    approvals.approval_task_claim(task_id=task.pk, user=staff["approver"])
    before = written()

    # when: the approver approves
    with pytest.raises(DomainError) as refused:
        approvals.approval_task_approve(task_id=task.pk, user=staff["approver"], comment="ok")

    # then: a clear refusal, and not a row changed: the task is still held, nothing posted or recorded
    assert refused.value.code == "insufficient_stock"
    assert refused.value.detail.startswith(f"{adjustment.number} cannot be posted: Posting -200 of product")
    assert "than is reserved (990)" in refused.value.detail
    assert written() == before
    assert StockAdjustment.objects.get(pk=adjustment.pk).status == "pending_approval"
    assert ApprovalTask.objects.get(pk=task.pk).status == "ASSIGNED"


def test_an_adjustment_within_the_policy_that_would_go_below_reserved_is_refused_and_writes_nothing(shop, staff):
    reserve_990_kettles(shop)
    before = written()

    with pytest.raises(DomainError) as refused:
        adjust(shop["store"], staff["manager"], [(shop["kettle"], -20)])

    assert refused.value.code == "insufficient_stock"
    assert written() == before


@pytest.mark.parametrize(
    "lines, code",
    [
        ([], "empty_adjustment"),
        ([("kettle", 0)], "zero_delta"),
        ([("kettle", -1), ("kettle", -2)], "duplicate_line"),
    ],
    ids=["no lines", "a zero delta", "the same product twice"],
)
def test_invalid_adjustments_are_refused_and_write_nothing(shop, staff, lines, code):
    before = written()
    with pytest.raises(DomainError) as refused:
        adjust(shop["store"], staff["manager"], [(shop[name], d) for name, d in lines])
    assert refused.value.code == code
    assert written() == before


def test_without_an_active_policy_every_adjustment_posts(shop, staff):
    from apps.approvals.models import ApprovalPolicy

    ApprovalPolicy.objects.update(active=False)
    assert adjust(shop["store"], staff["manager"], [(shop["toaster"], -240)]).status == "posted"


# --- cycle counts ---------------------------------------------------------------------------------
def test_a_cycle_count_turns_non_zero_variances_into_one_adjustment(shop, staff):
    # when: the store counts 990 kettles (10 short: 40.00), 1,000 toasters and 3 of a product it never had
    from tests.factories import ProductFactory

    lamp = ProductFactory(sku="LAMP-1", cost=Decimal("12.00"))
    count = services.stock_count_submit(
        location=shop["store"],
        lines=[
            services.CountLineInput(product=shop["kettle"], counted=990),
            services.CountLineInput(product=shop["toaster"], counted=1000),
            services.CountLineInput(product=lamp, counted=3),
        ],
        counted_by=staff["manager"],
    )

    # then: expected is on_hand at that moment, the variance is counted − expected
    assert list(
        CycleCountLine.objects.filter(count=count).order_by("id").values_list("product__sku", "expected", "variance")
    ) == [("KET-1", 1000, -10), ("TOA-1", 1000, 0), ("LAMP-1", 0, 3)]
    # and: one count_variance adjustment of 76.00 posted at once (within the policy)
    adjustment = count.adjustment
    assert (adjustment.reason, adjustment.status, adjustment.value) == ("count_variance", "posted", Decimal("76.00"))
    assert sorted(adjustment.lines.values_list("product__sku", "quantity_delta")) == [("KET-1", -10), ("LAMP-1", 3)]
    assert (on_hand(shop["kettle"], shop["store"]), on_hand(lamp, shop["store"])) == (990, 3)
    event = OutboxEvent.objects.get(name="stock.count.submitted")
    assert event.payload["adjustment_id"] == adjustment.pk


def test_a_cycle_count_with_a_large_variance_follows_the_same_policy(shop, staff):
    count = services.stock_count_submit(
        location=shop["store"],
        lines=[services.CountLineInput(product=shop["toaster"], counted=700)],
        counted_by=staff["manager"],
    )
    adjustment = count.adjustment
    assert (adjustment.status, adjustment.value, adjustment.approval_levels) == (
        "pending_approval",
        Decimal("7500.00"),
        2,
    )
    assert adjustment.note == count.number
    assert on_hand(shop["toaster"], shop["store"]) == 1000


def test_a_cycle_count_without_variance_makes_no_adjustment(shop, staff):
    count = services.stock_count_submit(
        location=shop["store"],
        lines=[services.CountLineInput(product=shop["kettle"], counted=1000)],
        counted_by=staff["manager"],
    )
    assert StockAdjustment.objects.filter(count=count).exists() is False
    assert StockMovement.objects.filter(kind="adjustment").count() == 0


def test_the_approve_permission_is_a_model_permission_on_stock_adjustments():
    assert Permission.objects.filter(content_type__app_label="stock", codename="approve_adjustment").exists()


# --- withdrawal -----------------------------------------------------------------------------------
def test_the_requester_withdraws_a_pending_adjustment_and_nothing_moves(shop, staff):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)], note="water leak")
    task = open_task(adjustment)

    withdrawn = services.stock_adjustment_withdraw(
        adjustment_id=adjustment.pk, actor=staff["manager"], reason="counted again: only 20"
    )

    assert withdrawn.status == "withdrawn"
    assert on_hand(shop["kettle"], shop["store"]) == 1000
    assert StockMovement.objects.filter(kind="adjustment").count() == 0
    assert history(adjustment)[-1] == ("pending_approval", "withdrawn", "sam")
    assert adjustment_events(adjustment) == ["stock.adjustment.submitted", "stock.adjustment.withdrawn"]
    request = ApprovalRequest.objects.get()
    assert (request.outcome, request.status) == ("withdrawn", "CANCELED")
    with pytest.raises(DomainError):
        claim_and_approve(ApprovalTask.objects.get(pk=task.pk), staff["approver"])
    assert on_hand(shop["kettle"], shop["store"]) == 1000


def test_only_the_requester_may_withdraw_an_adjustment(shop, staff):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -200)])

    with pytest.raises(DomainError) as refused:
        services.stock_adjustment_withdraw(adjustment_id=adjustment.pk, actor=staff["approver"])

    assert refused.value.code == "permission_denied"
    assert StockAdjustment.objects.get(pk=adjustment.pk).status == "pending_approval"
    assert ApprovalRequest.objects.get().outcome == "pending"


def test_a_posted_adjustment_cannot_be_withdrawn(shop, staff):
    adjustment = adjust(shop["store"], staff["manager"], [(shop["kettle"], -5)])

    with pytest.raises(DomainError) as refused:
        services.stock_adjustment_withdraw(adjustment_id=adjustment.pk, actor=staff["manager"])

    assert refused.value.code == "invalid_transition"
