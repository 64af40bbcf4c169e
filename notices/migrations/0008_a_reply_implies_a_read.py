"""Receipts replied for by the household before a reply implied a read (issue 12): they counted as
replied but unread, so a page showed 已回执 2 beside 已读 1 and reminded families that had answered."""

from django.db import migrations

FORWARD = [
    "UPDATE notices_receipt SET read_at = replied_at WHERE replied_at IS NOT NULL AND read_at IS NULL",
    "UPDATE notices_receiptclass SET read_at = replied_at WHERE replied_at IS NOT NULL AND read_at IS NULL",
]


class Migration(migrations.Migration):
    dependencies = [("notices", "0007_receipts_without_fk_checks_and_recipient_led_keys")]

    operations = [migrations.RunSQL(sql, reverse_sql=migrations.RunSQL.noop) for sql in FORWARD]
