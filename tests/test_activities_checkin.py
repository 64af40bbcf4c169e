"""QR check-in: signed, short-lived codes bound to one session; log-in on the way; each person once;
manual and bulk check-in by the organiser; attendance → participation and learning hours, once."""

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from activities import qr, services
from activities.models import ActivityKind, Audience, CheckIn, CheckInMethod
from activities.testing import make_activity
from ledger.models import LearningHours, Participation

SOON = dt.timedelta(minutes=10)


@pytest.fixture
def live(world):
    """A class A1 family activity starting in 10 minutes (check-in window open), parent_a1 + child signed up."""
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, starts_in=SOON, credited_hours=2)
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    return activity, session


def _scan(client, session, token=None):
    return client.get(reverse("activities:checkin", args=[session.pk]), {"t": token or qr.make_token(session.pk)})


def test_token_is_bound_to_its_session_and_expires(world, live, monkeypatch):
    _a, session = live
    token = qr.make_token(session.pk)
    qr.check_token(token, session.pk)
    with pytest.raises(ValidationError) as e:
        qr.check_token(token, session.pk + 1)
    assert e.value.code == "qr_invalid"
    with pytest.raises(ValidationError) as e:
        qr.check_token(token[:-2] + "xx", session.pk)
    assert e.value.code == "qr_invalid"
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + qr.TOKEN_TTL + 1)
    with pytest.raises(ValidationError) as e:
        qr.check_token(token, session.pk)
    assert e.value.code == "qr_expired"


def test_code_changes_every_slot(world, live, monkeypatch):
    _a, session = live
    real = time.time
    first = qr.make_token(session.pk)
    monkeypatch.setattr(time, "time", lambda: real() + qr.SLOT_SECONDS)
    assert qr.make_token(session.pk) != first


def test_scan_then_pick_children(client, world, live):
    activity, session = live
    client.force_login(world.parent_a1)
    page = _scan(client, session)
    assert page.status_code == 200 and b'data-testid="checkin-form"' in page.content
    resp = client.post(reverse("activities:checkin", args=[session.pk]), {"self": "1", "student": [world.child_a1.pk]}, follow=True)
    assert "签到成功".encode() in resp.content
    assert CheckIn.objects.filter(session=session).count() == 2
    assert set(CheckIn.objects.values_list("method", flat=True)) == {CheckInMethod.QR}
    assert all(abs((c.at - timezone.now()).total_seconds()) < 60 for c in CheckIn.objects.all())
    assert set(CheckIn.objects.values_list("checked_in_by", flat=True)) == {world.parent_a1.pk}
    # Again: nothing new.
    resp = client.post(reverse("activities:checkin", args=[session.pk]), {"self": "1", "student": [world.child_a1.pk]}, follow=True)
    assert "无需重复签到".encode() in resp.content
    assert CheckIn.objects.filter(session=session).count() == 2


def test_anonymous_scan_logs_in_then_returns(client, world, live):
    _a, session = live
    resp = _scan(client, session)
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]
    assert reverse("activities:checkin", args=[session.pk]) in resp["Location"]
    client.force_login(world.parent_a1)  # Django keeps the session's data across log-in
    page = client.get(reverse("activities:checkin", args=[session.pk]))
    assert b'data-testid="checkin-form"' in page.content
    client.post(reverse("activities:checkin", args=[session.pk]), {"student": [world.child_a1.pk]})
    assert CheckIn.objects.filter(session=session, student=world.child_a1).exists()


def test_without_a_scan_there_is_no_check_in(client, world, live):
    _a, session = live
    client.force_login(world.parent_a1)
    page = client.get(reverse("activities:checkin", args=[session.pk]))
    assert b'data-testid="checkin-form"' not in page.content and b"checkin-error" in page.content
    client.post(reverse("activities:checkin", args=[session.pk]), {"self": "1"})
    assert not CheckIn.objects.exists()


def test_expired_or_foreign_code_is_useless(client, world, live, monkeypatch):
    _a, session = live
    token = qr.make_token(session.pk)
    other_activity, other = make_activity(actor=world.teacher_a1, owner=world.class_a1, starts_in=SOON, title="另一场")
    client.force_login(world.parent_a1)
    page = _scan(client, session, token=qr.make_token(other.pk))
    assert "二维码无效".encode() in page.content
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + qr.TOKEN_TTL + 5)
    page = _scan(client, session, token=token)
    assert "二维码已过期".encode() in page.content
    client.post(reverse("activities:checkin", args=[session.pk]), {"self": "1"})
    assert not CheckIn.objects.exists()


def test_outside_the_time_window(world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, starts_in=dt.timedelta(hours=3))
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    with pytest.raises(ValidationError) as e:
        services.checkin_self(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    assert e.value.code == "outside_window"
    # After the end (+30 min) too.
    session.starts_at = timezone.now() - dt.timedelta(hours=3)
    session.ends_at = timezone.now() - dt.timedelta(hours=2)
    session.save()
    with pytest.raises(ValidationError) as e:
        services.checkin_self(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    assert e.value.code == "outside_window"


def test_only_signed_up_people_check_in_themselves(world):
    activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, starts_in=SOON)
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=False, student_ids=[world.child_a1.pk])
    # parent_a2 sees the school's activity but did not sign up.
    with pytest.raises(ValidationError) as e:
        services.checkin_self(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[])
    assert e.value.code == "not_signed_up"
    with pytest.raises(ValidationError) as e:
        services.checkin_self(actor=world.parent_a1, session_id=session.pk, include_self=False, student_ids=[world.child_a2.pk])
    assert e.value.code == "not_own_child"
    # A guardian of a signed-up family may come in place of the one who signed up.
    r = services.checkin_self(actor=world.grandparent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    assert r.created == 2
    # A class B family cannot even see the session.
    with pytest.raises(Http404):
        services.checkin_self(actor=world.parent_other, session_id=session.pk, include_self=True, student_ids=[])


def test_each_person_at_most_once_even_at_database_level(world, live):
    _a, session = live
    r1 = services.checkin_self(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    # The grandparent of the same child checks the child in too: already there.
    r2 = services.checkin_self(actor=world.grandparent_a1, session_id=session.pk, include_self=False, student_ids=[world.child_a1.pk])
    assert r1.created == 2 and r2.created == 0 and r2.already == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckIn.objects.create(session=session, activity=session.activity, district=world.district, student=world.child_a1, method="manual")


def test_attendance_becomes_participation_and_hours_once(world, live):
    activity, session = live
    services.checkin_self(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    services.checkin_manual(actor=world.teacher_a1, session=session, guardian_ids=[world.guardians["parent_a1"].pk], student_ids=[world.child_a1.pk])
    assert Participation.objects.filter(source_key=f"activity.session:{session.pk}").count() == 1  # one family row for child_a1
    row = Participation.objects.get()
    assert (row.student_id, row.school_class_id, row.school_id, row.class_path) == (
        world.child_a1.pk, world.class_a1.pk, world.school_a.pk, world.class_a1.path,
    )
    hours = LearningHours.objects.get()
    assert hours.guardian_id == world.guardians["parent_a1"].pk and hours.hours == Decimal("2") and hours.source_key == f"activity.session:{session.pk}"
    assert hours.school_id == world.school_a.pk


def test_students_only_activity_gives_no_guardian_hours(world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, starts_in=SOON, credited_hours=2,
                                      audience=Audience.STUDENTS, requires_signup=False, kind=ActivityKind.SPORTS_DAY)
    services.checkin_self(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    assert list(CheckIn.objects.values_list("student_id", "guardian_id")) == [(world.child_a1.pk, None)]
    assert not LearningHours.objects.exists()


def test_manual_and_bulk_check_in_by_the_organiser(client, world):
    # A parent meeting that needs no sign-up: the class's families are the candidates.
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, starts_in=SOON, requires_signup=False,
                                      kind=ActivityKind.PARENT_MEETING, audience=Audience.GUARDIANS, credited_hours=1)
    client.force_login(world.teacher_a1)
    page = client.get(reverse("activities:attendance", args=[session.pk]))
    assert b"grandparent_a1" in page.content and b"parent_a2" not in page.content
    preview = client.post(reverse("activities:attendance", args=[session.pk]),
                          {"action": "match", "names": "parent_a1、grandparent_a1\n张三"})
    assert b'data-testid="bulk-preview"' in preview.content and "张三".encode() in preview.content
    resp = client.post(reverse("activities:attendance", args=[session.pk]), {
        "action": "bulk", "guardian": [world.guardians["parent_a1"].pk, world.guardians["grandparent_a1"].pk],
    }, follow=True)
    assert "已签到 2 人".encode() in resp.content
    assert set(CheckIn.objects.values_list("method", flat=True)) == {CheckInMethod.BULK}
    # Someone outside the audience cannot be slipped in by id.
    resp = client.post(reverse("activities:attendance", args=[session.pk]), {"action": "manual", "guardian": [world.guardians["parent_a2"].pk]}, follow=True)
    assert "不在本活动的报名名单".encode() in resp.content
    assert CheckIn.objects.count() == 2
    assert LearningHours.objects.count() == 2


def test_bulk_match_reports_unknown_and_ambiguous(world):
    activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, starts_in=SOON, requires_signup=False)
    world.child_a2.name = world.child_a1.name  # two children with the same name
    world.child_a2.save()
    out = services.bulk_match(actor=world.school_admin_a, session=session, text=f"{world.child_a1.name}，parent_a2，无此人")
    assert out["ambiguous"] == [world.child_a1.name]
    assert out["unknown"] == ["无此人"]
    assert out["guardians"] == {world.guardians["parent_a2"].pk}


def test_qr_page_for_organiser(client, world, live):
    _a, session = live
    client.force_login(world.teacher_a1)
    page = client.get(reverse("activities:qr", args=[session.pk]))
    assert page.status_code == 200
    assert b"<svg" in page.content and b'data-testid="qr-code"' in page.content
    assert b"style=" not in page.content.split(b"<svg", 1)[1].split(b"</svg>", 1)[0]  # CSP: no inline styles
    live_part = client.get(reverse("activities:qr_live", args=[session.pk]))
    assert b"gy-qr-box" in live_part.content
    client.force_login(world.teacher_a2)
    assert client.get(reverse("activities:qr", args=[session.pk])).status_code == 404
