"""Publishing: one receipt per guardian, inside the sender's scope, once-only under retries and kills."""

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from jobs import services as jobs
from jobs.models import Job
from messaging import sending as outbox
from messaging.channels import MemoryBackend
from messaging.models import Delivery, DeliveryStatus, GuardianChannel
from notices import fanout, services
from notices.models import (
    JobStatus,
    NoticeJob,
    NoticeStatus,
    Priority,
    Receipt,
    ReceiptClass,
)
from notices.sending import source_of
from notices.services import notice_create
from tests.test_notices_helpers import audience, notice_settings, send  # noqa: F401


def guardians_of(notice):
    return {r.guardian.name for r in Receipt.objects.filter(notice=notice, guardian__isnull=False).select_related("guardian")}


def test_class_teacher_reaches_every_guardian_of_the_class_once(world, django_capture_on_commit_callbacks):
    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1])
    assert notice.status == NoticeStatus.PUBLISHED
    assert guardians_of(notice) == {"parent_a1", "grandparent_a1", "未激活家长"}
    assert notice.recipient_count == 3
    assert notice.sender_unit == world.class_a1
    receipt = Receipt.objects.get(notice=notice, guardian=world.guardians["parent_a1"])
    assert receipt.student_ids == [world.child_a1.pk]
    assert receipt.school_class_id == world.class_a1.pk


def test_guardian_with_two_children_gets_one_notice_naming_both(world, django_capture_on_commit_callbacks):
    notice = send(django_capture_on_commit_callbacks, world.district_admin, [world.district])
    two = world.guardians["parent_two_schools"]
    receipts = Receipt.objects.filter(notice=notice, guardian=two)
    assert receipts.count() == 1
    receipt = receipts.get()
    assert sorted(receipt.student_ids) == sorted([world.child_a2.pk, world.child_b1.pk])
    # Counted in both classes: the first child's class on the receipt, the other in ReceiptClass.
    assert receipt.school_class_id == world.class_a2.pk
    assert list(ReceiptClass.objects.filter(receipt=receipt).values_list("school_class_id", flat=True)) == [world.class_b1.pk]
    # The neighbouring district's family is not addressed.
    assert "parent_other" not in guardians_of(notice)
    assert notice.recipient_count == 5


def test_teacher_cannot_address_a_class_outside_their_scope(world):
    with pytest.raises(ValidationError) as exc:
        audience(world.teacher_a1, [world.class_a2])
    assert "无权" in str(exc.value)
    with pytest.raises(ValidationError):
        audience(world.teacher_a1, [world.school_a])
    with pytest.raises(ValidationError):
        audience(world.school_admin_a, [world.class_b1])
    # Hand-picking a family of another class is refused as well (the student is not even visible).
    with pytest.raises(ValidationError) as exc:
        audience(world.teacher_a1, student_nos=[world.child_a2.student_no])
    assert world.child_a2.student_no in str(exc.value)


def test_roles_without_send_permission_cannot_send(world):


    aud = audience(world.teacher_a1, [world.class_a1])
    for user in (world.subject_teacher_a1, world.parent_a1, world.liaison, world.outsider):
        with pytest.raises(PermissionDenied):
            notice_create(actor=user, title="x", body="", audience=aud)


def test_hand_picked_family_only(world, django_capture_on_commit_callbacks):
    notice = send(django_capture_on_commit_callbacks, world.school_admin_a, student_nos=[world.child_a2.student_no], audience_note="困难家庭")
    assert guardians_of(notice) == {"parent_a2", "parent_two_schools"}


def test_staff_roles_audience(world, django_capture_on_commit_callbacks):
    notice = send(django_capture_on_commit_callbacks, world.district_admin, [world.district], guardians=False, roles=["class_teacher"])
    users = set(Receipt.objects.filter(notice=notice).values_list("user__name", flat=True))
    assert users == {"teacher_a1", "teacher_a2", "teacher_b1"}
    assert not Receipt.objects.filter(notice=notice, guardian__isnull=False).exists()


def test_fanout_twice_changes_nothing(world, django_capture_on_commit_callbacks):
    notice = send(django_capture_on_commit_callbacks, world.district_admin, [world.district], priority=Priority.EMERGENCY)
    before = (Receipt.objects.count(), ReceiptClass.objects.count(), Delivery.objects.count())
    job = NoticeJob.objects.get(notice=notice)
    job.cursor = 0
    job.notice = notice
    fanout.run_fanout(job)
    fanout.run_fanout(job)
    assert (Receipt.objects.count(), ReceiptClass.objects.count(), Delivery.objects.count()) == before


class KilledWorker(BaseException):
    """Not an Exception: nothing in the job catches it, as nothing runs after a SIGKILL."""


def test_worker_killed_mid_way_and_restarted_leaves_one_receipt_and_one_delivery(world, settings, django_capture_on_commit_callbacks, monkeypatch):
    settings.GONGYU_NOTICE_FANOUT_BATCH = 2  # several committed batches for five guardians
    batches = []

    def die_after_first(job, lo, hi):
        batches.append((lo, hi))
        if len(batches) == 1:
            raise KilledWorker

    monkeypatch.setattr(fanout, "after_batch", die_after_first)
    with pytest.raises(KilledWorker), django_capture_on_commit_callbacks(execute=True):
        notice = services.notice_create(
            actor=world.district_admin, title="紧急：暴雨停课", body="明天停课。", priority=Priority.EMERGENCY,
            audience=audience(world.district_admin, [world.district]),
        )
    job = NoticeJob.objects.get(kind="fanout")
    row = Job.objects.get(key=services.job_key(job.pk))
    assert job.status == JobStatus.RUNNING and row.status == JobStatus.RUNNING  # the worker died holding it
    partial = Receipt.objects.filter(notice=job.notice).count()
    assert 0 < partial < 5 and job.cursor > 0
    assert not Delivery.objects.exists()

    # The jobs sweeper finds the row silent past the notices' stale limit (30 s: with a sweep every 30 s, a
    # resume within 60 s of the kill) and queues it again; a new worker resumes from the cursor and finishes it.
    # A live worker beats every 10 s, so 29 s of silence is not yet death.
    assert jobs.stale_seconds(services.JOB_KIND) == 30 and jobs.KEEPALIVE_SECONDS <= 10
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep(now=row.heartbeat_at + dt.timedelta(seconds=29))["restarted"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep(now=row.heartbeat_at + dt.timedelta(seconds=31))["restarted"] == 1
    job.refresh_from_db()
    row.refresh_from_db()
    assert job.status == JobStatus.DONE and row.status == JobStatus.DONE and row.attempts == 2
    notice = job.notice
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PUBLISHED and notice.recipient_count == 5
    per_guardian = Receipt.objects.filter(notice=notice).values("guardian").annotate(n=Count("id"))
    assert {row["n"] for row in per_guardian} == {1} and len(per_guardian) == 5
    per_channel = Delivery.objects.values("ref", "channel", "kind").annotate(n=Count("id"))
    assert per_channel and {row["n"] for row in per_channel} == {1}
    # Emergency: every guardian with a phone got exactly one SMS, once.
    assert Delivery.objects.filter(channel="sms").count() == 5
    assert len(MemoryBackend.sent) == 5

    # Running the same job again (a duplicated queue message, or its handler once more) does nothing.
    monkeypatch.setattr(fanout, "after_batch", None)
    assert jobs.run(row.pk) == "skipped"
    NoticeJob.objects.filter(pk=job.pk).update(status=JobStatus.PENDING, cursor=0)
    services.job_run(job.pk)
    assert Receipt.objects.filter(notice=notice).count() == 5
    assert Delivery.objects.count() == 5
    assert len(MemoryBackend.sent) == 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second connection beside an open transaction")
def test_a_live_worker_inside_one_long_transaction_still_beats(monkeypatch):
    """The runner's side thread beats the row on its own connection: a sweep sees the worker alive even while
    the handler sits in a transaction that has not committed (a long batch), and stops beating when it ends."""
    old = timezone.now() - dt.timedelta(seconds=40)
    row = Job.objects.create(kind=services.JOB_KIND, key="test:keepalive", status="running", run_after=old,
                             queued_at=old, claimed_at=old, heartbeat_at=old)
    with jobs.keepalive(row, every=0.05), transaction.atomic():
        Job.objects.filter(pk=row.pk).values_list("pk", flat=True).first()  # the handler's long transaction
        time.sleep(0.5)
        # Still inside our transaction: the beats were committed by another connection.
        assert Job.objects.get(pk=row.pk).heartbeat_at > old + dt.timedelta(seconds=39)
        assert jobs.sweep()["restarted"] == 0
    beaten = Job.objects.get(pk=row.pk).heartbeat_at
    time.sleep(0.2)
    assert Job.objects.get(pk=row.pk).heartbeat_at == beaten  # the block ended: no more beats
    sent = []
    monkeypatch.setattr(jobs, "send_message", lambda job_id, eta: sent.append(job_id))
    assert jobs.sweep(now=beaten + dt.timedelta(seconds=31))["restarted"] == 1 and sent == [row.pk]


def test_killed_while_sending_is_resent_once_with_the_same_key(world, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(outbox, "send_due", lambda **kw: 0)
    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], priority=Priority.EMERGENCY)
    monkeypatch.undo()
    # A worker claimed the rows and died before sending.
    claimed = outbox.claim(timezone.now(), source_of(notice.pk), 100)
    assert len(claimed) == 3
    assert outbox.send_due(source=source_of(notice.pk)) == 0  # claimed rows are not taken twice
    assert outbox.release_stale_claims(timezone.now()) == 0
    later = timezone.now() + dt.timedelta(minutes=30)
    Delivery.objects.update(claimed_at=timezone.now() - dt.timedelta(minutes=30))
    outbox.release_stale_claims(later)
    assert outbox.send_due(source=source_of(notice.pk)) == 3
    keys = [m.idempotency_key for m in MemoryBackend.sent]
    assert len(keys) == len(set(keys)) == 3
    assert outbox.send_due(source=source_of(notice.pk)) == 0


def test_normal_notice_texts_only_families_the_platform_cannot_reach(world, django_capture_on_commit_callbacks):
    GuardianChannel.objects.create(guardian=world.guardians["grandparent_a1"], channel="wechat", address="oWECHAT-openid-123")
    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1])
    rows = {(d.guardian.name, d.channel) for d in Delivery.objects.filter(source=f"notice:{notice.pk}").select_related("guardian")}
    # parent_a1 has an account (in-app only); the un-activated father gets an SMS; grandma gets WeChat.
    assert rows == {("未激活家长", "sms"), ("grandparent_a1", "wechat")}
    assert all(d.status == DeliveryStatus.SENT for d in Delivery.objects.all())
    sms = next(m for m in MemoryBackend.sent if m.channel == "sms")
    assert "/accounts/activate/" in sms.text and notice.title in sms.text


def test_quiet_hours_hold_normal_pushes_but_not_emergencies(world, settings, django_capture_on_commit_callbacks):
    settings.GONGYU_QUIET_HOURS = "00:00-23:59"
    normal = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1])
    held = Delivery.objects.get(source=f"notice:{normal.pk}")
    assert held.status == DeliveryStatus.PENDING and held.not_before > timezone.now()
    assert MemoryBackend.sent == []
    urgent = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], priority=Priority.EMERGENCY)
    assert Delivery.objects.filter(source=f"notice:{urgent.pk}", status=DeliveryStatus.SENT).count() == 3
    # The receipts exist at once: quiet hours hold pushes, never the inbox.
    assert Receipt.objects.filter(notice=normal).count() == 3


def test_quiet_hours_window_crossing_midnight(quiet_on):
    tz = ZoneInfo("Asia/Shanghai")
    at = dt.datetime(2026, 3, 2, 22, 15, tzinfo=tz)
    released = fanout.push_not_before(at, Priority.NORMAL)
    assert released == dt.datetime(2026, 3, 3, 7, 0, tzinfo=tz)
    early = dt.datetime(2026, 3, 3, 6, 0, tzinfo=tz)
    assert fanout.push_not_before(early, Priority.IMPORTANT) == dt.datetime(2026, 3, 3, 7, 0, tzinfo=tz)
    noon = dt.datetime(2026, 3, 3, 12, 0, tzinfo=tz)
    assert fanout.push_not_before(noon, Priority.NORMAL) == noon
    assert fanout.push_not_before(at, Priority.EMERGENCY) == at


@pytest.fixture
def quiet_on(settings):
    settings.GONGYU_QUIET_HOURS = "21:30-07:00"


def test_emergency_unread_is_escalated_by_sms_once(world, django_capture_on_commit_callbacks):
    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], priority=Priority.EMERGENCY, escalate_after_minutes=15)
    services.notice_open(user=world.parent_a1, notice_id=notice.pk)
    assert services.escalate_due(now=timezone.now()) == 0  # not yet
    later = timezone.now() + dt.timedelta(minutes=16)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_due(now=later) == 1
    escalated = Delivery.objects.filter(source=f"notice:{notice.pk}", kind="escalation")
    # Only the two guardians who have not read it get the extra SMS.
    assert {d.guardian.name for d in escalated.select_related("guardian")} == {"grandparent_a1", "未激活家长"}
    notice.refresh_from_db()
    assert notice.escalated_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_due(now=later + dt.timedelta(minutes=5)) == 0
    assert escalated.count() == 2


def test_scheduled_notice_waits_for_its_time(world, django_capture_on_commit_callbacks):
    at = timezone.now() + dt.timedelta(hours=2)
    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], publish_at=at)
    assert notice.status == NoticeStatus.SCHEDULED
    assert not Receipt.objects.filter(notice=notice).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.publish_due(now=timezone.now()) == 0
        assert services.publish_due(now=at + dt.timedelta(minutes=1)) == 1
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PUBLISHED and notice.recipient_count == 3


def test_failed_and_flaky_gateway(world, django_capture_on_commit_callbacks):
    MemoryBackend.fail.add("13912345678")  # the un-activated father's number is dead
    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], priority=Priority.EMERGENCY)
    failed = Delivery.objects.get(source=f"notice:{notice.pk}", guardian__name="未激活家长")
    assert failed.status == DeliveryStatus.FAILED and failed.error and "139" not in failed.error
    MemoryBackend.flaky.add(world.parent_a1.phone)
    notice2 = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], priority=Priority.EMERGENCY)
    retry = Delivery.objects.get(source=f"notice:{notice2.pk}", guardian__name="parent_a1")
    assert retry.status == DeliveryStatus.PENDING and retry.attempts == 1 and retry.not_before > timezone.now()


def test_deleting_a_notice_still_removes_its_receipts_and_their_class_rows(world, django_capture_on_commit_callbacks):
    # Receipts have no database-level foreign keys (docs/decisions/0004): the cascade is Django's own.
    notice = send(django_capture_on_commit_callbacks, world.district_admin, [world.district])
    kept = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1])
    assert ReceiptClass.objects.filter(notice=notice).exists()  # parent_two_schools: children in two classes
    receipt_ids = list(Receipt.objects.filter(notice=notice).values_list("pk", flat=True))
    notice.delete()
    assert not Receipt.objects.filter(pk__in=receipt_ids).exists()
    assert not ReceiptClass.objects.filter(receipt_id__in=receipt_ids).exists()
    assert Receipt.objects.filter(notice=kept).count() == 3


def test_receipt_keys_are_enforced_without_foreign_keys(world, django_capture_on_commit_callbacks):
    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1])
    receipt = Receipt.objects.get(notice=notice, guardian=world.guardians["parent_a1"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Receipt.objects.create(notice=notice, guardian=receipt.guardian, created_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Receipt.objects.create(notice=notice, guardian=receipt.guardian, user=world.teacher_a1, created_at=timezone.now())


@pytest.mark.parametrize("threshold, analyzed", [(1, True), (10_000, False)])
def test_a_fanout_to_many_classes_refreshes_the_class_count_statistics(world, django_capture_on_commit_callbacks, monkeypatch,
                                                                       threshold, analyzed):
    """So that the sender's statistics page is planned for this notice's many classes at once, not after
    autovacuum's next analyze (PostgreSQL; SQLite plans without statistics)."""

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr(fanout, "ANALYZE_FROM_CLASSES", threshold)
    notice = send(django_capture_on_commit_callbacks, world.district_admin, [world.district])
    with connection.cursor() as cur:
        cur.execute("SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'notices_noticeclasscount' AND attname = 'notice_id'")
        row = cur.fetchone()
    # ANALYZE inside the test's transaction sees its own rows: this notice is the table's one value.
    assert (row is not None and str(notice.pk) in row[0]) is analyzed
