"""Seed the retail chart of accounts and the approval policy for manual journal entries.

Accounts are data: finance may rename or add accounts in the admin; the posting rules
(apps/journal/rules.py) refer to them by code. The policy: every manual entry (amount > 0) needs
one finance-level approval (`approvals.approve_as_finance`), by someone other than the author.
"""

from decimal import Decimal

from django.db import migrations

ACCOUNTS = [
    ("1000", "Bank", "asset", "", "Operating bank account; payouts land here"),
    ("1100", "Card clearing", "asset", "", "Card and wallet charges not yet paid out by the provider"),
    ("1200", "Accounts receivable", "asset", "", "Amounts owed by marketplaces and invoice customers"),
    ("1300", "Inventory", "asset", "", "Goods on hand at moving average cost, per location"),
    ("1310", "Goods in transit", "asset", "", "Transfers dispatched and not yet received"),
    ("2000", "Accounts payable", "liability", "", "Supplier invoices matched and not yet paid"),
    ("2100", "Goods received not invoiced", "liability", "", "Purchase receipts awaiting the supplier invoice"),
    ("2200", "Sales tax payable", "liability", "", "Tax contained in tax-inclusive prices"),
    ("3000", "Opening balance equity", "equity", "", "Opening stock and balances brought in"),
    ("3100", "Inventory adjustments", "equity", "", "Receipts without a purchase order (opening stock, found goods)"),
    ("4000", "Sales revenue: web", "revenue", "web", "Net of sales tax"),
    ("4010", "Sales revenue: store", "revenue", "store", "Net of sales tax"),
    ("4020", "Sales revenue: marketplace", "revenue", "marketplace", "Net of sales tax"),
    ("4100", "Shipping income", "revenue", "", "Shipping charged to customers"),
    ("4500", "Returns and refunds", "revenue", "", "Contra revenue: refunds granted, net of sales tax"),
    ("5000", "Cost of goods sold", "expense", "", "Goods handed over, at moving average cost"),
    ("5100", "Inventory write-offs", "expense", "", "Damage, shrink, scrapped returns, count losses"),
    ("5200", "Purchase price variance", "expense", "", "Invoice cost above (debit) or below (credit) receipt cost"),
    ("6000", "Payment fees", "expense", "", "Card and payout fees charged by payment providers"),
]

POLICY = "Manual journal entries"
SUBJECT = "journal.manual_entry"


def seed(apps, schema_editor):
    Account = apps.get_model("journal", "Account")
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Level = apps.get_model("approvals", "ApprovalPolicyLevel")
    db = schema_editor.connection.alias
    existing = set(Account.objects.using(db).values_list("code", flat=True))
    Account.objects.using(db).bulk_create(
        [
            Account(code=code, name=name, type=kind, channel=channel, description=desc)
            for code, name, kind, channel, desc in ACCOUNTS
            if code not in existing
        ]
    )
    if not Policy.objects.using(db).filter(subject_type=SUBJECT).exists():
        policy = Policy.objects.using(db).create(
            name=POLICY,
            subject_type=SUBJECT,
            metric="amount",
            active=True,
            description="Every manual journal entry is approved by finance, never by its author.",
        )
        Level.objects.using(db).create(
            policy=policy, level=1, threshold=Decimal("0"), permission="approvals.approve_as_finance", sla_hours=48
        )


def unseed(apps, schema_editor):
    db = schema_editor.connection.alias
    apps.get_model("approvals", "ApprovalPolicy").objects.using(db).filter(subject_type=SUBJECT, name=POLICY).delete()
    apps.get_model("journal", "Account").objects.using(db).filter(code__in=[a[0] for a in ACCOUNTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("journal", "0002_ledger_guards"), ("approvals", "0002_default_stock_adjustment_policy")]
    operations = [migrations.RunPython(seed, unseed)]
