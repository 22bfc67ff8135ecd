"""Return (RMA) models. Transitions only check guards and set fields; apps.returns.services does the rest."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.catalog.models import Channel
from apps.core.models import StatusHistory
from apps.returns.states import Band, Disposition, RefundApproval, ReturnReason, ReturnStatus

S = ReturnStatus


def _refund_cleared(ret: Any) -> bool:  # FSM conditions are called with the Return
    return ret.refund_approval in (RefundApproval.NOT_REQUIRED, RefundApproval.APPROVED)


def _closable(ret: Any) -> bool:
    # An inspected return whose refund was refused ends without a refund.
    return ret.status == S.REFUNDED or ret.refund_approval == RefundApproval.REJECTED


class Return(ConcurrentTransitionMixin, models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=20, choices=Channel.choices, help_text="Where the return was initiated")
    reason = models.CharField(max_length=20, choices=ReturnReason.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    status = FSMField(max_length=20, choices=ReturnStatus.choices, default=S.REQUESTED, protected=True)
    customer_email = models.EmailField(max_length=254)
    currency = models.CharField(max_length=3)
    location = models.ForeignKey(
        "catalog.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Where the goods were (or will be) received",
    )
    # The scorecard's verdict, with everything it looked at, so it can be explained later.
    risk_version = models.CharField(max_length=10)
    risk_score = models.IntegerField()
    risk_band = models.CharField(max_length=20, choices=Band.choices)
    risk_inputs = models.JSONField(default=dict)
    risk_reasons = models.JSONField(default=list)
    # A reviewer's decision overrides the band.
    decision = models.CharField(max_length=10, blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_comment = models.CharField(max_length=500, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    # Refund, computed at inspection.
    refund_goods = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    restocking_fee = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    refund_shipping = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    refund_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    refund_approval = models.CharField(max_length=20, choices=RefundApproval.choices, blank=True, default="")
    refund_payment_reference = models.CharField(max_length=100, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_amount__isnull=True) | Q(refund_amount__gte=0), name="return_refund_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="return_status_created_idx"),
            models.Index(fields=["customer_email"], name="return_customer_email_idx"),
        ]
        permissions = [
            ("authorize_return", "Can authorize or reject returns under review"),
            ("receive_return", "Can receive and inspect returns"),
            ("approve_refund", "Can approve refunds of returns"),
            ("confirm_refund", "Can confirm that a refund was paid"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"RMA-{self.pk:08d}" if self.pk else ""

    # --- transitions: guards and field changes only -----------------------------------------
    @transition(field=status, source=[S.REQUESTED], target=S.PENDING_REVIEW)
    def hold_for_review(self) -> None:
        pass

    @transition(field=status, source=[S.REQUESTED, S.PENDING_REVIEW], target=S.AUTHORIZED)
    def authorize(self) -> None:
        pass

    @transition(field=status, source=[S.PENDING_REVIEW], target=S.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=[S.AUTHORIZED], target=S.RECEIVED)
    def receive(self, *, location) -> None:
        self.location = location

    @transition(field=status, source=[S.RECEIVED], target=S.INSPECTED)
    def inspect(self) -> None:
        pass

    @transition(field=status, source=[S.INSPECTED], target=S.REFUND_PENDING, conditions=[_refund_cleared])
    def start_refund(self) -> None:
        pass

    @transition(field=status, source=[S.REFUND_PENDING], target=S.REFUNDED)
    def confirm_refund(self, *, payment_reference: str) -> None:
        self.refund_payment_reference = payment_reference

    @transition(field=status, source=[S.REFUNDED, S.INSPECTED], target=S.CLOSED, conditions=[_closable])
    def close(self) -> None:
        pass


class ReturnLine(models.Model):
    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["ret_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="returnline_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} × product {self.product_id}"


class ReturnInspection(models.Model):
    """What inspection decided for (part of) a line, and the stock effect it had."""

    line = models.ForeignKey(ReturnLine, on_delete=models.CASCADE, related_name="inspections")
    quantity = models.PositiveIntegerField()
    disposition = models.CharField(max_length=20, choices=Disposition.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    inspected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["line_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="returninspection_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} {self.disposition}"


class ReturnHistory(StatusHistory):
    """One row per status change (and per decision that keeps the status): who, from, to, why, when."""

    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="history")

    class Meta:
        ordering = ["ret_id", "at", "id"]
        verbose_name_plural = "return history"
