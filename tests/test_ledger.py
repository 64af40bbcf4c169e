"""The participation ledger: one record per (source, person) whoever credits it, revocable, hours from
every module adding up in one total, a certificate once the rule is met, and rows private to the family
and to the staff who run its class or school."""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from activities import perms as activity_perms
from activities import services as activity_services
from activities.testing import make_activity
from core import modules
from core.perms import provided_perm
from courses import perms as course_perms
from courses import services as course_services
from courses.models import CourseMode
from jobs import services as jobs_services
from jobs.models import Job
from ledger import registry
from ledger import services as ledger
from ledger.models import (
    HOURS_STAFF_SLOT,
    PARTICIPATION_STAFF_SLOT,
    Certificate,
    FamilyPeriod,
    LearningHours,
    Participation,
    SchoolSetting,
)
from periods.services import school_year_ensure, school_year_start_for

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.fixture
def semester(world):
    school_year_ensure(district=world.district, start_year=school_year_start_for(timezone.localdate()))


def _credit(world, source="activity.session:41", hours="2", **kw):
    kw.setdefault("guardian_ids", [world.guardians["parent_a1"].pk])
    kw.setdefault("student_ids", [world.child_a1.pk])
    return ledger.credit(source=source, district_id=world.district.pk, day=timezone.localdate(), hours=Decimal(hours),
                         title="〔A1家的讲座〕", channel="activity", kind="public_lecture", school_id=world.school_a.pk, **kw)


def test_crediting_twice_gives_one_record(world, semester):
    _credit(world)
    _credit(world)
    assert Participation.objects.filter(source_key="activity.session:41").count() == 1
    assert LearningHours.objects.filter(source_key="activity.session:41").count() == 1
    row = Participation.objects.get()
    assert (row.student_id, row.school_class_id, row.class_path, row.source) == (world.child_a1.pk, world.class_a1.pk, world.class_a1.path, "activity")
    # The roll-up that coverage reads says the family took part once in each period containing the day.
    assert FamilyPeriod.objects.filter(student=world.child_a1).count() == FamilyPeriod.objects.values("period").distinct().count() >= 1


def test_another_source_is_another_record_and_hours_need_a_guardian_and_hours(world):
    _credit(world)
    _credit(world, source="activity.session:42")
    _credit(world, source="activity.session:43", hours="0")  # no hours: participation only
    _credit(world, source="activity.session:44", guardian_ids=[])
    assert Participation.objects.count() == 4
    assert sorted(LearningHours.objects.values_list("source_key", flat=True)) == ["activity.session:41", "activity.session:42"]
    with pytest.raises(ValueError):  # a participation counts in a coverage channel, which must be named
        ledger.credit(source="activity.session:45", district_id=world.district.pk, day=timezone.localdate(), student_ids=[world.child_a1.pk])


def test_revoke_takes_the_credit_back_and_only_that(world, semester):
    _credit(world, guardian_ids=[world.guardians["parent_a1"].pk, world.guardians["grandparent_a1"].pk])
    _credit(world, source="activity.session:42")
    assert ledger.revoke(source="activity.session:41", guardian_ids=[world.guardians["grandparent_a1"].pk], student_ids=[]) == (0, 1)
    assert LearningHours.objects.filter(source_key="activity.session:41").get().guardian_id == world.guardians["parent_a1"].pk
    assert ledger.revoke(source="activity.session:41") == (1, 1)
    assert not Participation.objects.filter(source_key="activity.session:41").exists()
    assert list(LearningHours.objects.values_list("source_key", flat=True)) == ["activity.session:42"]
    # The family still took part (through session 42): the roll-up keeps it.
    assert FamilyPeriod.objects.filter(student=world.child_a1).exists()
    ledger.revoke(source="activity.session:42")
    assert not FamilyPeriod.objects.filter(student=world.child_a1).exists()
    assert ledger.revoke(source="activity.session:42") == (0, 0)  # twice: nothing more


def test_hours_from_an_activity_session_and_a_course_lesson_add_up_in_one_ledger(world, semester):
    g = world.guardians["parent_a1"].pk
    # An activity session, attended (QR self check-in).
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, starts_in=dt.timedelta(minutes=5), credited_hours=2)
    activity_services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    activity_services.checkin_self(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    # A recorded lesson, watched to the end.
    course = course_services.course_create(actor=world.school_admin_a, owner_unit=world.school_a, title="读懂孩子的情绪", category="basic",
                                           stage="primary", mode=CourseMode.RECORDED, lecturer_name="李老师")
    lesson = course_services.lesson_create(actor=world.school_admin_a, course=course, title="第一讲", hours="1.5", duration_seconds=30,
                                           intro="导入", video=SimpleUploadedFile("l1.mp4", MP4, content_type="video/mp4"))
    course_services.course_publish(actor=world.school_admin_a, course=course)
    t = timezone.now()
    for position in (0, 10, 20, 30):
        course_services.watch_beacon(actor=world.parent_a1, lesson=lesson, position=position, now=t)
        t += dt.timedelta(seconds=10)
    keys = set(LearningHours.objects.filter(guardian_id=g).values_list("source_key", flat=True))
    assert keys == {f"activity.session:{session.pk}", f"course.lesson:{lesson.pk}"}
    day = timezone.localdate()
    assert ledger.hours_total(guardian_id=g, start=day - dt.timedelta(days=1), end=day + dt.timedelta(days=1)) == Decimal("3.5")
    # What earned them is named through the registry, without the ledger importing either module.
    labels = {r.source_key: (r.source_label, r.kind) for r in LearningHours.objects.filter(guardian_id=g)}
    assert labels[f"course.lesson:{lesson.pk}"] == ("家长学校课程", "lesson")
    assert labels[f"activity.session:{session.pk}"] == ("活动/讲座", "activity")
    assert registry.link_for(f"activity.session:{session.pk}") == reverse("activities:detail", args=[activity.pk])


def test_a_lessons_session_credits_the_lesson(world, semester):
    """An offline lesson is held as an activity session: attending it credits the lesson's source, which the
    activity names (activities does not know courses)."""
    course = course_services.course_create(actor=world.school_admin_a, owner_unit=world.school_a, title="好习惯", category="basic",
                                           stage="primary", mode=CourseMode.OFFLINE, lecturer_name="李老师")
    lesson = course_services.lesson_create(actor=world.school_admin_a, course=course, title="第一讲", hours="2")
    start = timezone.now() + dt.timedelta(minutes=10)
    course_services.lesson_schedule(actor=world.school_admin_a, lesson=lesson, starts_at=start, ends_at=start + dt.timedelta(hours=2),
                                    capacity=30, venue="报告厅")
    lesson.refresh_from_db()
    assert lesson.activity.credit_source == f"course.lesson:{lesson.pk}"


def test_a_certificate_is_issued_once_when_the_rule_is_met(world, semester, client, django_capture_on_commit_callbacks):
    SchoolSetting.objects.create(school=world.school_a, hours_target=Decimal("4"))
    with django_capture_on_commit_callbacks(execute=True):
        _credit(world, source="activity.session:1", hours="2.5")
    assert not Certificate.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        _credit(world, source="course.lesson:1", hours="1.5")
    cert = Certificate.objects.get()
    assert (cert.guardian_id, cert.hours, cert.threshold) == (world.guardians["parent_a1"].pk, Decimal("4.0"), Decimal("4.0"))
    with django_capture_on_commit_callbacks(execute=True):
        _credit(world, source="course.lesson:2", hours="1")
    assert ledger.certificates_sweep() == 0
    assert Certificate.objects.count() == 1
    client.force_login(world.parent_a1)
    assert client.get(reverse("courses:certificate", args=[cert.pk])).status_code == 200


def test_an_unregistered_source_kind_is_refused():
    with pytest.raises(LookupError):
        registry.key("activity.sesion", 1)
    assert registry.key("activity.session", 7) == "activity.session:7"
    assert registry.label_for("volunteering.shift:3") == "其他"  # a module not installed: still rendered


def _bearer(user) -> dict:
    _token, key = ApiToken.issue(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_a_neighbouring_class_cannot_see_another_familys_ledger(world, semester, client, django_capture_on_commit_callbacks):
    SchoolSetting.objects.create(school=world.school_a, hours_target=Decimal("1"))
    with django_capture_on_commit_callbacks(execute=True):
        _credit(world, hours="3")
    cert = Certificate.objects.get()
    # Querysets: the family and its class's teacher / the school's parent-school staff; not the next class.
    assert Participation.objects.visible_to(world.parent_a1).count() == 1
    assert Participation.objects.visible_to(world.teacher_a1).count() == 1
    for user in (world.parent_a2, world.teacher_a2, world.teacher_b1, world.parent_other):
        assert Participation.objects.visible_to(user).count() == 0
        assert LearningHours.objects.visible_to(user).count() == 0
        assert Certificate.objects.visible_to(user).count() == 0
    assert LearningHours.objects.visible_to(world.school_admin_a).count() == 1
    assert LearningHours.objects.visible_to(world.school_admin_b).count() == 0
    # Pages: the certificate opens for its family only; the neighbour's 我的学时 shows their own (empty) ledger.
    for user, status in ((world.parent_a1, 200), (world.parent_a2, 404), (world.teacher_a2, 404)):
        client.force_login(user)
        assert client.get(reverse("courses:certificate", args=[cert.pk])).status_code == status
    client.force_login(world.parent_a2)
    page = client.get(reverse("courses:hours")).content.decode()
    assert "〔A1家的讲座〕" not in page
    client.force_login(world.parent_a1)
    assert "〔A1家的讲座〕" in client.get(reverse("courses:hours")).content.decode()
    # API: the same.
    client.logout()
    mine = client.get(reverse("api-v1:course_hours"), **_bearer(world.parent_a1)).json()
    assert mine["total"] == 3 and mine["certificate_id"] == cert.pk and mine["rows"][0]["kind"] == "activity"
    theirs = client.get(reverse("api-v1:course_hours"), **_bearer(world.parent_a2)).json()
    assert theirs["total"] == 0 and theirs["rows"] == [] and theirs["certificate_id"] is None


def test_the_ledger_asks_which_staff_see_its_rows_by_slot(world, semester, monkeypatch, django_capture_on_commit_callbacks):
    """The staff permissions are activities' and courses' (their module.py fills the ledger's slots); with the
    slots unfilled (those modules not installed) no staff sees a family's rows, the family still does."""
    assert provided_perm(PARTICIPATION_STAFF_SLOT) is activity_perms.MANAGE
    assert provided_perm(HOURS_STAFF_SLOT) is course_perms.MANAGE
    with django_capture_on_commit_callbacks(execute=True):
        _credit(world, hours="3")
    slots = dict(modules._slots())
    monkeypatch.setattr(modules, "_slots", lambda: {k: v for k, v in slots.items() if not k.startswith("ledger.")})
    assert provided_perm(PARTICIPATION_STAFF_SLOT) is None
    assert Participation.objects.visible_to(world.teacher_a1).count() == 0
    assert LearningHours.objects.visible_to(world.school_admin_a).count() == 0
    assert Participation.objects.visible_to(world.parent_a1).count() == 1
    assert LearningHours.objects.visible_to(world.parent_a1).count() == 1


def test_the_ledger_imports_no_domain_app():
    domain = {"notices", "activities", "courses", "homeschool", "roster"}
    root = Path(settings.BASE_DIR) / "ledger"
    for f in root.rglob("*.py"):
        if "migrations" in f.parts:
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not {n.split(".")[0] for n in names} & domain, f"{f.name} imports a domain app"


def test_a_deleted_session_takes_its_credit_with_it(world, semester):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, starts_in=dt.timedelta(minutes=5), credited_hours=2)
    activity_services.checkin_manual(actor=world.teacher_a1, session=session, guardian_ids=[world.guardians["parent_a1"].pk], student_ids=[],
                                     method="manual")
    assert Participation.objects.filter(source_key=f"activity.session:{session.pk}").exists()
    session.delete()
    assert not Participation.objects.exists() and not LearningHours.objects.exists() and not FamilyPeriod.objects.exists()


def test_the_certificate_check_is_an_outbox_row_that_a_lost_message_does_not_lose(world, semester, django_capture_on_commit_callbacks):
    """Crediting hours writes the check's job row in the same transaction; with its message lost (the worker
    never got it), the one sweeper sends it again and the certificate is issued."""
    SchoolSetting.objects.create(school=world.school_a, hours_target=Decimal("2"))
    with django_capture_on_commit_callbacks(execute=False):  # the message never leaves
        _credit(world, source="activity.session:7", hours="2")
    job = Job.objects.get(kind=ledger.CERTIFICATES)
    assert job.status == "pending" and job.payload["guardians"] == [world.guardians["parent_a1"].pk]
    assert not Certificate.objects.exists()
    later = timezone.now() + dt.timedelta(seconds=jobs_services.stale_seconds() + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_services.sweep(now=later)["resent"] == 1
    job.refresh_from_db()
    assert job.status == "done"
    assert Certificate.objects.filter(guardian=world.guardians["parent_a1"]).count() == 1
