"""The ledger's hand-written SQL, in one place (docs/decisions/0014). Each statement has a contract test on
PostgreSQL (tests/test_sql_contract.py); none is added without a benchmark figure."""

# ledger.rollup.ensure(): back-fill a period's FamilyPeriod rows from Participation (parameter: the period id).
# Idempotent: a family already rolled up for the period and source is left as it is.
FAMILY_PERIOD_BACKFILL = (
    "INSERT INTO activities_familyperiod (period_id, student_id, source, district_id) "
    "SELECT DISTINCT pr.id, p.student_id, p.source, p.district_id FROM activities_participation p "
    "JOIN periods_period pr ON pr.id = %s "
    "WHERE p.district_id = pr.district_id AND p.day >= pr.start AND p.day <= pr.\"end\" "
    "ON CONFLICT (period_id, student_id, source) DO NOTHING"
)

# ledger.rollup.ensure(): mark the period as back-filled (parameters: the period id, now).
PERIOD_ROLLUP_MARK = (
    "INSERT INTO activities_periodrollup (period_id, built_at) VALUES (%s, %s) ON CONFLICT (period_id) DO NOTHING"
)


def analyze(table: str) -> str:
    """Fresh planner statistics for a table just filled in bulk (PostgreSQL). table: from model metadata."""
    return f"ANALYZE {table}"
