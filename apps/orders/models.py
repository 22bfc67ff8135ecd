"""Order models. Transitions only check guards and set fields; apps.orders.services does the rest."""

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.catalog.models import Channel
from apps.core.models import StatusHistory
from apps.orders.states import CANCELLABLE, FulfillmentMethod, OrderStatus

S = OrderStatus


def _is_ship(order: Any) -> bool:  # FSM conditions are called with the Order
    return order.fulfillment_method == FulfillmentMethod.SHIP


def _is_pickup(order: Any) -> bool:
    return order.fulfillment_method == FulfillmentMethod.PICKUP


class Order(ConcurrentTransitionMixin, models.Model):
    channel = models.CharField(max_length=20, choices=Channel.choices)
    external_id = models.CharField(max_length=100)
    # SHA-256 of the normalized request: a replay with the same content is the same order.
    request_hash = models.CharField(max_length=64)
    status = FSMField(max_length=20, choices=OrderStatus.choices, default=S.RECEIVED, protected=True)
    customer_email = models.EmailField(max_length=254)
    customer_name = models.CharField(max_length=200, blank=True, default="")
    fulfillment_method = models.CharField(max_length=10, choices=FulfillmentMethod.choices)
    pickup_location = models.ForeignKey(
        "catalog.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="pickup_orders"
    )
    shipping_address = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    payment_method = models.CharField(max_length=30, blank=True, default="")
    payment_reference = models.CharField(max_length=100, blank=True, default="")
    payment_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    carrier = models.CharField(max_length=60, blank=True, default="")
    tracking_number = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="order_channel_external_id_uniq"),
            models.CheckConstraint(
                condition=Q(fulfillment_method="ship") | Q(pickup_location__isnull=False),
                name="order_pickup_has_location",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="order_status_created_idx"),
            models.Index(fields=["-created_at", "-id"], name="order_created_idx"),
            models.Index(fields=["payment_reference"], name="order_payment_ref_idx"),
        ]
        permissions = [("transition_order", "Can move orders through fulfilment")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """Human order number, derived from the id so intake needs no extra write."""
        return f"RO-{self.pk:08d}" if self.pk else ""

    # --- transitions: guards and field changes only -----------------------------------------
    @transition(field=status, source=[S.RECEIVED], target=S.FRAUD_HOLD)
    def hold_for_review(self) -> None:
        pass

    @transition(field=status, source=[S.RECEIVED, S.BACKORDERED, S.FRAUD_HOLD], target=S.ALLOCATED)
    def allocate(self) -> None:
        pass

    @transition(field=status, source=[S.RECEIVED, S.FRAUD_HOLD], target=S.BACKORDERED)
    def backorder(self) -> None:
        pass

    @transition(field=status, source=[S.ALLOCATED], target=S.PICKING)
    def pick(self) -> None:
        pass

    @transition(field=status, source=[S.ALLOCATED, S.PICKING], target=S.SHIPPED, conditions=[_is_ship])
    def ship(self, *, carrier: str = "", tracking_number: str = "") -> None:
        self.carrier = carrier
        self.tracking_number = tracking_number

    @transition(field=status, source=[S.ALLOCATED, S.PICKING], target=S.READY_FOR_PICKUP, conditions=[_is_pickup])
    def mark_ready(self) -> None:
        pass

    @transition(field=status, source=[S.READY_FOR_PICKUP], target=S.PICKED_UP, conditions=[_is_pickup])
    def collect(self) -> None:
        pass

    @transition(field=status, source=[S.SHIPPED], target=S.DELIVERED)
    def deliver(self) -> None:
        pass

    @transition(field=status, source=[S.DELIVERED, S.PICKED_UP], target=S.CLOSED)
    def close(self) -> None:
        pass

    @transition(field=status, source=list(CANCELLABLE), target=S.CANCELLED)
    def cancel(self) -> None:
        pass


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["order_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="orderline_order_line_no"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderline_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.quantity} × product {self.product_id}"


class OrderHistory(StatusHistory):
    """One row per status change: who, from, to, why, when."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")

    class Meta:
        ordering = ["order_id", "at", "id"]
        verbose_name_plural = "order history"
