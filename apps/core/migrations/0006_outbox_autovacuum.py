"""Vacuum the outbox often: every delivered event leaves a dead entry in the pending-events index.

With PostgreSQL's default (vacuum once 20% of a table is dead) a large outbox would collect
millions of dead entries that every relay query scans; a fixed threshold keeps that bounded
whatever the table's size. PostgreSQL only; the embedded SQLite demo has no autovacuum.
"""

from django.db import migrations

FORWARD = (
    "ALTER TABLE core_outboxevent SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, "
    "autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 10000)"
)
BACKWARD = (
    "ALTER TABLE core_outboxevent RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
    "autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("core", "0005_incident_event_append_only")]
    operations = [migrations.RunPython(forward, backward)]
