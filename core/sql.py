"""core's hand-written SQL, in one place (docs/decisions/0014). Each statement has a contract test on
PostgreSQL (tests/test_sql_contract.py); none is added without a benchmark figure."""


def guardian_rule_sql(alias: str, user: str) -> str:
    """The guardian rule as SQL: the people_guardian row `alias` is the active guardian record of the user
    `user` (a placeholder or an expression). The ORM form is people's Guardian(user=…, is_active=True);
    every hand-written statement that needs "the user's own guardian record" says it through this."""
    return f"{alias}.user_id = {user} AND {alias}.is_active"


# What a scope is made of, in one statement: the user's current role assignments (with their unit, and the
# class of the child a carer looks after) and their guardianships (active guardian, child in school, the
# child's class). It runs on every signed-in request, so it is one prepared statement on PostgreSQL rather
# than two ORM queries (3.7 ms -> well under 1 ms); the rule itself is the same on both databases.
SCOPE_SQL = f"""
    SELECT 'r', ra.role, ra.unit_id, ra.student_id, u.district_id, u.path, sc.path, NULL, ra.id
    FROM accounts_roleassignment ra
    JOIN org_orgunit u ON u.id = ra.unit_id
    LEFT JOIN people_student st ON st.id = ra.student_id
    LEFT JOIN org_orgunit sc ON sc.id = st.school_class_id
    WHERE ra.user_id = %s AND ra.is_active = %s AND u.is_active = %s AND (ra.ends_at IS NULL OR ra.ends_at > %s)
    UNION ALL
    SELECT 'g', NULL, st.school_class_id, gs.student_id, st.district_id, c.path, NULL, gs.guardian_id, gs.id
    FROM people_guardianship gs
    JOIN people_guardian g ON g.id = gs.guardian_id
    JOIN people_student st ON st.id = gs.student_id
    JOIN org_orgunit c ON c.id = st.school_class_id
    WHERE {guardian_rule_sql('g', '%s')} AND st.is_active = %s
    ORDER BY 1 DESC, 9"""  # noqa: S608 - no input, the guardian rule's fragment


