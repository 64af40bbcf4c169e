"""accounts' hand-written SQL, in one place (docs/decisions/0014). Each statement has a contract test on
PostgreSQL (tests/test_sql_contract.py); none is added without a benchmark figure."""


def token(user_sql: str) -> str:
    """The token rule as one SELECT (parameters: the token's digest, now): an unexpired token of an active
    user. Its row is the token's id and last use, then the user's columns (user_sql, alias u)."""
    return f"""
            SELECT tok.id AS token_id, tok.last_used_at AS token_last_used_at, {user_sql}
            FROM accounts_apitoken tok JOIN accounts_user u ON u.id = tok.user_id
            WHERE tok.digest = %s AND tok.expires_at > %s AND u.is_active"""  # noqa: S608 - columns from model metadata
