"""Seed the default approval policy for stock adjustments (value = Σ |quantity delta| × cost):

    ≤ 500.00         no approval, posts at once
    > 500.00         level 1: stock.approve_adjustment, within 24 h
    > 5,000.00       level 2: approvals.approve_as_finance, within 48 h

Only when no policy for stock adjustments exists yet; policies are edited in the admin afterwards.
"""

from decimal import Decimal

from django.db import migrations

SUBJECT = "stock.adjustment"
LEVELS = [
    (1, Decimal("500.00"), "stock.approve_adjustment", 24),
    (2, Decimal("5000.00"), "approvals.approve_as_finance", 48),
]


def seed(apps, schema_editor):
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Level = apps.get_model("approvals", "ApprovalPolicyLevel")
    db = schema_editor.connection.alias
    if Policy.objects.using(db).filter(subject_type=SUBJECT).exists():
        return
    policy = Policy.objects.using(db).create(
        name="Stock adjustments by value",
        subject_type=SUBJECT,
        metric="amount",
        active=True,
        description="Adjustments and count variances up to 500.00 post at once; above, a store-operations "
        "approver decides; above 5,000.00 finance decides as well.",
    )
    Level.objects.using(db).bulk_create(
        [
            Level(policy=policy, level=level, threshold=threshold, permission=permission, sla_hours=sla)
            for level, threshold, permission, sla in LEVELS
        ]
    )


def unseed(apps, schema_editor):
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    db = schema_editor.connection.alias
    for policy in Policy.objects.using(db).filter(subject_type=SUBJECT, name="Stock adjustments by value"):
        if not apps.get_model("approvals", "ApprovalRequest").objects.using(db).filter(policy=policy).exists():
            policy.delete()


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
