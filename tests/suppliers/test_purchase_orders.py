from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from apps.accounts.roles import APPROVER, FINANCE, OPS_ADMIN
from apps.approvals.models import ApprovalRequest, ApprovalTask
from apps.approvals.services import approval_task_approve, approval_task_claim, approval_task_reject
from apps.core.currency import exchange_rate_set
from apps.core.errors import DomainError, InvalidTransition, PermissionDenied
from apps.core.models import OutboxEvent
from apps.suppliers import services
from apps.suppliers.models import PurchaseOrder, PurchaseOrderHistory
from tests.suppliers.helpers import SupplierFactory, draft_po, event_names, role_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer():
    return role_user("buyer", OPS_ADMIN)


@pytest.fixture
def supplier():
    return SupplierFactory(code="ACME", lead_time_days=10)


def open_task(po) -> ApprovalTask:
    request = ApprovalRequest.objects.get(subject_type=services.SUBJECT_PURCHASE_ORDER, subject_id=str(po.pk))
    return ApprovalTask.objects.filter(process=request, status="NEW").get()


def decide(po, user, approve=True):
    task = open_task(po)
    approval_task_claim(task_id=task.pk, user=user)
    if approve:
        approval_task_approve(task_id=task.pk, user=user)
    else:
        approval_task_reject(task_id=task.pk, user=user, comment="too much")


@pytest.mark.parametrize(
    "quantity, cost, status, levels",
    [
        (100, "20.00", "approved", 0),  # 2,000.00: the first band approves on submit
        (100, "20.01", "pending_approval", 1),
        (1000, "25.00", "pending_approval", 1),  # 25,000.00: still one level
        (1000, "25.01", "pending_approval", 2),
    ],
    ids=["2000 auto", "2001 one level", "25000 one level", "25010 two levels"],
)
def test_submit_applies_the_spend_band_of_the_company_currency_total(
    buyer, supplier, warehouse, product, quantity, cost, status, levels
):
    po = draft_po(supplier, warehouse, [(product, quantity, cost)], actor=buyer)

    po = services.purchase_order_submit(po_id=po.pk, actor=buyer)

    assert (po.status, po.approval_levels) == (status, levels)
    assert ApprovalRequest.objects.filter(subject_id=str(po.pk)).count() == (1 if levels else 0)


def test_bands_apply_to_the_amount_converted_at_the_order_date(buyer, warehouse, product):
    eur = SupplierFactory(code="EU", currency="EUR")
    exchange_rate_set(currency="EUR", on=date(2026, 1, 1), rate=Decimal("1.10"))
    exchange_rate_set(currency="EUR", on=date(2026, 2, 1), rate=Decimal("0.50"))
    # 1,900.00 EUR is 2,090.00 USD in January (needs approval) but 950.00 USD in February (does not).
    january = draft_po(eur, warehouse, [(product, 100, "19.00")], actor=buyer, order_date=date(2026, 1, 15))
    february = draft_po(eur, warehouse, [(product, 100, "19.00")], actor=buyer, order_date=date(2026, 2, 15))

    assert (january.total, january.total_company) == (Decimal("1900.00"), Decimal("2090.00"))
    assert services.purchase_order_submit(po_id=january.pk, actor=buyer).status == "pending_approval"
    assert services.purchase_order_submit(po_id=february.pk, actor=buyer).status == "approved"


def test_a_po_in_a_currency_without_a_rate_is_refused_and_nothing_is_written(buyer, warehouse, product):
    gbp = SupplierFactory(code="UK", currency="GBP")

    with pytest.raises(DomainError) as err:
        draft_po(gbp, warehouse, [(product, 1, "5.00")], actor=buyer)

    assert err.value.code == "no_exchange_rate"
    assert not PurchaseOrder.objects.exists()
    assert event_names() == []


def test_two_levels_need_an_approver_then_finance_and_end_approved(buyer, supplier, warehouse, product):
    po = draft_po(supplier, warehouse, [(product, 1000, "30.00")], actor=buyer)
    services.purchase_order_submit(po_id=po.pk, actor=buyer)
    approver, finance = role_user("anna", APPROVER), role_user("fin", FINANCE)

    decide(po, approver)
    assert PurchaseOrder.objects.get(pk=po.pk).status == "pending_approval"
    decide(po, finance)

    po.refresh_from_db()
    assert po.status == "approved"
    assert list(PurchaseOrderHistory.objects.filter(purchase_order=po).values_list("from_status", "to_status")) == [
        ("", "draft"),
        ("draft", "pending_approval"),
        ("pending_approval", "approved"),
    ]
    assert event_names() == [
        "suppliers.purchase_order.created",
        "suppliers.purchase_order.submitted",
        "suppliers.purchase_order.approved",
    ]


def test_an_approver_cannot_take_the_finance_level(buyer, supplier, warehouse, product):
    po = draft_po(supplier, warehouse, [(product, 1000, "30.00")], actor=buyer)
    services.purchase_order_submit(po_id=po.pk, actor=buyer)
    approver = role_user("anna", APPROVER)
    decide(po, approver)

    with pytest.raises(PermissionDenied):
        approval_task_claim(task_id=open_task(po).pk, user=role_user("bob", APPROVER))
    assert PurchaseOrder.objects.get(pk=po.pk).status == "pending_approval"


def test_the_submitter_may_not_approve_their_own_po(supplier, warehouse, product):
    boss = role_user("boss", OPS_ADMIN)  # ops admins hold the approve permission too
    boss.user_permissions.add(*Permission.objects.filter(codename="approve_purchaseorder"))
    po = draft_po(supplier, warehouse, [(product, 200, "20.00")], actor=boss)
    services.purchase_order_submit(po_id=po.pk, actor=boss)

    with pytest.raises(PermissionDenied):
        decide(po, boss)
    assert PurchaseOrder.objects.get(pk=po.pk).status == "pending_approval"


def test_a_rejected_po_ends_rejected_and_cannot_be_sent(buyer, supplier, warehouse, product):
    po = draft_po(supplier, warehouse, [(product, 200, "20.00")], actor=buyer)
    services.purchase_order_submit(po_id=po.pk, actor=buyer)

    decide(po, role_user("anna", APPROVER), approve=False)

    assert PurchaseOrder.objects.get(pk=po.pk).status == "rejected"
    with pytest.raises(InvalidTransition):
        services.purchase_order_send(po_id=po.pk, actor=buyer)
    assert "suppliers.purchase_order.sent" not in event_names()


def test_sending_sets_the_expected_date_from_lead_time_and_emits_the_po(buyer, supplier, warehouse, product):
    po = draft_po(supplier, warehouse, [(product, 10, "3.50")], actor=buyer)
    services.purchase_order_submit(po_id=po.pk, actor=buyer)

    po = services.purchase_order_send(po_id=po.pk, actor=buyer)

    assert po.status == "sent"
    assert po.expected_date == timezone.localdate() + timedelta(days=10)
    sent = OutboxEvent.objects.get(name="suppliers.purchase_order.sent")
    assert sent.payload["lines"] == [
        {"line_no": 1, "sku": product.sku, "supplier_sku": "", "quantity": 10, "unit_cost": "3.50"}
    ]
    assert sent.payload["expected_date"] == po.expected_date.isoformat()


def test_a_draft_cannot_be_sent_and_nothing_changes(buyer, supplier, warehouse, product):
    po = draft_po(supplier, warehouse, [(product, 10, "3.50")], actor=buyer)

    with pytest.raises(InvalidTransition):
        services.purchase_order_send(po_id=po.pk, actor=buyer)

    assert PurchaseOrder.objects.get(pk=po.pk).status == "draft"
    assert event_names() == ["suppliers.purchase_order.created"]


def test_lines_without_cost_take_the_supplier_catalogue_cost(buyer, supplier, warehouse, product):
    services.supplier_product_set(supplier=supplier, product=product, supplier_sku="AC-1", cost=Decimal("7.25"))

    po = services.purchase_order_create(
        supplier=supplier, location=warehouse, lines=[services.POLineInput(product=product, quantity=4)], actor=buyer
    )

    line = po.lines.get()
    assert (line.supplier_sku, line.unit_cost, po.total) == ("AC-1", Decimal("7.25"), Decimal("29.00"))


def test_the_requester_withdraws_a_pending_po_to_draft_and_submits_it_again(buyer, supplier, warehouse, product):
    po = draft_po(supplier, warehouse, [(product, 200, "20.00")], actor=buyer)
    services.purchase_order_submit(po_id=po.pk, actor=buyer)
    task = open_task(po)

    po = services.purchase_order_withdraw(po_id=po.pk, actor=buyer, reason="wrong quantity")

    assert (po.status, po.approval_levels) == ("draft", 0)
    request = ApprovalRequest.objects.get(subject_id=str(po.pk))
    assert (request.outcome, request.status) == ("withdrawn", "CANCELED")
    assert ApprovalTask.objects.get(pk=task.pk).status == "CANCELED"
    assert list(request.events.values_list("action", flat=True))[-1] == "withdrawn"
    assert event_names()[-1] == "suppliers.purchase_order.withdrawn"
    # The withdrawn level can no longer be decided, and a new submission starts a new request.
    with pytest.raises(DomainError):
        approval_task_claim(task_id=task.pk, user=role_user("anna", APPROVER))
    assert services.purchase_order_submit(po_id=po.pk, actor=buyer).status == "pending_approval"
    assert ApprovalRequest.objects.filter(subject_id=str(po.pk)).count() == 2


def test_someone_else_may_not_withdraw_and_nothing_changes(buyer, supplier, warehouse, product):
    po = draft_po(supplier, warehouse, [(product, 200, "20.00")], actor=buyer)
    services.purchase_order_submit(po_id=po.pk, actor=buyer)

    with pytest.raises(PermissionDenied):
        services.purchase_order_withdraw(po_id=po.pk, actor=role_user("anna", APPROVER))

    assert PurchaseOrder.objects.get(pk=po.pk).status == "pending_approval"
    assert ApprovalRequest.objects.get(subject_id=str(po.pk)).outcome == "pending"


def test_an_approved_po_cannot_be_withdrawn(buyer, supplier, warehouse, product):
    po = draft_po(supplier, warehouse, [(product, 10, "20.00")], actor=buyer)
    services.purchase_order_submit(po_id=po.pk, actor=buyer)

    with pytest.raises(InvalidTransition):
        services.purchase_order_withdraw(po_id=po.pk, actor=buyer)
