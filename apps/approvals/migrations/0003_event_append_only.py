"""The approval audit trail is append-only: PostgreSQL refuses UPDATE and DELETE on it."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION approvals_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'approvals_approvalevent is append-only'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER approvals_event_append_only
    BEFORE UPDATE OR DELETE ON approvals_approvalevent
    FOR EACH ROW EXECUTE FUNCTION approvals_event_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS approvals_event_append_only ON approvals_approvalevent;
DROP FUNCTION IF EXISTS approvals_event_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0002_default_stock_adjustment_policy")]
    operations = [migrations.RunPython(forward, backward)]
