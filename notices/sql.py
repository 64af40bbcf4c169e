"""notices' hand-written SQL, in one place (docs/decisions/0014). Each statement has a contract test on
PostgreSQL (tests/test_sql_contract.py); none is added without a benchmark figure.

Left where they are for now: the fan-out's receipt, class-row and delivery inserts (notices/fanout.py),
which move with the messaging and jobs apps."""

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
