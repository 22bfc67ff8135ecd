"""Seed the retail chart of accounts and the approval policy for manual journal entries.

Accounts are data: finance may rename or add accounts in the admin; the posting rules
(apps/journal/rules.py) refer to them by code. The policy: every manual entry (amount > 0) needs
one finance-level approval (`approvals.approve_as_finance`), by someone other than the author.
"""

from decimal import Decimal

from django.db import migrations

from apps.journal.chart import ACCOUNTS, chart_ensure


POLICY = "Manual journal entries"
SUBJECT = "journal.manual_entry"


def seed(apps, schema_editor):
    Account = apps.get_model("journal", "Account")
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Level = apps.get_model("approvals", "ApprovalPolicyLevel")
    db = schema_editor.connection.alias
    chart_ensure(Account, using=db)
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
