"""Participation is moving to the ledger app, which knows no activity: each row gets the source key
("activity.session:<id>", "activity.campaign:<id>") that replaces its foreign keys (docs/decisions/0010).
An activity that a course lesson runs names the ledger source it credits (set by courses' migration)."""

from django.db import migrations, models


def fill(apps, schema_editor):
    table = apps.get_model("activities", "Participation")._meta.db_table
    with schema_editor.connection.cursor() as cur:
        for field, kind in (("session_id", "activity.session"), ("campaign_id", "activity.campaign")):
            cur.execute(
                f"UPDATE {table} SET source_key = %s || CAST({field} AS VARCHAR(20)) WHERE {field} IS NOT NULL",  # noqa: S608
                [f"{kind}:"],
            )


def unfill(apps, schema_editor):
    Participation = apps.get_model("activities", "Participation")
    for row in Participation.objects.exclude(source_key="").only("id", "source_key").iterator():
        kind, _sep, pk = row.source_key.partition(":")
        field = {"activity.session": "session_id", "activity.campaign": "campaign_id"}.get(kind)
        if field and pk.isdigit():
            Participation.objects.filter(pk=row.pk).update(**{field: int(pk)})


class Migration(migrations.Migration):

    dependencies = [
        ('activities', '0003_activity_announce'),
    ]

    operations = [
        migrations.AddField(
            model_name='activity',
            name='credit_source',
            field=models.CharField(blank=True, default='', editable=False, max_length=40),
        ),
        migrations.AddField(
            model_name='participation',
            name='source_key',
            field=models.CharField(default='', max_length=40),
        ),
        migrations.RunPython(fill, unfill, elidable=False),
    ]
