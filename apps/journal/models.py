"""Journal models: chart of accounts, monthly periods, entries and lines, moving average cost.

Only apps.journal.services writes them. PostgreSQL guards the ledger itself (migration 0002): a
posted entry balances (deferred constraint trigger) and posted entries and their lines are
immutable except for the one `posted → reversed` marker.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

ZERO = Decimal("0.00")


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    REVENUE = "revenue", "Revenue"
    EXPENSE = "expense", "Expense"


# Debit-normal types show their balance as debit − credit; the others as credit − debit.
DEBIT_NORMAL = {AccountType.ASSET, AccountType.EXPENSE}


class Account(models.Model):
    """One account of the chart (seeded by migration 0003; `code` is what rules and reports name)."""

    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    channel = models.CharField(max_length=20, blank=True, default="", help_text="Revenue accounts per sales channel")
    description = models.CharField(max_length=300, blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    SOFT_CLOSED = "soft_closed", "Soft closed"
    HARD_CLOSED = "hard_closed", "Hard closed"


class Period(ConcurrentTransitionMixin, models.Model):
    """A calendar month. Soft closed: only finance posts (manual entries); hard closed: nothing posts."""

    start = models.DateField(unique=True, help_text="First day of the month")
    end = models.DateField(help_text="Last day of the month")
    status = FSMField(max_length=12, choices=PeriodStatus.choices, default=PeriodStatus.OPEN, protected=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["start"]
        permissions = [
            ("close_period", "Can soft- and hard-close accounting periods"),
            ("post_soft_closed_period", "Can post manual entries into a soft-closed period"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="journal_period_end_after_start"),
        ]

    def __str__(self) -> str:
        return self.start.strftime("%Y-%m")

    @property
    def key(self) -> str:
        return self.start.strftime("%Y-%m")

    @transition(field=status, source=PeriodStatus.OPEN, target=PeriodStatus.SOFT_CLOSED)
    def soft_close(self) -> None:
        pass

    @transition(field=status, source=[PeriodStatus.OPEN, PeriodStatus.SOFT_CLOSED], target=PeriodStatus.HARD_CLOSED)
    def hard_close(self) -> None:
        pass

    @transition(field=status, source=PeriodStatus.SOFT_CLOSED, target=PeriodStatus.OPEN)
    def reopen(self) -> None:
        pass


class EntryStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    POSTED = "posted", "Posted"
    REVERSED = "reversed", "Reversed"


class ManualApproval(models.TextChoices):
    NOT_MANUAL = "", "Not a manual entry"
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class JournalEntry(models.Model):
    """A balanced set of lines on one date. Posted entries never change; corrections are reversals.

    `(source_type, source_id, event)` is unique: an operational event posts at most one entry.
    `original_date` is set when the business date fell in a closed period and the entry was
    posted into the first open period instead.
    """

    date = models.DateField()
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="entries")
    status = FSMField(max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT, protected=True)
    description = models.CharField(max_length=300)
    source_type = models.CharField(max_length=60)
    source_id = models.CharField(max_length=64)
    event = models.CharField(max_length=100)
    outbox_event_id = models.BigIntegerField(null=True, blank=True)
    original_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    reversal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    manual_approval = models.CharField(max_length=10, choices=ManualApproval.choices, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "journal entries"
        permissions = [
            ("reverse_journalentry", "Can reverse posted journal entries"),
            ("view_financial_reports", "Can view trial balance, ledger and P&L reports"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source_type", "source_id", "event"], name="journal_entry_one_per_source"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "posted", "reversed"]), name="journal_entry_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["period", "date"], name="journal_entry_period_idx"),
            models.Index(fields=["source_type", "source_id"], name="journal_entry_source_idx"),
        ]

    def __str__(self) -> str:
        return f"JE-{self.pk} {self.date} {self.description}"

    @property
    def number(self) -> str:
        return f"JE-{self.pk:06d}"

    @transition(field=status, source=EntryStatus.DRAFT, target=EntryStatus.POSTED)
    def post(self) -> None:
        self.posted_at = timezone.now()

    @transition(field=status, source=EntryStatus.POSTED, target=EntryStatus.REVERSED)
    def mark_reversed(self) -> None:
        pass


class JournalLine(models.Model):
    """One side of an entry. `debit`/`credit` are company currency; `amount` is the same figure in
    the document's `currency`. `location` (code) and `channel` are plain dimension values."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    debit = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    credit = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="In `currency`, on the line's side")
    location = models.CharField(max_length=20, blank=True, default="")
    channel = models.CharField(max_length=20, blank=True, default="")
    memo = models.CharField(max_length=200, blank=True, default="")
    product_id = models.BigIntegerField(null=True, blank=True, help_text="Inventory, transit and COGS lines")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0, credit=0) | Q(debit=0, credit__gt=0)),
                name="journal_line_one_side",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="journal_line_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["account", "entry"], name="journal_line_account_idx")]

    def __str__(self) -> str:
        return f"{self.account.code} Dr {self.debit} Cr {self.credit}"


class ProductCost(models.Model):
    """Moving average cost of one product at one location, kept from the events the journal posts.

    `value` is exactly what the inventory lines for this product and location add up to, so the
    inventory account per location equals Σ quantity × average when the quantities agree with stock.
    """

    product_id = models.BigIntegerField()
    location = models.CharField(max_length=20)
    sku = models.CharField(max_length=64, blank=True, default="")
    quantity = models.IntegerField(default=0)
    value = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO)
    unit_cost = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product_id", "location"], name="journal_productcost_one_per_location")
        ]

    def __str__(self) -> str:
        return f"{self.sku or self.product_id}@{self.location}: {self.quantity} × {self.unit_cost}"
