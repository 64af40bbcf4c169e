"""messaging's hand-written SQL, in one place (docs/decisions/0014): the set-based delivery insert a client's
hot path uses (messaging/bulk.py). Assembled from constants, table names from model metadata and the caller's
own SQL text; every value is a %s parameter. Contract tests: tests/test_sql_contract.py (PostgreSQL)."""


def channel_exists(channel_table: str, channel: str, guardian_col: str = "g.id") -> str:
    """SQL: the guardian in `guardian_col` bound `channel` (an address, enabled). channel is checked by the caller."""
    return (
        f"EXISTS (SELECT 1 FROM {channel_table} gc WHERE gc.guardian_id = {guardian_col} "  # noqa: S608
        f"AND gc.channel = '{channel}' AND gc.enabled AND gc.address <> '')"
    )


def guardian_deliveries(delivery_table: str, select_sql: str) -> str:
    """Deliveries of one message over one channel to the (guardian_id, ref) rows select_sql yields, once only
    (ON CONFLICT on the delivery's unique keys). Parameters: message id, source, kind, urgency, channel, status,
    not_before, now, then select_sql's."""
    return f"""
        INSERT INTO {delivery_table} (message_id, source, kind, urgency, ref, guardian_id, user_id, channel, status,
                                               not_before, attempts, provider_ref, error, created_at)
        SELECT %s, %s, %s, %s, t.ref, t.guardian_id, NULL, %s, %s, %s, 0, '', '', %s
        FROM ({select_sql}) AS t
        WHERE 1 = 1
        ON CONFLICT DO NOTHING"""  # noqa: S608
