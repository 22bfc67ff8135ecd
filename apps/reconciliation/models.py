"""Reconciliation models: the run record, settlement lines, payouts and bank statement entries.

Transitions only check guards and set fields; apps.reconciliation.services does the rest.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.reconciliation.states import MatchStatus, RunKind, RunStatus

S = RunStatus


class ReconciliationRun(ConcurrentTransitionMixin, models.Model):
    """One uploaded file and the job that imports and matches it.

    The file is kept in a bytes column, not a FileField: uploads are small (capped by
    RECONCILIATION_MAX_UPLOAD_BYTES), the row and its file commit or roll back together, a worker on
    another host reads it without a shared volume, and no user-chosen name ever reaches a path.
    Selectors defer `content` so lists never load it.
    """

    kind = models.CharField(max_length=20, choices=RunKind.choices)
    status = FSMField(max_length=20, choices=RunStatus.choices, default=S.QUEUED, protected=True)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.PositiveIntegerField()
    content = models.BinaryField(editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Progress while the job runs: rows (or entries) stored so far out of the rows in the file.
    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # Counts once matched. `lines` is the rows read; duplicates were already imported earlier.
    lines = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    mismatched = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="Rejected rows: [{line, message}]")
    failure = models.TextField(blank=True, default="", help_text="Why the whole run failed")
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same file is imported once; a failed run does not block a corrected retry.
            models.UniqueConstraint(
                fields=["kind", "file_sha256"], condition=~Q(status="failed"), name="reconrun_file_once"
            ),
        ]
        indexes = [models.Index(fields=["-created_at", "-id"], name="reconrun_created_idx")]
        permissions = [("import_reconciliationrun", "Can upload settlement files and bank statements")]

    def __str__(self) -> str:
        return f"Run #{self.pk} ({self.kind})"

    @transition(field=status, source=[S.QUEUED, S.RUNNING], target=S.RUNNING)
    def start(self) -> None:
        # From running too: a worker that died mid-run leaves it running and the retry resumes it.
        self.started_at = timezone.now()
        self.attempts += 1

    @transition(field=status, source=[S.RUNNING], target=S.SUCCEEDED)
    def succeed(self) -> None:
        self.finished_at = timezone.now()

    @transition(field=status, source=[S.QUEUED, S.RUNNING], target=S.FAILED)
    def fail(self, *, reason: str) -> None:
        self.finished_at = timezone.now()
        self.failure = reason


class SettlementLine(models.Model):
    """One balance transaction of a Stripe payout. The first run that brought it owns it."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="settlement_lines")
    line_number = models.PositiveIntegerField()
    balance_transaction_id = models.CharField(max_length=255, unique=True)
    automatic_payout_id = models.CharField(max_length=255)
    created = models.DateTimeField(null=True, blank=True)
    available_on = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    gross = models.DecimalField(max_digits=14, decimal_places=2)
    fee = models.DecimalField(max_digits=14, decimal_places=2)
    net = models.DecimalField(max_digits=14, decimal_places=2)
    reporting_category = models.CharField(max_length=50)
    source_id = models.CharField(max_length=255, blank=True, default="")
    charge_id = models.CharField(max_length=255, blank=True, default="")
    payment_intent_id = models.CharField(max_length=255, blank=True, default="")
    description = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=20, choices=MatchStatus.choices, default=MatchStatus.PENDING)
    # Read-only links to what matched; no cascade from orders or returns ever reaches here. Not indexed,
    # and neither is status: matching then updates lines in place (HOT, the table has fillfactor 50, see
    # migration 0002) without touching any index (bench/README.md has the figures).
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    refund_return = models.ForeignKey(
        "returns.Return", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    note = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["run_id", "line_number"]
        indexes = [models.Index(fields=["automatic_payout_id"], name="settleline_payout_idx")]

    def __str__(self) -> str:
        return self.balance_transaction_id


class PayoutStatus(models.TextChoices):
    AWAITING_BANK = "awaiting_bank", "Awaiting bank credit"
    IN_BANK = "in_bank", "Credited in bank"


class Payout(models.Model):
    """A Stripe payout, created once from its settlement lines; its event is emitted with that insert."""

    payout_id = models.CharField(max_length=255, unique=True)
    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="payouts")
    currency = models.CharField(max_length=3)
    charges = models.DecimalField(max_digits=16, decimal_places=2)
    refunds = models.DecimalField(max_digits=16, decimal_places=2)
    fees = models.DecimalField(max_digits=16, decimal_places=2)
    # Disputes, adjustments and other categories: folded into fees for the journal (so the payout
    # always balances) and kept here, non-zero ones raise an incident.
    other = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    net = models.DecimalField(max_digits=16, decimal_places=2)
    paid_on = models.DateField()
    lines = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=PayoutStatus.choices, default=PayoutStatus.AWAITING_BANK)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-paid_on", "-id"]
        indexes = [models.Index(fields=["status", "paid_on"], name="payout_status_paid_idx")]

    def __str__(self) -> str:
        return self.payout_id


class BankEntry(models.Model):
    """One booked entry (Ntry) of a camt.053 statement; imported once per statement and bank reference."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="bank_entries")
    account = models.CharField(max_length=64, help_text="IBAN or other account id")
    statement_id = models.CharField(max_length=64)
    # AcctSvcrRef, else NtryRef, else "sha256:" + a hash of the entry's content (see parsing).
    bank_reference = models.CharField(max_length=128)
    position = models.PositiveIntegerField(help_text="Order of the entry in the statement")
    amount = models.DecimalField(max_digits=16, decimal_places=2, help_text="Positive; see credit")
    currency = models.CharField(max_length=3)
    credit = models.BooleanField()
    booking_date = models.DateField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)
    end_to_end_id = models.CharField(max_length=64, blank=True, default="")
    remittance = models.TextField(blank=True, default="", help_text="Ustrd, Strd references, additional info")
    status = models.CharField(max_length=20, choices=MatchStatus.choices, default=MatchStatus.PENDING)
    payout = models.OneToOneField(Payout, null=True, blank=True, on_delete=models.PROTECT, related_name="bank_entry")
    note = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["run_id", "position"]
        verbose_name_plural = "bank entries"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "statement_id", "bank_reference"], name="bankentry_statement_ref_uniq"
            ),
        ]
        indexes = [models.Index(fields=["run", "status"], name="bankentry_run_status_idx")]

    def __str__(self) -> str:
        return f"{self.statement_id}/{self.bank_reference}"
