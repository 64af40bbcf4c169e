"""The kind of a learning-hours row is the namespace of its source key (0003): the column goes."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0003_ledger_source_keys'),
    ]

    operations = [
        # A default first, so that migrating back can add the column to existing rows (0003 then fills it).
        migrations.AlterField(
            model_name='learninghours', name='kind',
            field=models.CharField(choices=[('activity', '活动/讲座'), ('lesson', '家长学校课程')], default='', max_length=10),
        ),
        migrations.RemoveField(model_name='learninghours', name='kind'),
    ]
