"""Learning hours are moving to the ledger app: their source keys get the registered kind's namespace
("session:12" → "activity.session:12", "lesson:7" → "course.lesson:7"), which makes the old `kind` column
redundant (docs/decisions/0010). An activity that runs a lesson names the lesson as the source it credits,
so that attending and watching the lesson stay one ledger row."""

from django.db import migrations

RENAMES = (("session:", "activity.session:"), ("lesson:", "course.lesson:"))


def forward(apps, schema_editor):
    Lesson = apps.get_model("courses", "Lesson")
    Activity = apps.get_model("activities", "Activity")
    for lesson_id, activity_id in Lesson.objects.filter(activity__isnull=False).values_list("id", "activity_id").iterator():
        Activity.objects.filter(pk=activity_id).update(credit_source=f"course.lesson:{lesson_id}")
    table = apps.get_model("courses", "LearningHours")._meta.db_table
    with schema_editor.connection.cursor() as cur:
        for old, new in RENAMES:
            cur.execute(
                f"UPDATE {table} SET source_key = %s || SUBSTR(source_key, %s) WHERE source_key LIKE %s",  # noqa: S608
                [new, len(old) + 1, f"{old}%"],
            )


def backward(apps, schema_editor):
    table = apps.get_model("courses", "LearningHours")._meta.db_table
    with schema_editor.connection.cursor() as cur:
        for old, new in RENAMES:
            kind = "lesson" if old == "lesson:" else "activity"
            cur.execute(
                f"UPDATE {table} SET source_key = %s || SUBSTR(source_key, %s), kind = %s WHERE source_key LIKE %s",  # noqa: S608
                [old, len(new) + 1, kind, f"{new}%"],
            )


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0002_lesson_live_url'),
        ('activities', '0004_ledger_source_keys'),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
