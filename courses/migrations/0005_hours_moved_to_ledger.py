"""Learning hours, certificates and the hours rule now belong to the ledger app (ledger 0001); the tables stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0001_initial'),
        ('courses', '0004_learninghours_drop_kind'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay (db_table kept): only Django's idea of which app owns them changes.
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='learninghours',
                    name='district',
                ),
                migrations.RemoveField(
                    model_name='learninghours',
                    name='guardian',
                ),
                migrations.RemoveField(
                    model_name='learninghours',
                    name='school',
                ),
                migrations.RemoveField(
                    model_name='schoolsetting',
                    name='school',
                ),
                migrations.DeleteModel(
                    name='Certificate',
                ),
                migrations.DeleteModel(
                    name='LearningHours',
                ),
                migrations.DeleteModel(
                    name='SchoolSetting',
                ),
            ],
        ),
    ]
