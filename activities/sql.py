"""activities' hand-written SQL, in one place (docs/decisions/0014). Each statement has a contract test on
PostgreSQL (tests/test_sql_contract.py); none is added without a benchmark figure."""

def checkin_insert(table: str, rows: int) -> str:
    """services._checkin_rows(): check `rows` people in at once; the database says who is new (RETURNING),
    so nothing downstream is credited twice. Parameters per row: session, activity, district, guardian,
    student, method, checked-in-by, at."""
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * rows)
    return (
        f"INSERT INTO {table} (session_id, activity_id, district_id, guardian_id, student_id, method, checked_in_by_id, at) "  # noqa: S608 — table name from the model
        f"VALUES {values} ON CONFLICT DO NOTHING RETURNING guardian_id, student_id"
    )
