"""Fan-out: receipts and deliveries written set-based by the worker, once-only under retries.

A fan-out job walks guardian ids in ranges; each range is one INSERT … SELECT (grouping a guardian's
addressed children into one receipt) and one commit that also moves the job's cursor. Unique keys
(notice, guardian) and (receipt, channel, kind, round) with ON CONFLICT DO NOTHING make a repeated
range — after a killed worker — a no-op, so there is exactly one receipt and at most one delivery per
guardian and channel however often a job runs.

The statements are in notices/sql.py (docs/decisions/0014), assembled from constants and %s placeholders
only: every value — ids, paths, times — is passed as a parameter, never formatted into the text.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction
from django.utils import timezone

from jobs.services import heartbeat
from messaging import bulk
from messaging import conf as messaging_conf
from notices import conf, sql
from notices.models import (
    DeliveryKind,
    Notice,
    NoticeJob,
    NoticeStatus,
    Priority,
    Receipt,
)

log = logging.getLogger(__name__)

# Tests set this to a callable(job, lo, hi) to stop a job between batches, as a killed worker would.
after_batch = None


def push_not_before(now: dt.datetime, priority: str) -> dt.datetime:
    """When a push may go out: now, or the end of quiet hours for a non-emergency notice (messaging's rule)."""
    return messaging_conf.push_not_before(now, priority)


# The fan-out's statements live in notices/sql.py (docs/decisions/0014).


def insert_guardian_receipts(notice: Notice, lo: int, hi: int, now: dt.datetime) -> int:
    """Receipts for guardians with ids in [lo, hi): one per guardian, naming all addressed children."""
    cond, params = sql.audience_condition(notice.audience)
    if not cond:
        return 0
    with connection.cursor() as cur:
        cur.execute(sql.receipt_batch(cond, connection.vendor), [notice.pk, now, False, lo, hi, *params])
        inserted = cur.rowcount
        # Children in several classes: the receipt counts in each of them, not only the first.
        cur.execute(sql.receipt_classes(cond), [notice.pk, lo, hi, "/%/%/", *params])
    return inserted


def insert_staff_receipts(notice: Notice, now: dt.datetime) -> int:
    roles = notice.audience.get("staff_roles") or []
    paths = notice.audience.get("unit_paths") or []
    if not roles or not paths:
        return 0
    with connection.cursor() as cur:
        cur.execute(sql.staff_receipts(len(roles), len(paths)), [notice.pk, now, False, now, *roles, *[p + "%" for p in paths]])
        return cur.rowcount


def _channel_exists(channel: str) -> str:
    return bulk.channel_exists_sql(channel, "g.id")


def notice_message(notice: Notice, *, kind: str, round_: int, now: dt.datetime):
    """The messaging Message of one push round of a notice (once only by its key)."""
    return bulk.message_for(
        f"notice:{notice.pk}:{kind}:{round_}", source=f"notice:{notice.pk}", kind=kind, urgency=notice.priority,
        title=notice.title, link=f"/notices/r/{notice.pk}/", now=now,
    )


def insert_deliveries(notice: Notice, *, kind: str, round_: int, now: dt.datetime, only_unread: bool = False,
                      sms_for_all: bool | None = None, receipt_filter: str = "", filter_params=()) -> int:
    """Push rows for guardian receipts of a notice, one per receipt and channel (messaging's unique key on
    (message, guardian, channel) with ON CONFLICT: once only), written set-based through messaging.bulk.

    SMS goes to every guardian for emergencies (and escalations); otherwise only to guardians the platform
    cannot reach another way (no account, no WeChat, no e-mail) and to those who asked for SMS.
    WeChat and e-mail go to guardians who bound them.
    """
    not_before = push_not_before(now, notice.priority)
    if sms_for_all is None:
        sms_for_all = notice.priority == Priority.EMERGENCY
    base_where = sql.push_receipts_where(only_unread, receipt_filter)
    sms_cond = sql.sms_condition(sms_for_all, wechat=_channel_exists("wechat"), email=_channel_exists("email"),
                                 sms=_channel_exists("sms"))
    channels = [("sms", sms_cond)]
    if kind != DeliveryKind.ESCALATION:
        channels += [("wechat", _channel_exists("wechat")), ("email", _channel_exists("email"))]
    message = notice_message(notice, kind=kind, round_=round_, now=now)
    total = 0
    for channel, cond in channels:
        select = sql.push_receipts_select(base_where, cond)
        total += bulk.insert_guardian_deliveries(message, channel, select, [notice.pk, *filter_params], now=now, not_before=not_before)
    return total


def count_per_class(notice: Notice) -> int:
    """Guardian receipts per class (first and further classes), stored once: idempotent like the rest.
    Returns the number of classes."""
    with connection.cursor() as cur:
        cur.execute(sql.CLASS_COUNTS, [notice.pk, notice.pk, notice.pk])
        return max(cur.rowcount, 0)


# From this many classes on, a fan-out refreshes the class counts' planner statistics (see below).
ANALYZE_FROM_CLASSES = 200


def refresh_class_count_statistics(classes: int) -> None:
    """ANALYZE the class counts after a fan-out to many classes (PostgreSQL).

    The sender's statistics page joins this notice's class-count rows to the classes and the read and
    reply counts. Until autovacuum next analyzes the table, the planner takes a new notice for an
    average one of a few rows and joins 2,632 classes of a district notice row by row: 40-50 ms instead
    of 17-30 ms, right when the sender first looks. The table is small (a row per notice and class),
    so this costs the worker a few milliseconds once per large notice."""
    if connection.vendor != "postgresql" or classes < ANALYZE_FROM_CLASSES:
        return
    with connection.cursor() as cur:
        cur.execute(sql.ANALYZE_CLASS_COUNTS)


def guardian_id_range() -> tuple[int, int] | None:
    with connection.cursor() as cur:
        cur.execute(sql.GUARDIAN_ID_RANGE)
        lo, hi = cur.fetchone()
    return None if lo is None else (int(lo), int(hi))


def _beat(job: NoticeJob, **fields) -> None:
    """Record progress on the notice's job and tell the outbox this worker is alive."""
    if fields:
        NoticeJob.objects.filter(pk=job.pk).update(**fields)
        for k, v in fields.items():
            setattr(job, k, v)
    heartbeat()


def run_fanout_receipts(job: NoticeJob) -> None:
    """Stage 1: every receipt, in committed guardian-id ranges that resume from the job's cursor."""
    notice = job.notice
    now = notice.published_at or timezone.now()
    batch = conf.fanout_batch()
    span = guardian_id_range()
    if span is not None and (notice.audience.get("unit_paths") or notice.audience.get("student_ids")):
        lo = max(job.cursor, span[0])
        while lo <= span[1]:
            hi = lo + batch
            with transaction.atomic():
                if Notice.objects.filter(pk=notice.pk, status=NoticeStatus.WITHDRAWN).exists():
                    return
                insert_guardian_receipts(notice, lo, hi, now)
                _beat(job, cursor=hi)
            if after_batch is not None:
                after_batch(job, lo, hi)
            lo = hi
    with transaction.atomic():
        insert_staff_receipts(notice, now)
        _beat(job, cursor=(span[1] + 1) if span else 0)


def run_fanout(job: NoticeJob) -> None:
    """The whole fan-out job: receipts, then the notice published, then push rows, then sending."""
    notice = Notice.objects.select_related("sender_unit").get(pk=job.notice_id)
    job.notice = notice
    if notice.status == NoticeStatus.WITHDRAWN:
        return
    run_fanout_receipts(job)
    now = timezone.now()
    with transaction.atomic():
        classes = count_per_class(notice)
        count = Receipt.objects.filter(notice=notice).count()
        Notice.objects.filter(pk=notice.pk).exclude(status=NoticeStatus.WITHDRAWN).update(
            status=NoticeStatus.PUBLISHED, recipient_count=count
        )
        notice.refresh_from_db()
        if notice.status == NoticeStatus.WITHDRAWN:
            return
        insert_deliveries(notice, kind=DeliveryKind.NOTICE, round_=0, now=now)
        _beat(job)
    refresh_class_count_statistics(classes)
