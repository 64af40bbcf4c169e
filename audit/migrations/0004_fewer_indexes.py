"""Fewer indexes on the audit tables: every audited write maintains each one (bench roster-import appends
27,500 rows). (model, object_id) together serve an object's history; a partial index holds the unsealed rows
the sealer looks for; seq stays unique (the chain's order); hash needs no index of its own."""

import importlib

from django.db import migrations, models

# SQLite alters a column by rebuilding the table, which drops its triggers: put the keyed chain's back.
_keyed = importlib.import_module("audit.migrations.0003_keyed_chain")


def triggers_back(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cur:
        _keyed._drop_triggers(cur, conn.vendor)
        _keyed._create_triggers(cur, conn.vendor, keyed=True)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_keyed_chain'),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, triggers_back),  # reversed last: after the rebuilds
        migrations.AlterField(
            model_name='accessevent',
            name='hash',
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name='accessevent',
            name='model',
            field=models.CharField(max_length=60, verbose_name='对象类型'),
        ),
        migrations.AlterField(
            model_name='accessevent',
            name='object_id',
            field=models.CharField(max_length=40, verbose_name='对象ID'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(max_length=60, verbose_name='操作'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='hash',
            field=models.CharField(blank=True, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='model',
            field=models.CharField(max_length=60, verbose_name='对象类型'),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='object_id',
            field=models.CharField(max_length=40, verbose_name='对象ID'),
        ),
        migrations.AddIndex(
            model_name='accessevent',
            index=models.Index(fields=['model', 'object_id'], name='audit_access_object_idx'),
        ),
        migrations.AddIndex(
            model_name='accessevent',
            index=models.Index(condition=models.Q(('hash__isnull', True)), fields=['id'], name='audit_access_unsealed_idx'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['model', 'object_id'], name='audit_event_object_idx'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(condition=models.Q(('hash__isnull', True)), fields=['id'], name='audit_event_unsealed_idx'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['action'], name='audit_event_action_idx'),
        ),
        migrations.RunPython(triggers_back, migrations.RunPython.noop),
    ]
