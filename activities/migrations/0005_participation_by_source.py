"""The participation row is keyed by (source_key, student) instead of a foreign key per kind of source:
the ledger app that takes it over names no activity table."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('activities', '0004_ledger_source_keys'),
    ]

    operations = [
        migrations.RemoveConstraint(model_name='participation', name='participation_session_once'),
        migrations.RemoveConstraint(model_name='participation', name='participation_campaign_once'),
        migrations.RemoveField(model_name='participation', name='session'),
        migrations.RemoveField(model_name='participation', name='campaign'),
        migrations.AlterField(model_name='participation', name='source_key', field=models.CharField(max_length=40)),
        migrations.AlterField(model_name='participation', name='source', field=models.CharField(max_length=10)),
        migrations.AlterField(model_name='familyperiod', name='source', field=models.CharField(max_length=10)),
        migrations.AddConstraint(
            model_name='participation',
            constraint=models.UniqueConstraint(fields=('source_key', 'student'), name='participation_once_per_source'),
        ),
    ]
