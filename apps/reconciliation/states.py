"""Reconciliation run kinds and statuses, and the outcome of matching one line or bank entry."""

from django.db import models


class RunKind(models.TextChoices):
    SETTLEMENT = "settlement", "Card settlement (Stripe payout reconciliation)"
    BANK_STATEMENT = "bank_statement", "Bank statement (camt.053)"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


TERMINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED)


class MatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    MATCHED = "matched", "Matched"
    UNMATCHED = "unmatched", "Unmatched"
    MISMATCHED = "mismatched", "Mismatched"
    # Fees, payouts and adjustments have no order or refund to match: they only feed the payout.
    NOT_APPLICABLE = "not_applicable", "Nothing to match"


EXCEPTIONS = (MatchStatus.UNMATCHED, MatchStatus.MISMATCHED)


class Category(models.TextChoices):
    """Stripe `reporting_category` values we treat specially; any other value is kept as given."""

    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"
    FEE = "fee", "Fee"
    PAYOUT = "payout", "Payout"
