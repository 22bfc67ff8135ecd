"""Seed the default approval policy for return refunds (metric: refund amount):

    ≤ RETURN_REFUND_APPROVAL_THRESHOLD (250.00)   no approval (unless the risk band was not auto_authorize)
    > threshold                                   level 1: returns.approve_refund, within 24 h

Only when no policy for refunds exists yet; policies are edited in the admin afterwards.
"""

from decimal import Decimal

from django.conf import settings
from django.db import migrations

SUBJECT = "returns.refund"
NAME = "Return refunds by amount"


def seed(apps, schema_editor):
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Level = apps.get_model("approvals", "ApprovalPolicyLevel")
    db = schema_editor.connection.alias
    if Policy.objects.using(db).filter(subject_type=SUBJECT).exists():
        return
    threshold = Decimal(getattr(settings, "RETURN_REFUND_APPROVAL_THRESHOLD", Decimal("250.00")))
    policy = Policy.objects.using(db).create(
        name=NAME,
        subject_type=SUBJECT,
        metric="amount",
        active=True,
        description=f"Refunds up to {threshold} of returns the scorecard auto-authorized are paid at once; larger "
        "refunds, and refunds of returns that went through review, need a refund approver.",
    )
    Level.objects.using(db).create(
        policy=policy, level=1, threshold=threshold, permission="returns.approve_refund", sla_hours=24
    )


def unseed(apps, schema_editor):
    Policy = apps.get_model("approvals", "ApprovalPolicy")
    Request = apps.get_model("approvals", "ApprovalRequest")
    db = schema_editor.connection.alias
    for policy in Policy.objects.using(db).filter(subject_type=SUBJECT, name=NAME):
        if not Request.objects.using(db).filter(policy=policy).exists():
            policy.delete()


class Migration(migrations.Migration):
    dependencies = [("returns", "0001_initial"), ("approvals", "0002_default_stock_adjustment_policy")]
    operations = [migrations.RunPython(seed, unseed)]
