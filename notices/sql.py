"""notices' hand-written SQL, in one place (docs/decisions/0014). Each statement has a contract test on
PostgreSQL (tests/test_sql_contract.py); none is added without a benchmark figure.

The fan-out's statements (receipts, class rows, class counts, the receipts it pushes) are here too; the
delivery insert they feed is messaging's (messaging/sql.py)."""

from core.sql import guardian_rule_sql


def open_receipt(receipt_sql: str, notice_sql: str, token_sql: str | None = None) -> str:
    """The statement behind ReceiptQuerySet.open_guardian_own (receipt_sql, notice_sql: the SELECT lists of
    models._open_columns()). Parameters: notice id, user id, now.

    With token_sql (accounts.tokens.token_statement, built on accounts.sql.token) the user is the token's instead, checked in the same
    statement as its WITH part `t`. Parameters: digest, now, notice id, now. Its row starts with t's
    columns, NULLs after them when the user has no such receipt; a bad token gives no row at all."""
    if token_sql:
        start, user_id, token_cols = f"WITH t AS ({token_sql}), ", "(SELECT t.id FROM t)", "t.*, "
        joined = "t LEFT JOIN (r JOIN notices_notice n ON n.id = r.notice_id LEFT JOIN m ON m.id = r.id) ON true"
    else:
        start, user_id, token_cols = "WITH ", "%s", ""
        joined = "r JOIN notices_notice n ON n.id = r.notice_id LEFT JOIN m ON m.id = r.id"
    return f"""
            {start}r AS (
                SELECT {receipt_sql} FROM notices_receipt r
                WHERE r.notice_id = %s
                  AND r.guardian_id = (SELECT g.id FROM people_guardian g WHERE {guardian_rule_sql("g", user_id)} LIMIT 1)
            ), m AS (
                -- A read mark commits without waiting for the disk (docs/decisions/0006): for this transaction only.
                UPDATE notices_receipt SET read_at = %s
                WHERE id = (SELECT id FROM r) AND read_at IS NULL AND set_config('synchronous_commit', 'off', true) = 'off'
                RETURNING id, read_at
            ), mc AS (
                -- Children in two classes: the further class counts the read too (ReceiptClass copies).
                UPDATE notices_receiptclass SET read_at = (SELECT read_at FROM m)
                WHERE receipt_id = (SELECT id FROM m) AND read_at IS NULL
            )
            SELECT {token_cols}r.*, m.read_at, {notice_sql},
                   ARRAY(SELECT st.name
                         FROM unnest(string_to_array(btrim(r.students, '/'), '/')::bigint[]) WITH ORDINALITY AS x(sid, pos)
                         JOIN people_student st ON st.id = x.sid
                         JOIN people_guardianship gs ON gs.student_id = st.id AND gs.guardian_id = r.guardian_id
                         ORDER BY x.pos)
            FROM {joined}"""  # noqa: S608 - columns from model metadata


# Per-class figures of a counted notice in one statement: class, grade and school names, the size counted
# by the fan-out, and the reads (and replies) of the first-class receipts plus those of the further-class
# rows. Aggregates only: no recipient's data leaves the database.
COUNTED_CLASSES = """
    SELECT c.id, c.name, c.path, c.class_no, g.grade_year, g.parent_id, s.name, cc.total,
           COALESCE(r.n, 0), COALESCE(x.n_read, 0), COALESCE(p.n, 0), COALESCE(x.n_replied, 0)
    FROM notices_noticeclasscount cc
    JOIN org_orgunit c ON c.id = cc.school_class_id AND c.kind = 'class'
    LEFT JOIN org_orgunit g ON g.id = c.parent_id
    LEFT JOIN org_orgunit s ON s.id = g.parent_id
    LEFT JOIN (SELECT school_class_id, COUNT(*) AS n FROM notices_receipt
               WHERE notice_id = %(notice)s AND read_at IS NOT NULL GROUP BY school_class_id) r
           ON r.school_class_id = cc.school_class_id
    LEFT JOIN (SELECT school_class_id, COUNT(*) AS n FROM notices_receipt
               WHERE notice_id = %(notice)s AND replied_at IS NOT NULL AND %(needs_reply)s GROUP BY school_class_id) p
           ON p.school_class_id = cc.school_class_id
    LEFT JOIN (SELECT school_class_id, COUNT(read_at) AS n_read, COUNT(replied_at) AS n_replied FROM notices_receiptclass
               WHERE notice_id = %(notice)s GROUP BY school_class_id) x
           ON x.school_class_id = cc.school_class_id
    WHERE cc.notice_id = %(notice)s {only}"""


def receipt_in_classes(n: int) -> str:
    """A WHERE fragment on notices_receipt `r`: a receipt of one of n classes, as its first class or a further
    one (ReceiptClass). Parameters: the n class ids, twice."""
    marks = ", ".join(["%s"] * n)
    return f"r.school_class_id IN ({marks}) OR r.id IN (SELECT rc.receipt_id FROM notices_receiptclass rc WHERE rc.notice_id = r.notice_id AND rc.school_class_id IN ({marks}))"  # noqa: S608 - placeholders only


# --- the fan-out (notices/fanout.py): receipts, class rows and class counts, written set-based -------------
# Assembled from constants and %s placeholders only: every value (ids, paths, times) is a parameter.


def audience_condition(audience: dict, alias: str = "s") -> tuple[str, list]:
    """SQL condition on a student alias: in an addressed class (by path prefix) or hand-picked."""
    parts, params = [], []
    paths = audience.get("unit_paths") or []
    if audience.get("include_guardians", True) and paths:
        likes = " OR ".join("u.path LIKE %s" for _ in paths)
        parts.append(f"{alias}.school_class_id IN (SELECT u.id FROM org_orgunit u WHERE u.kind = 'class' AND ({likes}))")  # noqa: S608
        # Paths hold only digits and slashes: no LIKE wildcard can hide in them.
        params += [p + "%" for p in paths]
    ids = [int(i) for i in audience.get("student_ids") or []]
    if ids:
        parts.append(f"{alias}.id IN ({', '.join(['%s'] * len(ids))})")
        params += ids
    if not parts:
        return "", []
    return "(" + " OR ".join(parts) + ")", params


def receipt_batch(cond: str, vendor: str) -> str:
    """One receipt per guardian with ids in [lo, hi) naming all their addressed children (cond: on `s`).
    Parameters: notice id, now, False, lo, hi, then cond's."""
    cols = "notice_id, guardian_id, user_id, household_id, school_class_id, students, created_at, reply, reply_comment, replied_by_household, reminder_count"
    if vendor == "postgresql":
        return f"""
            INSERT INTO notices_receipt ({cols})
            SELECT %s, gs.guardian_id, NULL, g.household_id,
                   (array_agg(s.school_class_id ORDER BY s.id))[1],
                   '/' || string_agg(s.id::text, '/' ORDER BY s.id) || '/',
                   %s, '', '', %s, 0
            FROM people_guardianship gs
            JOIN people_student s ON s.id = gs.student_id
            JOIN people_guardian g ON g.id = gs.guardian_id
            WHERE gs.guardian_id >= %s AND gs.guardian_id < %s AND s.is_active AND g.is_active AND {cond}
            GROUP BY gs.guardian_id, g.household_id
            ON CONFLICT DO NOTHING"""  # noqa: S608
    # SQLite: a bare column beside MIN() takes its value from the row holding the minimum.
    return f"""
        INSERT INTO notices_receipt ({cols})
        SELECT %s, guardian_id, NULL, household_id, first_class, '/' || sids || '/', %s, '', '', %s, 0
        FROM (
            SELECT gs.guardian_id AS guardian_id, g.household_id AS household_id, MIN(s.id) AS first_id,
                   s.school_class_id AS first_class, group_concat(s.id, '/') AS sids
            FROM people_guardianship gs
            JOIN people_student s ON s.id = gs.student_id
            JOIN people_guardian g ON g.id = gs.guardian_id
            WHERE gs.guardian_id >= %s AND gs.guardian_id < %s AND s.is_active AND g.is_active AND {cond}
            GROUP BY gs.guardian_id, g.household_id
        ) WHERE 1
        ON CONFLICT DO NOTHING"""  # noqa: S608


def receipt_classes(cond: str) -> str:
    """The further classes of receipts naming children in several. Parameters: notice id, lo, hi, "/%/%/", cond's."""
    return f"""
        INSERT INTO notices_receiptclass (notice_id, receipt_id, school_class_id)
        SELECT DISTINCT r.notice_id, r.id, s.school_class_id
        FROM notices_receipt r
        JOIN people_guardianship gs ON gs.guardian_id = r.guardian_id
        JOIN people_student s ON s.id = gs.student_id
        WHERE r.notice_id = %s AND r.guardian_id >= %s AND r.guardian_id < %s AND r.students LIKE %s
          AND s.school_class_id <> r.school_class_id AND s.is_active AND {cond}
        ON CONFLICT DO NOTHING"""  # noqa: S608


def staff_receipts(roles: int, paths: int) -> str:
    """One receipt per staff user holding one of `roles` roles on a unit under one of `paths` paths.
    Parameters: notice id, now, False, now, the roles, the paths' LIKE prefixes."""
    likes = " OR ".join("u.path LIKE %s" for _ in range(paths))
    return f"""
        INSERT INTO notices_receipt (notice_id, guardian_id, user_id, household_id, school_class_id, students, created_at,
                                     reply, reply_comment, replied_by_household, reminder_count)
        SELECT %s, NULL, ra.user_id, NULL, NULL, '', %s, '', '', %s, 0
        FROM accounts_roleassignment ra
        JOIN org_orgunit u ON u.id = ra.unit_id
        JOIN accounts_user au ON au.id = ra.user_id
        WHERE ra.is_active AND au.is_active AND ra.student_id IS NULL AND (ra.ends_at IS NULL OR ra.ends_at > %s)
          AND ra.role IN ({", ".join(["%s"] * roles)}) AND ({likes})
        GROUP BY ra.user_id
        ON CONFLICT DO NOTHING"""  # noqa: S608


# Guardian receipts per class (first and further classes), stored once. Parameters: the notice id, three times.
CLASS_COUNTS = """
            INSERT INTO notices_noticeclasscount (notice_id, school_class_id, total)
            SELECT %s, cid, n FROM (
                SELECT cid, COUNT(*) AS n FROM (
                    SELECT school_class_id AS cid FROM notices_receipt WHERE notice_id = %s AND guardian_id IS NOT NULL
                    UNION ALL
                    SELECT school_class_id AS cid FROM notices_receiptclass WHERE notice_id = %s
                ) AS t WHERE cid IS NOT NULL GROUP BY cid
            ) AS c WHERE 1 = 1
            ON CONFLICT (notice_id, school_class_id) DO UPDATE SET total = excluded.total"""

ANALYZE_CLASS_COUNTS = "ANALYZE notices_noticeclasscount"

GUARDIAN_ID_RANGE = "SELECT MIN(guardian_id), MAX(guardian_id) FROM people_guardianship"


# --- push rows for a notice's guardian receipts (notices/fanout.py insert_deliveries) ---------------------


def push_receipts_where(only_unread: bool, receipt_filter: str = "") -> str:
    """Which guardian receipts of a notice `r` (guardian `g`) get a push. Parameters: notice id, the filter's."""
    base_where = "r.notice_id = %s AND r.guardian_id IS NOT NULL AND g.is_active"
    if only_unread:
        base_where += " AND r.read_at IS NULL"
    if receipt_filter:
        base_where += f" AND ({receipt_filter})"
    return base_where


def sms_condition(sms_for_all: bool, *, wechat: str, email: str, sms: str) -> str:
    """Who of them gets an SMS (wechat, email, sms: the guardian-bound-this-channel fragments): everyone with a
    phone, or only those the platform cannot reach another way and those who asked for SMS."""
    return (
        "g.phone_digest <> ''"
        if sms_for_all
        else (
            "g.phone_digest <> '' AND ((g.user_id IS NULL AND NOT "
            + wechat
            + " AND NOT "
            + email
            + ") OR "
            + sms
            + ")"
        )
    )


def push_receipts_select(base_where: str, cond: str) -> str:
    """(guardian_id, ref) of the receipts to push over one channel (cond: that channel's condition)."""
    return f"""
            SELECT r.guardian_id AS guardian_id, r.id AS ref
            FROM notices_receipt r JOIN people_guardian g ON g.id = r.guardian_id
            WHERE {base_where} AND {cond}"""  # noqa: S608


# A reminder reaches receipts not reminded since its cutoff. Parameter: the cutoff.
REMINDER_DUE = "(r.reminded_at IS NULL OR r.reminded_at < %s)"
