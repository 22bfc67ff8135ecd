"""Return statuses, reasons, dispositions and risk bands."""

from django.db import models


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PENDING_REVIEW = "pending_review", "Pending review"
    AUTHORIZED = "authorized", "Authorized"
    REJECTED = "rejected", "Rejected"
    RECEIVED = "received", "Received"
    INSPECTED = "inspected", "Inspected"
    REFUND_PENDING = "refund_pending", "Refund pending"
    REFUNDED = "refunded", "Refunded"
    CLOSED = "closed", "Closed"


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", "Arrived damaged"
    DEFECTIVE = "defective", "Defective"
    WRONG_ITEM = "wrong_item", "Wrong item sent"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    CHANGED_MIND = "changed_mind", "Changed mind"
    OTHER = "other", "Other"


class Disposition(models.TextChoices):
    RESTOCK = "restock", "Restock"
    REFURBISH = "refurbish", "Refurbish"
    WRITE_OFF = "write_off", "Write off"
    RETURN_TO_VENDOR = "return_to_vendor", "Return to vendor"


class Band(models.TextChoices):
    AUTO_AUTHORIZE = "auto_authorize", "Auto-authorize"
    REVIEW = "review", "Review"
    SUGGEST_REJECT = "suggest_reject", "Suggest reject"


class RefundApproval(models.TextChoices):
    NONE = "", "Not yet computed"
    NOT_REQUIRED = "not_required", "Not required"
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


S = ReturnStatus
# A rejected return holds nothing: its quantities may be returned again.
COUNTS_AGAINST_ORDER = [s for s in ReturnStatus.values if s != S.REJECTED]
OPEN = (S.REQUESTED, S.PENDING_REVIEW, S.AUTHORIZED, S.RECEIVED, S.INSPECTED, S.REFUND_PENDING)
TERMINAL = (S.REJECTED, S.CLOSED)
# The order statuses a return may be made against: the goods were handed to the customer.
RETURNABLE_ORDER_STATUSES = ("shipped", "delivered", "picked_up", "closed")
