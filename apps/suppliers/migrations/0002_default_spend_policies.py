"""Seed the default spend policy for purchase orders and the policy for invoice variances.

Purchase orders decide on their amount in the company currency: up to 2,000.00 no approval
(approved on submit); above 2,000.00 one level holding suppliers.approve_purchaseorder; above
25,000.00 a second level from finance. Accepting an invoice variance always needs finance.
Only seeded when no policy for the subject type exists yet; edited in the admin afterwards.
"""

from decimal import Decimal

from django.db import migrations

POLICIES = [
    (
        "suppliers.purchase_order",
        "Purchase order spend bands",
        "Up to 2,000.00 approved on submit; up to 25,000.00 one buyer-manager level; above, finance as well.",
        [
            (1, Decimal("2000.00"), "suppliers.approve_purchaseorder", 24),
            (2, Decimal("25000.00"), "approvals.approve_as_finance", 48),
        ],
    ),
    (
        "suppliers.invoice_variance",
        "Supplier invoice variance acceptance",
        "Every accepted variance on a supplier invoice is decided by finance.",
        [(1, Decimal("0.00"), "approvals.approve_as_finance", 48)],
    ),
]


def seed(apps, schema_editor):
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Level = apps.get_model("approvals", "ApprovalPolicyLevel")
    db = schema_editor.connection.alias
    for subject, name, description, levels in POLICIES:
        if Policy.objects.using(db).filter(subject_type=subject).exists():
            continue
        policy = Policy.objects.using(db).create(
            name=name, subject_type=subject, metric="amount", active=True, description=description
        )
        for level, threshold, permission, sla in levels:
            Level.objects.using(db).create(
                policy=policy, level=level, threshold=threshold, permission=permission, sla_hours=sla
            )


def unseed(apps, schema_editor):
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Request = apps.get_model("approvals", "ApprovalRequest")
    db = schema_editor.connection.alias
    for subject, name, _, _ in POLICIES:
        for policy in Policy.objects.using(db).filter(subject_type=subject, name=name):
            if not Request.objects.using(db).filter(policy=policy).exists():
                policy.delete()


class Migration(migrations.Migration):
    dependencies = [("suppliers", "0001_initial"), ("approvals", "0004_event_action_released")]
    operations = [migrations.RunPython(seed, unseed)]
