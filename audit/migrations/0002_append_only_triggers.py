"""Database triggers that refuse UPDATE and DELETE on audit rows, on SQLite and PostgreSQL alike.

PostgreSQL's TRUNCATE is not blocked (Django's test flush uses it); production deployments revoke
TRUNCATE, UPDATE and DELETE on these tables from the application's role (docs/deploy.md).
"""

from django.db import migrations

TABLES = ["audit_auditevent", "audit_accessevent"]


def forwards(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            cur.execute(
                "CREATE OR REPLACE FUNCTION gongyu_audit_append_only() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'audit rows are append-only'; END; $$ LANGUAGE plpgsql"
            )
            for t in TABLES:
                cur.execute(
                    f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                    "FOR EACH ROW EXECUTE FUNCTION gongyu_audit_append_only()"
                )
        elif conn.vendor == "sqlite":
            for t in TABLES:
                for op in ("UPDATE", "DELETE"):
                    cur.execute(
                        f"CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t} "
                        "BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END"
                    )


def backwards(apps, schema_editor):
    conn = schema_editor.connection
    with conn.cursor() as cur:
        for t in TABLES:
            if conn.vendor == "postgresql":
                cur.execute(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
            elif conn.vendor == "sqlite":
                for op in ("update", "delete"):
                    cur.execute(f"DROP TRIGGER IF EXISTS {t}_no_{op}")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
