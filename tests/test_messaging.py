"""The messaging platform: once-only by key, quiet hours, caps, one hand-over per SMS, heartbeats, and the
clients (consultations, guides, activities) reaching the right person only."""

import datetime as dt

import pytest
from django.utils import timezone

from activities import services as activities
from activities.models import SignUpStatus
from activities.testing import make_activity
from homeschool import services as homeschool
from homeschool.models import Target
from messaging import conf, registry, sending
from messaging import tasks as messaging_tasks
from messaging.channels import MemoryBackend
from messaging.models import Delivery, DeliveryStatus, GuardianChannel, Message, SmsDay
from messaging.services import Note, notify
from tests.test_notices_helpers import notice_settings  # noqa: F401 - memory gateways, quiet hours off


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it in the worker runs (not even the result's UPDATE)."""


def _note(n=1):
    return Note(title=f"测试消息{n}", body="正文", link="/x/", source=f"test:{n}")


def test_notify_is_once_only_by_key(world, django_capture_on_commit_callbacks):
    g = world.guardians["parent_a1"]
    with django_capture_on_commit_callbacks(execute=True):
        assert notify([g, world.teacher_a1], _note(), channels=("inapp", "sms"), key="k-1") == 4
        assert notify([g, world.teacher_a1], _note(), channels=("inapp", "sms"), key="k-1") == 0
    assert Message.objects.count() == 1
    assert Delivery.objects.count() == 4
    assert [m.to for m in MemoryBackend.sent] == [g.phone, world.teacher_a1.phone]  # SMS once each; in-app needs no push
    assert Delivery.objects.filter(channel="inapp", status=DeliveryStatus.DELIVERED).count() == 2


def test_channels_without_an_address_are_skipped(world):
    g = world.guardians["parent_a1"]
    GuardianChannel.objects.create(guardian=world.guardians["grandparent_a1"], channel="wechat", address="oWECHAT-openid-123")
    notify([g, world.guardians["grandparent_a1"]], _note(), channels=("wechat",), key="k-wx")
    assert list(Delivery.objects.values_list("guardian_id", flat=True)) == [world.guardians["grandparent_a1"].pk]
    with pytest.raises(TypeError):
        notify([world.child_a1], _note(), key="k-bad")


def test_quiet_hours_delay_to_the_window_end_and_only_emergencies_pass(world, settings, django_capture_on_commit_callbacks):
    settings.GONGYU_QUIET_HOURS = "00:00-23:59"
    g = world.guardians["parent_a1"]
    with django_capture_on_commit_callbacks(execute=True):
        notify([g], _note(1), channels=("sms",), key="quiet")
        notify([g], _note(2), channels=("sms",), urgency="emergency", key="loud")
    held = Delivery.objects.get(message__key="quiet")
    assert held.status == DeliveryStatus.PENDING and held.not_before == conf.quiet_end(held.created_at)
    assert timezone.localtime(held.not_before).time() == dt.time(23, 59)
    assert Delivery.objects.get(message__key="loud").status == DeliveryStatus.SENT
    # A row already due (e.g. a retry) is still held while the window lasts: delayed, never dropped.
    Delivery.objects.filter(pk=held.pk).update(not_before=timezone.now() - dt.timedelta(hours=1))
    assert sending.send_due() == 0
    assert Delivery.objects.get(pk=held.pk).status == DeliveryStatus.PENDING
    settings.GONGYU_QUIET_HOURS = ""
    assert sending.send_due() == 1


def test_messagings_own_tick_sends_a_held_push_of_any_module_and_frees_a_dead_workers_claim(world, settings, django_capture_on_commit_callbacks):
    """Not notices' tick: a consultation's push held by quiet hours goes out when the window ends, whichever
    modules are installed."""
    settings.GONGYU_QUIET_HOURS = "00:00-23:59"
    g = world.guardians["parent_a1"]
    with django_capture_on_commit_callbacks(execute=True):
        notify([g], Note(title="咨询已回复", body="正文", link="/x/", source="consultation:1"), channels=("sms",), key="held")
        notify([g], Note(title="活动候补转正", body="正文", link="/y/", source="activity:1"), channels=("sms",), key="dead")
    dead = Delivery.objects.get(message__key="dead")
    stale = timezone.now() - dt.timedelta(seconds=conf.claim_stale_seconds() + 5)
    Delivery.objects.filter(pk=dead.pk).update(status=DeliveryStatus.SENDING, claimed_at=stale, heartbeat_at=stale)
    assert messaging_tasks.tick() == {"released": 1, "sent": 0}  # quiet hours: both held, none dropped
    assert messaging_tasks.tick() == {"released": 0, "sent": 0}  # not before the window's end
    Delivery.objects.update(not_before=timezone.now() - dt.timedelta(minutes=1))  # 23:59 has come
    settings.GONGYU_QUIET_HOURS = ""
    assert messaging_tasks.tick() == {"released": 0, "sent": 2}
    assert [m.to for m in MemoryBackend.sent] == [g.phone, g.phone]  # each handed over once
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_quiet_end_and_not_before(settings):
    settings.GONGYU_QUIET_HOURS = "21:30-07:30"
    tz = timezone.get_current_timezone()
    late = dt.datetime(2026, 3, 2, 22, 0, tzinfo=tz)
    assert conf.push_not_before(late, "normal") == dt.datetime(2026, 3, 3, 7, 30, tzinfo=tz)
    assert conf.push_not_before(late, "important") == dt.datetime(2026, 3, 3, 7, 30, tzinfo=tz)
    assert conf.push_not_before(late, "emergency") == late
    noon = dt.datetime(2026, 3, 2, 12, 0, tzinfo=tz)
    assert conf.push_not_before(noon, "normal") == noon


def test_sms_cap_per_number_delays_the_rest_to_tomorrow(world, settings):
    settings.GONGYU_SMS_DAILY_CAP = 2
    g = world.guardians["parent_a1"]
    for n in range(3):
        notify([g], _note(n), channels=("sms",), key=f"cap-{n}")
    notify([g], _note(9), channels=("sms",), urgency="emergency", key="cap-emergency")
    other = world.guardians["parent_a2"]
    notify([other], _note(5), channels=("sms",), key="cap-other")
    assert sending.send_due() == 4  # two for parent_a1, the emergency (past the cap), one for the neighbour
    over = Delivery.objects.get(message__key="cap-2")
    assert over.status == DeliveryStatus.PENDING and over.attempts == 0  # delayed, not dropped or folded
    assert timezone.localtime(over.not_before).date() == timezone.localdate() + dt.timedelta(days=1)
    assert sorted(SmsDay.objects.values_list("sent", flat=True)) == [1, 2]  # emergencies are not counted
    # Tomorrow it goes out.
    Delivery.objects.filter(pk=over.pk).update(not_before=timezone.now())
    SmsDay.objects.all().delete()
    assert sending.send_due() == 1


def test_killed_mid_send_hands_nothing_accepted_over_again(world, monkeypatch):
    guardians = [world.guardians[k] for k in ("parent_a1", "grandparent_a1", "parent_a2")]
    notify(guardians, _note(), channels=("sms",), urgency="emergency", key="kill")

    def die(delivery):
        raise Killed

    monkeypatch.setattr(sending, "after_handover", die)
    with pytest.raises(Killed):
        sending.send_due()
    monkeypatch.setattr(sending, "after_handover", None)
    # The gateway took the first row; the worker died before recording it: every claimed row is "handing over".
    assert len(MemoryBackend.sent) == 1
    assert Delivery.objects.filter(status=DeliveryStatus.SENDING).count() == 3
    assert sending.send_due() == 0  # a live claim is not taken by another worker
    # Its heartbeat goes stale; the next worker resumes.
    Delivery.objects.update(heartbeat_at=timezone.now() - dt.timedelta(seconds=conf.claim_stale_seconds() + 1))
    assert sending.send_due() == 3
    assert MemoryBackend.duplicates == 0
    keys = [m.idempotency_key for m in MemoryBackend.sent]
    assert sorted(keys) == sorted(f"gy-{d.pk}" for d in Delivery.objects.all())  # the row's id is the out-id
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_a_gateway_that_cannot_be_asked_gets_the_same_out_id_again(world, monkeypatch):
    """Without a look-up the row is handed over again under its out-id, and the gateway drops it."""
    monkeypatch.setattr(MemoryBackend, "lookup", lambda self, key: None)
    notify([world.guardians["parent_a1"]], _note(), channels=("sms",), urgency="emergency", key="no-lookup")
    monkeypatch.setattr(sending, "after_handover", lambda d: (_ for _ in ()).throw(Killed()))
    with pytest.raises(Killed):
        sending.send_due()
    monkeypatch.setattr(sending, "after_handover", None)
    sending.release_stale_claims(timezone.now() + dt.timedelta(seconds=conf.claim_stale_seconds() + 1))
    assert sending.send_due() == 1
    assert len(MemoryBackend.sent) == 1 and MemoryBackend.duplicates == 1  # handed twice, accepted once


def test_a_claim_goes_stale_after_its_heartbeat_not_after_minutes(world):
    notify([world.guardians["parent_a1"]], _note(), channels=("sms",), urgency="emergency", key="beat")
    now = timezone.now()
    ids = sending.claim(now, None, 10)
    assert len(ids) == 1
    assert sending.release_stale_claims(now + dt.timedelta(seconds=29)) == 0
    # A live worker renews its claim: half a minute after the renewal it is still its own.
    Delivery.objects.update(heartbeat_at=now + dt.timedelta(seconds=25))
    assert sending.release_stale_claims(now + dt.timedelta(seconds=50)) == 0
    # A dead one stops beating: released within a minute of its last beat.
    assert sending.release_stale_claims(now + dt.timedelta(seconds=56)) == 1
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    assert sending.beat(ids) == 0  # the released row is no longer the old worker's to renew


def test_delivery_report_marks_delivered(world):
    notify([world.guardians["parent_a1"]], _note(), channels=("sms",), key="report")
    sending.send_due()
    d = Delivery.objects.get()
    assert sending.mark_delivered(d.idempotency_key) == 1
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    assert sending.mark_delivered("gy-x") == 0


def test_a_recipient_sees_only_their_own_deliveries(world):
    notify([world.guardians["parent_a1"], world.guardians["parent_a2"]], _note(), channels=("inapp",), key="mine")
    assert [d.guardian_id for d in Delivery.objects.visible_to(world.parent_a1)] == [world.guardians["parent_a1"].pk]
    assert not Delivery.objects.visible_to(world.teacher_a1).exists()


# --- clients ------------------------------------------------------------------------------------------------


def test_consultation_reply_tells_the_asker_only(world, django_capture_on_commit_callbacks):
    item = homeschool.consultation_ask(actor=world.parent_a1, student=world.child_a1, target=Target.TEACHER, subject="作业拖拉",
                                       body="怎么办？")
    assert not Delivery.objects.exists()  # asking tells no family
    with django_capture_on_commit_callbacks(execute=True):
        homeschool.consultation_reply(actor=world.teacher_a1, consultation=item, body="建议先定计划。")
    rows = Delivery.objects.filter(source=f"consultation:{item.pk}")
    assert {d.guardian_id for d in rows} == {world.guardians["parent_a1"].pk}
    assert {d.channel for d in rows} == {"inapp", "sms"}
    assert "作业拖拉" in MemoryBackend.sent[0].text and "怎么办" not in MemoryBackend.sent[0].text
    # The family's own follow-up tells nobody in the family.
    homeschool.consultation_reply(actor=world.parent_a1, consultation=item, body="谢谢")
    assert rows.count() == 2


def test_guide_publish_pushes_to_families_of_its_units_and_stage(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        guide = homeschool.guide_publish(actor=world.district_admin, author_unit=world.district, title="小学低段：写作业", body="先定计划。",
                                         topic="emotion", stage="primary_lower")
    reached = set(Delivery.objects.filter(source=f"guide:{guide.pk}").values_list("guardian_id", flat=True))
    g = world.guardians
    assert {g["parent_a1"].pk, g["grandparent_a1"].pk, g["unactivated_a1"].pk} <= reached  # child_a1 is in grade 3
    assert g["parent_other"].pk not in reached  # another district
    assert not Delivery.objects.filter(source=f"guide:{guide.pk}", channel="sms").exists()
    with django_capture_on_commit_callbacks(execute=True):
        junior = homeschool.guide_publish(actor=world.district_admin, author_unit=world.district, title="初中：青春期", body="沟通。",
                                          topic="emotion", stage="junior")
    assert g["parent_a1"].pk not in set(Delivery.objects.filter(source=f"guide:{junior.pk}").values_list("guardian_id", flat=True))
    assert homeschool.push_guide(guide.pk) == 0  # once only


def test_activity_promotion_tells_the_promoted_family_only(world, django_capture_on_commit_callbacks):
    _activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, capacity=1, title="亲子阅读会")
    first = activities.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[])
    waiting = activities.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=False, student_ids=[world.child_a1.pk])
    assert waiting.status == SignUpStatus.WAITLISTED
    with django_capture_on_commit_callbacks(execute=True):
        activities.signup_cancel(actor=world.parent_a2, signup_id=first.pk)
    g = world.guardians
    told = set(Delivery.objects.filter(kind="promoted").values_list("guardian_id", flat=True))
    assert told == {g["parent_a1"].pk, g["grandparent_a1"].pk, g["unactivated_a1"].pk}
    assert g["parent_a2"].pk not in told and g["parent_two_schools"].pk not in told  # the neighbouring family: nothing


def test_a_broken_composer_fails_its_row_and_frees_the_batch(world, monkeypatch):
    def broken(delivery, address, cache):
        raise LookupError("the source row is gone")

    monkeypatch.setitem(registry.COMPOSERS, "gone", broken)
    notify([world.guardians["parent_a1"]], Note(title="x", source="gone:1"), channels=("sms",), key="gone")
    notify([world.guardians["parent_a1"]], _note(), channels=("sms",), key="fine")
    assert sending.send_due() == 1
    assert Delivery.objects.get(message__key="gone").status == DeliveryStatus.FAILED
    assert not Delivery.objects.filter(status=DeliveryStatus.SENDING).exists()
