"""Stock models. Only apps.stock.services writes them; the database guards the quantities."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.core.models import StatusHistory


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
    WRITE_OFF = "write_off", "Write-off"
    RETURN_TO_VENDOR = "return_to_vendor", "Return to vendor"


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


# --- inventory control: adjustments and cycle counts ---------------------------------------------
class AdjustmentReason(models.TextChoices):
    DAMAGE = "damage", "Damage"
    SHRINK = "shrink", "Shrink"
    FOUND = "found", "Found"
    COUNT_VARIANCE = "count_variance", "Count variance"
    OTHER = "other", "Other"


class AdjustmentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    POSTED = "posted", "Posted"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


def _may_post(adjustment: Any) -> bool:  # an FSM condition: called with the StockAdjustment
    """Approved, or (from draft) the policy asked for no approval at all."""
    return adjustment.status == AdjustmentStatus.APPROVED or adjustment.approval_levels == 0


class CycleCount(models.Model):
    """What was counted at a location, what the books said at that moment, and the variance."""

    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="cycle_counts")
    counted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["location", "-created_at"], name="cyclecount_location_idx")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"CNT-{self.pk:06d}" if self.pk else ""


class CycleCountLine(models.Model):
    count = models.ForeignKey(CycleCount, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    counted = models.PositiveIntegerField()
    expected = models.IntegerField(help_text="on_hand when the count was submitted")
    variance = models.IntegerField(help_text="counted − expected")

    class Meta:
        ordering = ["count_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["count", "product"], name="cyclecountline_product_once"),
            models.CheckConstraint(condition=Q(variance=F("counted") - F("expected")), name="cyclecountline_variance"),
        ]

    def __str__(self) -> str:
        return f"product {self.product_id}: counted {self.counted}, expected {self.expected}"


class StockAdjustment(ConcurrentTransitionMixin, models.Model):
    """A correction of on_hand at one location. Posting may need approval (apps.approvals policy)."""

    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="adjustments")
    reason = models.CharField(max_length=20, choices=AdjustmentReason.choices)
    note = models.CharField(max_length=500, blank=True, default="")
    status = FSMField(max_length=20, choices=AdjustmentStatus.choices, default=AdjustmentStatus.DRAFT, protected=True)
    value = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00"), help_text="Σ |quantity delta| × product cost"
    )
    currency = models.CharField(max_length=3)
    approval_levels = models.PositiveSmallIntegerField(default=0, help_text="Levels the policy asked for")
    count = models.OneToOneField(CycleCount, null=True, blank=True, on_delete=models.PROTECT, related_name="adjustment")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("approve_adjustment", "Can approve stock adjustments (first approval level)")]
        indexes = [
            models.Index(fields=["location", "-created_at"], name="adjustment_location_idx"),
            models.Index(fields=["status", "-created_at"], name="adjustment_status_idx"),
        ]
        constraints = [models.CheckConstraint(condition=Q(value__gte=0), name="adjustment_value_not_negative")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"ADJ-{self.pk:06d}" if self.pk else ""

    # --- transitions: guards and field changes only -----------------------------------------
    @transition(field=status, source=AdjustmentStatus.DRAFT, target=AdjustmentStatus.PENDING_APPROVAL)
    def submit(self) -> None:
        pass

    @transition(field=status, source=AdjustmentStatus.PENDING_APPROVAL, target=AdjustmentStatus.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=status, source=AdjustmentStatus.PENDING_APPROVAL, target=AdjustmentStatus.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=AdjustmentStatus.PENDING_APPROVAL, target=AdjustmentStatus.WITHDRAWN)
    def withdraw(self) -> None:
        pass

    @transition(
        field=status,
        source=[AdjustmentStatus.DRAFT, AdjustmentStatus.APPROVED],
        target=AdjustmentStatus.POSTED,
        conditions=[_may_post],
    )
    def post(self) -> None:
        pass


class StockAdjustmentLine(models.Model):
    adjustment = models.ForeignKey(StockAdjustment, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity_delta = models.IntegerField()
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, help_text="Product cost when submitted")

    class Meta:
        ordering = ["adjustment_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["adjustment", "product"], name="adjustmentline_product_once"),
            models.CheckConstraint(condition=~Q(quantity_delta=0), name="adjustmentline_delta_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_delta:+d} × product {self.product_id}"

    @property
    def value(self) -> Decimal:
        return (abs(self.quantity_delta) * self.unit_cost).quantize(Decimal("0.01"))


class StockAdjustmentHistory(StatusHistory):
    """One row per status change: who, from, to, why, when."""

    adjustment = models.ForeignKey(StockAdjustment, on_delete=models.CASCADE, related_name="history")

    class Meta:
        ordering = ["adjustment_id", "at", "id"]
        verbose_name_plural = "stock adjustment history"


# --- transfers between locations and store replenishment -----------------------------------------
class TransferStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    PICKING = "picking", "Picking"
    IN_TRANSIT = "in_transit", "In transit"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


TRANSFER_OPEN = (
    TransferStatus.REQUESTED,
    TransferStatus.PENDING_APPROVAL,
    TransferStatus.APPROVED,
    TransferStatus.PICKING,
    TransferStatus.IN_TRANSIT,
)
# A transfer waiting for approval ends through the approval inbox (rejected → cancelled), so no
# approval task is left open for a transfer that no longer exists.
TRANSFER_CANCELLABLE = (
    TransferStatus.REQUESTED,
    TransferStatus.APPROVED,
    TransferStatus.PICKING,
)


class StockTransfer(ConcurrentTransitionMixin, models.Model):
    """Stock moving from one location to another: reserved at the source on approval, in transit
    between dispatch and receipt (TransferLine.dispatched − received), never lost on the way."""

    source = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="transfers_in")
    status = FSMField(max_length=20, choices=TransferStatus.choices, default=TransferStatus.REQUESTED, protected=True)
    note = models.CharField(max_length=500, blank=True, default="")
    proposed = models.BooleanField(default=False, help_text="Proposed by the replenishment job")
    value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"), help_text="Σ qty × cost")
    currency = models.CharField(max_length=3)
    approval_levels = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_transfer", "Can approve stock transfers"),
            ("transition_transfer", "Can submit, dispatch, receive and cancel stock transfers"),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="transfer_status_idx"),
            models.Index(fields=["destination", "status"], name="transfer_destination_idx"),
            models.Index(fields=["source", "status"], name="transfer_source_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(source=F("destination")), name="transfer_source_ne_destination"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"TRF-{self.pk:06d}" if self.pk else ""

    # --- transitions: guards and field changes only -----------------------------------------
    @transition(field=status, source=TransferStatus.REQUESTED, target=TransferStatus.PENDING_APPROVAL)
    def submit(self) -> None:
        pass

    @transition(
        field=status,
        source=[TransferStatus.REQUESTED, TransferStatus.PENDING_APPROVAL],
        target=TransferStatus.APPROVED,
    )
    def approve(self) -> None:
        pass

    @transition(field=status, source=TransferStatus.PENDING_APPROVAL, target=TransferStatus.CANCELLED)
    def reject(self) -> None:
        pass

    @transition(field=status, source=TransferStatus.PENDING_APPROVAL, target=TransferStatus.REQUESTED)
    def withdraw(self) -> None:
        pass

    @transition(field=status, source=TransferStatus.APPROVED, target=TransferStatus.PICKING)
    def pick(self) -> None:
        pass

    @transition(
        field=status, source=[TransferStatus.APPROVED, TransferStatus.PICKING], target=TransferStatus.IN_TRANSIT
    )
    def dispatch(self) -> None:
        pass

    @transition(field=status, source=TransferStatus.IN_TRANSIT, target=TransferStatus.RECEIVED)
    def receive(self) -> None:
        pass

    @transition(field=status, source=list(TRANSFER_CANCELLABLE), target=TransferStatus.CANCELLED)
    def cancel(self) -> None:
        pass


class StockTransferLine(models.Model):
    transfer = models.ForeignKey(StockTransfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2)
    dispatched = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["transfer_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "product"], name="transferline_product_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transferline_quantity_positive"),
            models.CheckConstraint(condition=Q(dispatched__lte=F("quantity")), name="transferline_dispatched_le_qty"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × product {self.product_id}"


class StockTransferHistory(StatusHistory):
    """One row per status change: who, from, to, why, when."""

    transfer = models.ForeignKey(StockTransfer, on_delete=models.CASCADE, related_name="history")

    class Meta:
        ordering = ["transfer_id", "at", "id"]
        verbose_name_plural = "stock transfer history"


class ReplenishmentRule(models.Model):
    """Keep a store's available + in-transit stock of a product between min and max."""

    location = models.ForeignKey("catalog.Location", on_delete=models.PROTECT, related_name="replenishment_rules")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    min_qty = models.PositiveIntegerField()
    max_qty = models.PositiveIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location_id", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["location", "product"], name="replenishmentrule_once"),
            models.CheckConstraint(condition=Q(max_qty__gte=F("min_qty")), name="replenishmentrule_max_ge_min"),
        ]

    def __str__(self) -> str:
        return f"product {self.product_id}@{self.location_id}: {self.min_qty}..{self.max_qty}"
