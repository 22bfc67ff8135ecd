"""Approval requests name the location their subject belongs to (for approvers scoped to locations);
requests made before are filled in from their subjects."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Cast

# subject type → (app, model, the field that holds the location's id)
SUBJECT_LOCATIONS = {
    "stock.adjustment": ("stock", "StockAdjustment", "location_id"),
    "stock.transfer": ("stock", "StockTransfer", "source_id"),
    "suppliers.purchase_order": ("suppliers", "PurchaseOrder", "location_id"),
    "returns.refund": ("returns", "Return", "location_id"),
}


def fill_locations(apps, schema_editor):
    """One UPDATE per subject type: each request takes its subject's location."""
    ApprovalRequest = apps.get_model("approvals", "ApprovalRequest")
    for subject_type, (app_label, model_name, field) in SUBJECT_LOCATIONS.items():
        model = apps.get_model(app_label, model_name)
        subject = model.objects.filter(pk=Cast(OuterRef("subject_id"), models.BigIntegerField()))
        ApprovalRequest.objects.filter(
            subject_type=subject_type, location__isnull=True, subject_id__regex=r"^[0-9]+$"
        ).update(location_id=Subquery(subject.values(field)[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0005_withdrawn_outcome"),
        ("catalog", "0001_initial"),
        ("stock", "0007_adjustment_withdrawn"),
        ("suppliers", "0002_default_spend_policies"),
        ("returns", "0002_default_refund_policy"),
    ]

    operations = [
        migrations.AddField(
            model_name="approvalrequest",
            name="location",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.location",
            ),
        ),
        migrations.RunPython(fill_locations, migrations.RunPython.noop),
    ]
