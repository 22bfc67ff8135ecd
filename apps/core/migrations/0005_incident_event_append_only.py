"""The incident trail is append-only: PostgreSQL refuses UPDATE and DELETE on core_incidentevent."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION core_incident_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_incidentevent is append-only'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_incident_event_append_only
    BEFORE UPDATE OR DELETE ON core_incidentevent
    FOR EACH ROW EXECUTE FUNCTION core_incident_event_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS core_incident_event_append_only ON core_incidentevent;
DROP FUNCTION IF EXISTS core_incident_event_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_exchange_rates")]
    operations = [migrations.RunPython(forward, backward)]
