"""Builders shared by the approval and stock-adjustment tests: people in roles, a stocked store."""

from decimal import Decimal

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.accounts.services import user_assign_locations, user_grant_role
from apps.approvals.models import ApprovalEvent, ApprovalRequest, ApprovalTask, Delegation
from apps.core.models import Incident, OutboxEvent
from apps.stock.models import (
    CycleCount,
    CycleCountLine,
    StockAdjustment,
    StockAdjustmentHistory,
    StockAdjustmentLine,
    StockLevel,
    StockMovement,
)
from apps.stock.services import AdjustmentLineInput, ReceiptLine, stock_adjustment_create, stock_receive
from tests.factories import ProductFactory, StoreFactory, UserFactory


def person(username, *roles, locations=(), **fields):
    user = UserFactory(username=username, first_name=username.title(), **fields)
    for role in roles:
        user_grant_role(user=user, role=role)
    if locations:
        user_assign_locations(user=user, location_ids=[loc.pk for loc in locations])
    return user


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def ensure_default_policy():
    """The stock-adjustment policy the data migration seeds; a transactional test's flush removes it."""
    from decimal import Decimal as D

    from apps.approvals.models import ApprovalPolicy, ApprovalPolicyLevel

    if ApprovalPolicy.objects.filter(subject_type="stock.adjustment").exists():
        return
    policy = ApprovalPolicy.objects.create(name="Stock adjustments by value", subject_type="stock.adjustment")
    ApprovalPolicyLevel.objects.bulk_create(
        [
            ApprovalPolicyLevel(
                policy=policy, level=1, threshold=D("500.00"), permission="stock.approve_adjustment", sla_hours=24
            ),
            ApprovalPolicyLevel(
                policy=policy, level=2, threshold=D("5000.00"), permission="approvals.approve_as_finance", sla_hours=48
            ),
        ]
    )


def make_shop():
    """A store holding 1,000 kettles (cost 4.00) and 1,000 toasters (cost 25.00), and a second store."""
    ensure_default_policy()
    store = StoreFactory(code="ST1", name="High Street")
    other = StoreFactory(code="ST2", name="Harbour")
    kettle = ProductFactory(sku="KET-1", name="Kettle", cost=Decimal("4.00"))
    toaster = ProductFactory(sku="TOA-1", name="Toaster", cost=Decimal("25.00"))
    for location in (store, other):
        stock_receive(
            location=location,
            reference="opening",
            lines=[
                ReceiptLine(product=kettle, quantity=1000, unit_cost=Decimal("4.00")),
                ReceiptLine(product=toaster, quantity=1000, unit_cost=Decimal("25.00")),
            ],
        )
    return {"store": store, "other": other, "kettle": kettle, "toaster": toaster}


def make_staff(shop):
    """One person per role; the store manager works at ST1 only."""
    return {
        "manager": person("sam", "store_manager", locations=[shop["store"]]),
        "approver": person("ava", "approver"),
        "approver2": person("abe", "approver"),
        "finance": person("fin", "finance"),
        "ops": person("olga", "ops_admin"),
        "admin": person("root", is_superuser=True, is_staff=True),
    }


def adjust(location, user, lines, reason="damage", note=""):
    """Submit an adjustment of [(product, delta), ...] through the stock service."""
    return stock_adjustment_create(
        location=location,
        reason=reason,
        lines=[AdjustmentLineInput(product=p, quantity_delta=d) for p, d in lines],
        requested_by=user,
        note=note,
    )


def on_hand(product, location):
    return StockLevel.objects.get(product=product, location=location).on_hand


def written():
    """Everything an adjustment or an approval action may write: compare before and after a refusal."""
    return {
        "adjustments": list(StockAdjustment.objects.order_by("pk").values_list("pk", "status")),
        "adjustment_lines": StockAdjustmentLine.objects.count(),
        "adjustment_history": StockAdjustmentHistory.objects.count(),
        "counts": (CycleCount.objects.count(), CycleCountLine.objects.count()),
        "movements": StockMovement.objects.count(),
        "levels": list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
        "outbox": list(OutboxEvent.objects.order_by("pk").values_list("name", flat=True)),
        "requests": list(ApprovalRequest.objects.order_by("pk").values_list("pk", "outcome", "current_level")),
        "tasks": list(
            ApprovalTask.objects.order_by("pk").values_list("pk", "status", "owner_id", "decision", "escalated_at")
        ),
        "events": ApprovalEvent.objects.count(),
        "delegations": Delegation.objects.count(),
        "incidents": Incident.objects.count(),
    }
