"""Purchase order and supplier invoice statuses, and their groups."""

from django.db import models


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    SENT = "sent", "Sent"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


S = PurchaseOrderStatus
# Quantities of these orders are "on order": replenishment counts them, the overdue job watches the last two.
ON_ORDER = (S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.SENT, S.PARTIALLY_RECEIVED)
RECEIVABLE = (S.SENT, S.PARTIALLY_RECEIVED)
CANCELLABLE = (S.DRAFT, S.APPROVED, S.SENT)
TERMINAL = (S.CLOSED, S.REJECTED, S.CANCELLED)


class InvoiceStatus(models.TextChoices):
    MATCHED = "matched", "Matched (ready to pay)"
    EXCEPTION = "exception", "Exception"
    PENDING_ACCEPTANCE = "pending_acceptance", "Variance acceptance pending"
    ACCEPTED = "accepted", "Variance accepted (ready to pay)"
    DISPUTED = "disputed", "Disputed"


class MatchResult(models.TextChoices):
    MATCHED = "matched", "Matched"
    PRICE_VARIANCE = "price_variance", "Price variance"
    OVER_BILLED = "billed_more_than_received", "Billed more than received"
    NO_RECEIPT = "no_receipt", "No receipt"
    UNKNOWN_LINE = "unknown_po_line", "Unknown PO line"
