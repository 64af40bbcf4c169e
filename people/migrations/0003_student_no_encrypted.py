"""The 学籍号 ("G" + the ID number) is encrypted at rest like the ID number, with a keyed digest for
look-ups; the unique rule per district moves to the digest.

Rows are rewritten with raw SQL: the historical model's EncryptedCharField would try to decrypt the
clear values on read. people_student has no triggers (only the audit tables do, decision 0003), and
the rewrite changes no value, so no audit row is written for it.
"""

from django.db import migrations, models

import core.crypto


def _is_token(value: str) -> bool:
    try:
        core.crypto.decrypt(value)
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def encrypt_rows(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cur:
        cur.execute("SELECT id, student_no FROM people_student ORDER BY id")
        rows = cur.fetchall()
    with conn.cursor() as cur:
        for pk, value in rows:
            if not value:
                continue
            clear = core.crypto.decrypt(value) if _is_token(value) else value  # safe to run again
            cur.execute(
                "UPDATE people_student SET student_no = %s, student_no_digest = %s WHERE id = %s",
                [core.crypto.encrypt(clear), core.crypto.digest(clear), pk],
            )


def decrypt_rows(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cur:
        cur.execute("SELECT id, student_no FROM people_student ORDER BY id")
        rows = cur.fetchall()
    with conn.cursor() as cur:
        for pk, value in rows:
            if value and _is_token(value):
                cur.execute("UPDATE people_student SET student_no = %s WHERE id = %s", [core.crypto.decrypt(value), pk])


class Migration(migrations.Migration):
    dependencies = [("people", "0002_consent_one_in_force_all_children")]

    operations = [
        migrations.RemoveConstraint(model_name="student", name="student_no_unique_in_district"),
        migrations.AddField(
            model_name="student",
            name="student_no_digest",
            field=models.CharField(default="", editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="student",
            name="student_no",
            field=core.crypto.EncryptedCharField(verbose_name="学籍号"),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
        migrations.AddConstraint(
            model_name="student",
            constraint=models.UniqueConstraint(fields=("district", "student_no_digest"), name="student_no_unique_in_district"),
        ),
    ]
