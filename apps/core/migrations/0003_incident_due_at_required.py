# Every incident has a due date (backfilled by 0002); a separate migration, so that PostgreSQL does
# not alter the table in the transaction that just wrote rows referencing it.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0002_incident_queue'),
    ]

    operations = [
        migrations.AlterField(
            model_name='incident',
            name='due_at',
            field=models.DateTimeField(),
        ),
    ]
