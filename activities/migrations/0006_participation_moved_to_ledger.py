"""Participation and its coverage roll-up now belong to the ledger app (ledger 0001); the tables stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0001_initial'),
        ('activities', '0005_participation_by_source'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay (db_table kept): only Django's idea of which app owns them changes.
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='participation',
                    name='district',
                ),
                migrations.RemoveField(
                    model_name='participation',
                    name='school',
                ),
                migrations.RemoveField(
                    model_name='participation',
                    name='school_class',
                ),
                migrations.RemoveField(
                    model_name='participation',
                    name='student',
                ),
                migrations.RemoveField(
                    model_name='periodrollup',
                    name='period',
                ),
                migrations.DeleteModel(
                    name='FamilyPeriod',
                ),
                migrations.DeleteModel(
                    name='Participation',
                ),
                migrations.DeleteModel(
                    name='PeriodRollup',
                ),
            ],
        ),
    ]
