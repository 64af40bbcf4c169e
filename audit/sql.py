"""audit's hand-written SQL, in one place (docs/decisions/0014): the sealer's lock and its conditional update.
Contract tests: tests/test_sql_contract.py (PostgreSQL)."""

# One sealer at a time per table: an advisory lock that only sealers take, held to the transaction's end.
# Parameter: the table's lock key.
SEAL_LOCK = "SELECT pg_advisory_xact_lock(%s)"
SEAL_TRY_LOCK = "SELECT pg_try_advisory_xact_lock(%s)"


def seal_update(table: str) -> str:
    """Link one row into its chain, only if nobody sealed it meanwhile. Parameters: seq, prev_hash, key_id,
    hash, id (executemany, a row each)."""
    return f"UPDATE {table} SET seq = %s, prev_hash = %s, key_id = %s, hash = %s WHERE id = %s AND hash IS NULL"  # noqa: S608
