"""The one learning-hours ledger: lessons attended (QR check-in) and recordings watched (real playback
progress) land in it once per source; a semester's total against the school's threshold gives a certificate."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from activities import services as activity_services
from courses import services
from courses.models import CourseMode, LessonWatch
from ledger.models import Certificate, LearningHours, SchoolSetting
from ledger.services import certificates_issue_due, certificates_sweep, credit
from periods.services import school_year_ensure, school_year_start_for

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}


@pytest.fixture
def semester(world):
    school_year_ensure(district=world.district, start_year=school_year_start_for(timezone.localdate()))


def _course(world, mode, **kw):
    course = services.course_create(actor=world.school_admin_a, owner_unit=world.school_a, title=kw.pop("title", "读懂孩子的情绪"),
                                    category="basic", stage="primary", mode=mode, lecturer_name="李老师")
    return course


def _recorded(world, duration=100, hours="1"):
    course = _course(world, CourseMode.RECORDED)
    lesson = services.lesson_create(actor=world.school_admin_a, course=course, title="第一讲", hours=hours, duration_seconds=duration,
                                    intro="导入", video=SimpleUploadedFile("l1.mp4", MP4, content_type="video/mp4"))
    services.course_publish(actor=world.school_admin_a, course=course)
    return course, lesson


def _play(user, lesson, positions, start, step=10):
    t = start
    watch = None
    for p in positions:
        watch = services.watch_beacon(actor=user, lesson=lesson, position=p, now=t)
        t += dt.timedelta(seconds=step)
    return watch


def test_real_playback_counts(world, semester):
    _c, lesson = _recorded(world)
    t0 = timezone.now()
    watch = _play(world.parent_a1, lesson, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], t0)
    assert watch.watched_seconds == 100 and watch.completed_at is not None
    row = LearningHours.objects.get()
    assert (row.source_key, row.kind, row.hours) == (f"course.lesson:{lesson.pk}", "lesson", Decimal("1.0"))


def test_skipping_ahead_or_a_click_does_not_count(world, semester):
    _c, lesson = _recorded(world)
    t0 = timezone.now()
    # One "click" and a jump to the end 10 s later: nothing watched.
    watch = _play(world.parent_a1, lesson, [0, 100], t0)
    assert watch.watched_seconds == 0 and watch.completed_at is None
    # Sending positions faster than playback could move (100 s of video in 20 s): only plausible steps count.
    watch = _play(world.parent_a2, lesson, [0, 50, 100], t0, step=10)
    assert watch.watched_seconds == 0
    # Looping over the first 20 seconds again and again never adds up to the whole lesson.
    t = t0
    for _ in range(10):
        for p in (0, 10, 20):
            watch = services.watch_beacon(actor=world.grandparent_a1, lesson=lesson, position=p, now=t)
            t += dt.timedelta(seconds=10)
    assert watch.watched_seconds == 20 and not LearningHours.objects.exists()


def test_beacon_rejects_nonsense(world, semester, client):
    _c, lesson = _recorded(world)
    with pytest.raises(ValidationError):
        services.watch_beacon(actor=world.parent_a1, lesson=lesson, position="abc")
    client.force_login(world.parent_a1)
    resp = client.post(reverse("courses:lesson_progress", args=[lesson.pk]), {"position": "nan"})
    assert resp.status_code == 400 and resp.json()["code"] == "position_invalid"
    resp = client.post(reverse("courses:lesson_progress", args=[lesson.pk]), {"position": "5"})
    assert resp.status_code == 200 and resp.json()["watched_seconds"] == 0
    client.force_login(world.parent_other)
    assert client.post(reverse("courses:lesson_progress", args=[lesson.pk]), {"position": "5"}).status_code == 404
    assert LessonWatch.objects.count() == 1


def test_attending_and_watching_the_same_lesson_counts_once(world, semester):
    course = _course(world, CourseMode.OFFLINE)
    lesson = services.lesson_create(actor=world.school_admin_a, course=course, title="第一讲", hours="2")
    services.course_publish(actor=world.school_admin_a, course=course)
    start = timezone.now() + dt.timedelta(minutes=10)
    services.lesson_schedule(actor=world.school_admin_a, lesson=lesson, starts_at=start, ends_at=start + dt.timedelta(hours=2),
                             capacity=30, venue="报告厅")
    lesson.refresh_from_db()
    session = lesson.activity.sessions.get()
    activity_services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    activity_services.checkin_self(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    row = LearningHours.objects.get()
    assert row.source_key == f"course.lesson:{lesson.pk}" and row.hours == Decimal("2.0") and row.kind == "lesson"
    # The same key from the recording (or anything else crediting this lesson) adds nothing.
    credit(guardian_ids=[row.guardian_id], source=row.source_key, hours=Decimal("2"),
           day=timezone.localdate(), title="x", school_id=None, district_id=world.district.pk)
    assert LearningHours.objects.count() == 1


def test_certificate_at_the_schools_threshold(world, semester, client, django_capture_on_commit_callbacks):
    SchoolSetting.objects.create(school=world.school_a, hours_target=Decimal("3"))
    g = world.guardians["parent_a1"].pk
    today = timezone.localdate()
    # Certificates are checked by the worker once the credit commits (the queue runs inline in tests).
    with django_capture_on_commit_callbacks(execute=True):
        for i, h in enumerate(["1", "1.5"]):
            credit(guardian_ids=[g], source=f"activity.session:{900 + i}", hours=Decimal(h), day=today,
                   title=f"讲座{i}", school_id=world.school_a.pk, district_id=world.district.pk)
    assert not Certificate.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        credit(guardian_ids=[g], source="activity.session:902", hours=Decimal("1"), day=today,
               title="讲座2", school_id=world.school_a.pk, district_id=world.district.pk)
    cert = Certificate.objects.get()
    assert cert.guardian_id == g and cert.hours == Decimal("3.5") and cert.threshold == Decimal("3")
    certificates_issue_due(guardian_ids=[g], day=today, district_id=world.district.pk)  # idempotent
    assert Certificate.objects.count() == 1
    client.force_login(world.parent_a1)
    page = client.get(reverse("courses:hours"))
    assert b'data-testid="certificate-link"' in page.content and b"3.5" in page.content
    cert_page = client.get(reverse("courses:certificate", args=[cert.pk]))
    assert cert_page.status_code == 200 and "家长学校结业证书".encode() in cert_page.content
    client.force_login(world.parent_a2)
    assert client.get(reverse("courses:certificate", args=[cert.pk])).status_code == 404


def test_default_threshold_is_eight(world, semester, django_capture_on_commit_callbacks):
    g = world.guardians["parent_a2"].pk
    with django_capture_on_commit_callbacks(execute=True):
        credit(guardian_ids=[g], source="activity.session:1", hours=Decimal("7.5"),
               day=timezone.localdate(), title="x", school_id=None, district_id=world.district.pk)
    assert not Certificate.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        credit(guardian_ids=[g], source="activity.session:2", hours=Decimal("0.5"),
               day=timezone.localdate(), title="y", school_id=None, district_id=world.district.pk)
    assert Certificate.objects.filter(guardian_id=g, threshold=Decimal("8")).exists()


def test_the_hourly_sweep_issues_a_certificate_whose_check_was_never_queued(world, semester):
    g = world.guardians["parent_a2"].pk
    # No on-commit callbacks run here: as if the worker's queue had lost the message.
    credit(guardian_ids=[g], source="activity.session:7", hours=Decimal("9"),
           day=timezone.localdate(), title="x", school_id=None, district_id=world.district.pk)
    assert not Certificate.objects.exists()
    assert certificates_sweep() == 1
    assert Certificate.objects.filter(guardian_id=g, hours=Decimal("9")).count() == 1
    assert certificates_sweep() == 0  # nothing twice


def test_ledger_is_private_to_the_family_and_course_staff(world, semester):
    credit(guardian_ids=[world.guardians["parent_a1"].pk], source="activity.session:5", hours=Decimal("1"),
           day=timezone.localdate(), title="x", school_id=None, district_id=world.district.pk)
    assert LearningHours.objects.visible_to(world.parent_a1).count() == 1
    assert LearningHours.objects.visible_to(world.parent_a2).count() == 0
    assert LearningHours.objects.visible_to(world.school_admin_a).count() == 1
    assert LearningHours.objects.visible_to(world.school_admin_b).count() == 0
    assert LearningHours.objects.visible_to(world.teacher_a1).count() == 0


def test_recorded_lesson_needs_a_real_video(world):
    course = _course(world, CourseMode.RECORDED)
    with pytest.raises(ValidationError) as e:
        services.lesson_create(actor=world.school_admin_a, course=course, title="x", hours="1", duration_seconds=60,
                               video=SimpleUploadedFile("x.mp4", b"<html><script>alert(1)</script>", content_type="video/mp4"))
    assert e.value.code == "upload_bad_type"
    with pytest.raises(ValidationError) as e:
        services.lesson_create(actor=world.school_admin_a, course=course, title="x", hours="1", duration_seconds=60,
                               video=SimpleUploadedFile("x.webm", MP4, content_type="video/webm"))
    assert e.value.code == "upload_bad_extension"
