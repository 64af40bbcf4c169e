"""The kind of a learning-hours row is the namespace of its source key (0003): the column goes."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0003_ledger_source_keys'),
    ]

    operations = [
        migrations.RemoveField(model_name='learninghours', name='kind'),
    ]
