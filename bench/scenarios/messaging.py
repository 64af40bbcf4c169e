"""emergency-resume: an emergency notice's SMS worker is SIGKILLed mid-send and a new worker takes over.

Figures: seconds from the kill to the first SMS the new worker hands over (the scenario's value), the
seconds until the dead worker's own claimed rows are settled (heartbeat staleness), SMS handed to the
gateway twice (must be 0) and guardians without exactly one receipt (must be 0). The floor is a fresh
worker's start-up: from launching the first worker to its first hand-over.

The gateway is a table (bench_sms_gateway) written in autocommit by whichever worker process calls it,
so an accepted out-id survives the kill just as at a real provider: `hits` counts every hand-over of an
out-id, look-ups are not hand-overs."""

# ruff: noqa: S608

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import Context, Result, scenario
from messaging.channels import ChannelBackend, OutMessage, SendResult

GATEWAY = "bench_sms_gateway"


def _gateway_table() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"CREATE TABLE IF NOT EXISTS {GATEWAY} (out_id text PRIMARY KEY, hits integer NOT NULL, "
                        "first_at timestamptz NOT NULL DEFAULT clock_timestamp(), last_at timestamptz NOT NULL DEFAULT clock_timestamp())")
        else:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {GATEWAY} (out_id text PRIMARY KEY, hits integer NOT NULL, "
                        "first_at real NOT NULL DEFAULT (unixepoch('subsec')), last_at real NOT NULL DEFAULT (unixepoch('subsec')))")
        cur.execute(f"DELETE FROM {GATEWAY}")


class GatewayBackend(ChannelBackend):
    """The bench's SMS provider: deduplicates by out-id, counts hand-overs, answers look-ups."""

    channel = "sms"

    def lookup(self, idempotency_key: str) -> SendResult | None:
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute(f"SELECT 1 FROM {GATEWAY} WHERE out_id = %s", [idempotency_key])
            return SendResult(ok=True, provider_ref=idempotency_key) if cur.fetchone() else None

    def send(self, message: OutMessage) -> SendResult:
        from django.db import connection

        now = "clock_timestamp()" if connection.vendor == "postgresql" else "unixepoch('subsec')"
        with connection.cursor() as cur:  # autocommit: accepted the moment it returns
            cur.execute(
                f"INSERT INTO {GATEWAY} (out_id, hits) VALUES (%s, 1) "
                f"ON CONFLICT (out_id) DO UPDATE SET hits = {GATEWAY}.hits + 1, last_at = {now}",
                [message.idempotency_key],
            )
        return SendResult(ok=True, provider_ref=message.idempotency_key)


def _epoch(cur, expr: str) -> float | None:
    from django.db import connection

    sql = f"SELECT EXTRACT(EPOCH FROM {expr}) FROM {GATEWAY}" if connection.vendor == "postgresql" else f"SELECT {expr} FROM {GATEWAY}"
    cur.execute(sql)
    row = cur.fetchone()
    return float(row[0]) if row and row[0] is not None else None


def _worker(source: str) -> subprocess.Popen:
    env = {**os.environ, "GONGYU_NOTICE_SMS_BACKEND": "bench.scenarios.messaging.GatewayBackend", "GONGYU_QUIET_HOURS": ""}
    root = Path(__file__).resolve().parent.parent.parent
    return subprocess.Popen([sys.executable, "-m", "bench.emergency_worker", source], cwd=root, env=env)


def _accepted(cur) -> int:
    cur.execute(f"SELECT COUNT(*) FROM {GATEWAY}")
    return cur.fetchone()[0]


@scenario("emergency-resume", "emergency notice, SMS worker SIGKILLed mid-send: seconds from the kill to the next hand-over (s)")
def emergency_resume(ctx: Context) -> Result:
    from django.db import connection
    from django.utils import timezone

    from bench.scenarios.notices import _no_enqueue, _prepare
    from jobs import services as jobs
    from messaging.models import Delivery, DeliveryStatus
    from notices import fanout, services
    from notices.audience import resolve
    from notices.models import NoticeJob, Priority, Receipt
    from people.models import Guardian

    state = _prepare(ctx)
    admin, district = state["admin"], state["district"]
    audience = resolve(admin, unit_ids=[district.pk], include_guardians=True, staff_roles=[], student_nos=[])
    restore = _no_enqueue()
    try:
        notice = services.notice_create(actor=admin, title="紧急：暴雨停课（恢复测试）", body="明天停课。", audience=audience,
                                        priority=Priority.EMERGENCY)
    finally:
        restore()
    started = time.perf_counter()
    # The fan-out as the worker runs it: its jobs-outbox row claimed, run, completed.
    job = NoticeJob.objects.select_related("notice").get(notice=notice, kind="fanout")
    row = jobs.claim(jobs.Job.objects.get(key=services.job_key(job.pk)).pk)
    with jobs.running(row):
        fanout.run_fanout(job)
        jobs.complete(row)
    fanout_s = time.perf_counter() - started
    source = f"notice:{notice.pk}"
    total = Delivery.objects.filter(source=source, channel="sms").count()
    _gateway_table()
    kill_at = max(1, int(total * 0.4))
    with connection.cursor() as cur:
        launched = time.time()
        first = _worker(source)
        while _accepted(cur) == 0:
            time.sleep(0.02)
        floor = (_epoch(cur, "MIN(first_at)") or launched) - launched
        while _accepted(cur) < kill_at:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed = time.time()
        before_kill = _accepted(cur)
        claimed = Delivery.objects.filter(source=source, status=DeliveryStatus.SENDING).count()
        second = _worker(source)
        deadline = killed + max(600, total / 50)  # 50 SMS/s at the least
        while second.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        if second.poll() is None:
            second.kill()
            raise RuntimeError("the second worker did not finish in time")
        cur.execute(
            f"SELECT EXTRACT(EPOCH FROM MIN(first_at)) FROM {GATEWAY} WHERE first_at > to_timestamp(%s)"
            if connection.vendor == "postgresql" else f"SELECT MIN(first_at) FROM {GATEWAY} WHERE first_at > %s",
            [killed],
        )
        resumed = cur.fetchone()[0]
        resume_s = float(resumed) - killed if resumed is not None else float("inf")
        cur.execute(f"SELECT COALESCE(SUM(hits - 1), 0), COUNT(*) FROM {GATEWAY}")
        twice, accepted = cur.fetchone()
    settled = Delivery.objects.filter(source=source, channel="sms", attempts__gt=1).order_by("-sent_at").values_list("sent_at", flat=True).first()
    settled_s = (settled.timestamp() - killed) if settled else 0.0
    # Every addressed guardian exactly one receipt: the guardians of the district's active children.
    addressed = Guardian.objects.filter(district=district, is_active=True, guardianships__student__is_active=True).distinct()
    receipts = Receipt.objects.filter(notice=notice, guardian__isnull=False)
    one = receipts.values("guardian_id").distinct().count()
    without_one = addressed.count() - one + (receipts.count() - one)
    sent = Delivery.objects.filter(source=source, channel="sms", status=DeliveryStatus.SENT).count()
    return Result(
        "emergency-resume",
        resume_s,
        "s",
        floor,
        {
            "emergency SMS": f"{total} rows (fan-out + push rows {fanout_s:.1f} s); killed after {before_kill} hand-overs, {claimed} rows then claimed",
            "kill → first new hand-over": f"{resume_s:.2f} s (floor: a fresh worker's start-up to its first hand-over, {floor:.2f} s)",
            "kill → the dead worker's claims settled": f"{settled_s:.1f} s (heartbeat stale after 30 s, then looked up at the gateway)",
            "SMS handed to the gateway twice": f"{twice} (gateway accepted {accepted} out-ids; {sent} rows sent)",
            "guardians without exactly one receipt": f"{without_one} of {addressed.count()}",
            "finished": timezone.now().isoformat(timespec="seconds"),
        },
    )
