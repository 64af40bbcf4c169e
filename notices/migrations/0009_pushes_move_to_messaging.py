"""Notices' push rows and channel bindings move to the messaging platform (docs/decisions/0008-messaging.md).

A data copy, not a renamed table: messaging's Delivery has a new shape (a Message per push round, the
recipient guardian instead of the receipt, a generic source label), so the rows are copied set-based —
one INSERT … SELECT per table, ids kept, so a row's out-id (gy-<id>) stays what the gateway already saw —
and the old tables are dropped. Going back copies them again the other way.
"""

from django.db import migrations

MESSAGES = """
    INSERT INTO messaging_message (key, source, kind, urgency, title, body, link, created_at)
    SELECT 'notice:' || d.notice_id || ':' || d.kind || ':' || d.round, 'notice:' || d.notice_id, d.kind, n.priority,
           n.title, '', '/notices/r/' || d.notice_id || '/', MIN(d.created_at)
    FROM notices_delivery d JOIN notices_notice n ON n.id = d.notice_id
    GROUP BY d.notice_id, d.kind, d.round, n.priority, n.title
"""

DELIVERIES = """
    INSERT INTO messaging_delivery (id, message_id, source, kind, urgency, ref, guardian_id, user_id, channel, status, not_before,
                                    attempts, claimed_at, heartbeat_at, sent_at, delivered_at, provider_ref, error, created_at)
    SELECT d.id, m.id, m.source, d.kind, m.urgency, d.receipt_id, r.guardian_id, r.user_id, d.channel, d.status, d.not_before,
           d.attempts, d.claimed_at, d.claimed_at, d.sent_at, NULL, d.provider_ref, d.error, d.created_at
    FROM notices_delivery d
    JOIN notices_receipt r ON r.id = d.receipt_id
    JOIN messaging_message m ON m.key = 'notice:' || d.notice_id || ':' || d.kind || ':' || d.round
"""

CHANNELS = """
    INSERT INTO messaging_guardianchannel (id, guardian_id, channel, address, enabled, updated_at)
    SELECT id, guardian_id, channel, address, enabled, updated_at FROM notices_guardianchannel
"""

BACK_DELIVERIES = """
    INSERT INTO notices_delivery (id, receipt_id, notice_id, channel, kind, round, status, not_before, attempts, claimed_at,
                                  sent_at, provider_ref, error, created_at)
    SELECT d.id, d.ref, r.notice_id, d.channel, d.kind,
           CAST(substr(m.key, length('notice:' || r.notice_id || ':' || d.kind || ':') + 1) AS integer),
           d.status, d.not_before, d.attempts, d.claimed_at, d.sent_at, d.provider_ref, d.error, d.created_at
    FROM messaging_delivery d JOIN messaging_message m ON m.id = d.message_id JOIN notices_receipt r ON r.id = d.ref
    WHERE d.source LIKE 'notice:%%'
"""


def _sequences(schema_editor, tables):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows explicitly inserted ids by itself
    with schema_editor.connection.cursor() as cur:
        for table in tables:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")


def forward(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute(MESSAGES)
        cur.execute(DELIVERIES)
        cur.execute(CHANNELS)
    _sequences(schema_editor, ["messaging_delivery", "messaging_guardianchannel"])


def backward(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute(BACK_DELIVERIES.replace("%%", "%"))
        cur.execute(CHANNELS.replace("messaging_guardianchannel (", "notices_guardianchannel (", 1).replace(
            "FROM notices_guardianchannel", "FROM messaging_guardianchannel"))
        cur.execute("DELETE FROM messaging_delivery WHERE source LIKE 'notice:%'")
        cur.execute("DELETE FROM messaging_message WHERE source LIKE 'notice:%'")
        cur.execute("DELETE FROM messaging_guardianchannel")
    _sequences(schema_editor, ["notices_delivery", "notices_guardianchannel"])


class Migration(migrations.Migration):

    dependencies = [
        ('notices', '0008_a_reply_implies_a_read'),
        ('messaging', '0001_initial'),
    ]

    operations = [
        migrations.RunPython(forward, backward),
        migrations.DeleteModel(
            name='Delivery',
        ),
        migrations.DeleteModel(
            name='GuardianChannel',
        ),
    ]
