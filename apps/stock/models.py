"""Stock models. Only apps.stock.services writes them; the database guards the quantities."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class StockLevel(models.Model):
    """What a location holds of a product (`on_hand`) and how much of that is promised (`reserved`)."""

    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="stock_levels")
    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["product_id", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "location"], name="stocklevel_product_location"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stocklevel_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stocklevel_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stocklevel_reserved_le_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: {self.on_hand} on hand, {self.reserved} reserved"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    OPENING = "opening", "Opening balance"
    SHIPMENT = "shipment", "Shipment"
    PICKUP = "pickup", "Pickup"
    ADJUSTMENT = "adjustment", "Adjustment"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"
    RETURN = "return", "Return"


class StockMovement(models.Model):
    """One change of on_hand. Append-only: PostgreSQL refuses UPDATE and DELETE on this table."""

    level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    quantity = models.IntegerField(help_text="Signed change of on_hand")
    balance_after = models.IntegerField()
    reference = models.CharField(max_length=120, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["level", "id"], name="movement_level_idx"),
            models.Index(fields=["location", "-created_at"], name="movement_location_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="movement_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity:+d} → {self.balance_after}"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CONSUMED = "consumed", "Consumed"
    RELEASED = "released", "Released"


class Reservation(models.Model):
    """Stock promised to a demand (an order line, later a transfer line) at one location."""

    level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="reservations")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="+")
    demand_type = models.CharField(max_length=20)
    demand_id = models.BigIntegerField()
    line_id = models.BigIntegerField()
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["demand_type", "demand_id"], name="reservation_demand_idx"),
            models.Index(fields=["level"], name="reservation_active_level_idx", condition=Q(status="active")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of product {self.product_id} for {self.demand_type} {self.demand_id} ({self.status})"


class StockReceipt(models.Model):
    """Goods taken into a location without a purchase order (opening balances, manual receipts)."""

    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="receipts")
    reference = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=MovementKind.choices, default=MovementKind.RECEIPT)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"receipt {self.pk} {self.reference}"


class StockReceiptLine(models.Model):
    receipt = models.ForeignKey(StockReceipt, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="receiptline_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} × product {self.product_id}"
