"""Seed the default approval policy for stock transfers.

The transfer service scores a transfer 1 when it needs approval (value above TRANSFER_APPROVAL_VALUE,
or the source would fall below its replenishment minimum) and 0 otherwise; the policy sends a score
above 0 to one level holding stock.approve_transfer. Only when no transfer policy exists yet.
"""

from decimal import Decimal

from django.db import migrations

SUBJECT = "stock.transfer"
NAME = "Stock transfers above value or below minimum"


def seed(apps, schema_editor):
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Level = apps.get_model("approvals", "ApprovalPolicyLevel")
    db = schema_editor.connection.alias
    if Policy.objects.using(db).filter(subject_type=SUBJECT).exists():
        return
    policy = Policy.objects.using(db).create(
        name=NAME,
        subject_type=SUBJECT,
        metric="risk_score",
        active=True,
        description="Risk score 1 when a transfer is worth more than TRANSFER_APPROVAL_VALUE or takes its "
        "source below the replenishment minimum; such transfers need an approver.",
    )
    Level.objects.using(db).create(
        policy=policy, level=1, threshold=Decimal("0"), permission="stock.approve_transfer", sla_hours=24
    )


def unseed(apps, schema_editor):
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Request = apps.get_model("approvals", "ApprovalRequest")
    db = schema_editor.connection.alias
    for policy in Policy.objects.using(db).filter(subject_type=SUBJECT, name=NAME):
        if not Request.objects.using(db).filter(policy=policy).exists():
            policy.delete()


class Migration(migrations.Migration):
    dependencies = [("stock", "0005_transfers_and_replenishment"), ("approvals", "0004_event_action_released")]
    operations = [migrations.RunPython(seed, unseed)]
