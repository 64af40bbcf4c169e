"""The set-based entry point for a client's hot path (a notice to 100,000 guardians): one INSERT … SELECT
per channel, the rows never entering Python. The caller's SELECT yields (guardian_id, ref) pairs; the
unique keys with ON CONFLICT DO NOTHING make a repeated call a no-op (once only per key, guardian, channel).

The statements are in messaging/sql.py (docs/decisions/0014): constants and the caller's own SQL text;
every value is a %s parameter.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from messaging import conf, sql
from messaging.models import Delivery, DeliveryStatus, GuardianChannel, Message


def message_for(key: str, *, source: str, kind: str = "", urgency: str, title: str, body: str = "", link: str = "",
                now: dt.datetime) -> Message:
    """The one Message of a once-only key (created on the first call, found on a retried one)."""
    message, _created = Message.objects.get_or_create(
        key=key,
        defaults={"source": source, "kind": kind, "urgency": urgency, "title": title[:200], "body": body, "link": link[:300],
                  "created_at": now},
    )
    return message


def channel_exists_sql(channel: str, guardian_col: str = "g.id") -> str:
    """SQL: the guardian in `guardian_col` bound `channel` (an address, enabled)."""
    if channel not in ("sms", "wechat", "email"):
        raise ValueError(channel)
    return sql.channel_exists(GuardianChannel._meta.db_table, channel, guardian_col)


def insert_guardian_deliveries(message: Message, channel: str, select_sql: str, params, *, now: dt.datetime,
                               not_before: dt.datetime | None = None) -> int:
    """Deliveries of `message` over `channel` to the guardians `select_sql` yields as (guardian_id, ref)."""
    if not_before is None:
        not_before = conf.push_not_before(now, message.urgency)
    with connection.cursor() as cur:
        cur.execute(
            sql.guardian_deliveries(Delivery._meta.db_table, select_sql),
            [message.pk, message.source, message.kind, message.urgency, channel, DeliveryStatus.PENDING, not_before, now, *params],
        )
        return max(cur.rowcount, 0)
