"""Coverage figures: SQL aggregates with bounded query counts, for any unit and period, shown to staff."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from activities import selectors, services
from activities.models import ActivityKind, Audience, CampaignKind
from activities.testing import make_activity
from ledger.models import FamilyPeriod, SchoolSetting
from people.models import Student
from periods.services import school_year_ensure, school_year_start_for


@pytest.fixture
def semester(world):
    school_year_ensure(district=world.district, start_year=school_year_start_for(timezone.localdate()))
    return selectors.semester_window(district_id=world.district.pk)


def _held(world, owner, actor, hours=0, **kw):
    """An activity that took place this morning (sessions in the past)."""
    activity, session = make_activity(actor=actor, owner=owner, starts_in=dt.timedelta(minutes=10), credited_hours=hours, **kw)
    return activity, session


def _finish(session):
    now = timezone.now()
    session.starts_at = now - dt.timedelta(hours=3)
    session.ends_at = now - dt.timedelta(hours=1)
    session.save()


def test_family_coverage_per_class_and_school(world, semester, django_assert_num_queries):
    # Extra students so that rates are not trivially 0/100.
    for i in range(3):
        Student.objects.create(district=world.district, school=world.school_a, school_class=world.class_a1, name=f"甲{i}",
                               student_no=f"X{i}")
    activity, session = _held(world, world.school_a, world.school_admin_a)
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    services.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[world.child_a2.pk])
    services.checkin_self(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])  # guardian only → family counts
    with django_assert_num_queries(6):  # roll-up check + back-fill and its mark (first time only), 2 counts, classes
        rows = selectors.class_coverage(unit=world.school_a, window=semester)
    by_class = {r.unit_id: r for r in rows}
    assert (by_class[world.class_a1.pk].students, by_class[world.class_a1.pk].took_part) == (4, 1)
    assert (by_class[world.class_a2.pk].students, by_class[world.class_a2.pk].took_part) == (1, 0)
    assert by_class[world.class_a1.pk].rate == 25.0
    with django_assert_num_queries(1):
        grades = selectors.rollup(unit=world.school_a, rows=rows, kind="grade")
    assert (grades[0].students, grades[0].took_part) == (5, 1)
    # District level: every class of every school, still 4 queries (the roll-up is already there).
    with django_assert_num_queries(4):
        district_rows = selectors.class_coverage(unit=world.district, window=semester)
    assert sum(r.students for r in district_rows) == 6  # the other district's child is not counted
    # Sign-up → attendance: parent_a1 (1 place) came; parent_a2's party of 2 did not.
    with django_assert_num_queries(1):
        att = selectors.signup_attendance(unit=world.school_a, window=semester)
    assert (att.signed_up, att.attended, att.rate) == (3, 1, 33.3)
    # Outside the period nothing counts.
    last_year = selectors.Window(semester.start - dt.timedelta(days=400), semester.start - dt.timedelta(days=300))
    assert sum(r.took_part for r in selectors.class_coverage(unit=world.school_a, window=last_year)) == 0
    # Any window (no period): the same figures straight from the participation rows, 3 queries.
    raw = selectors.Window(semester.start, semester.end)
    with django_assert_num_queries(3):
        assert [(r.unit_id, r.took_part) for r in selectors.class_coverage(unit=world.school_a, window=raw)] == [
            (r.unit_id, r.took_part) for r in rows]


def test_rollup_backfills_a_period_created_later(world):
    """Participation recorded before the district set up its calendar still counts once the period exists."""

    activity, session = _held(world, world.school_a, world.school_admin_a)
    services.checkin_manual(actor=world.school_admin_a, session=session, guardian_ids=[world.guardians["parent_a1"].pk], student_ids=[])
    assert not FamilyPeriod.objects.exists()  # no periods yet
    school_year_ensure(district=world.district, start_year=school_year_start_for(timezone.localdate()))
    window = selectors.semester_window(district_id=world.district.pk)
    rows = {r.unit_id: r.took_part for r in selectors.class_coverage(unit=world.school_a, window=window)}
    assert rows[world.class_a1.pk] == 1
    # Later check-ins land in the roll-up as they happen, once per family and period.
    services.checkin_manual(actor=world.school_admin_a, session=session, guardian_ids=[world.guardians["grandparent_a1"].pk], student_ids=[])
    rows = {r.unit_id: r.took_part for r in selectors.class_coverage(unit=world.school_a, window=window)}
    assert rows[world.class_a1.pk] == 1
    assert FamilyPeriod.objects.filter(student=world.child_a1, period_id=window.period_id).count() == 1


def test_training_hours_per_school_against_target(world, semester, django_assert_max_num_queries):
    SchoolSetting.objects.create(school=world.school_b, hours_target=Decimal("4"))
    a1, s1 = _held(world, world.class_a1, world.teacher_a1, hours=2, kind=ActivityKind.PARENT_MEETING, audience=Audience.GUARDIANS)
    a2, s2 = _held(world, world.school_a, world.school_admin_a, hours="1.5", kind=ActivityKind.PUBLIC_LECTURE)
    a3, s3 = _held(world, world.school_a, world.school_admin_a, hours=3, audience=Audience.STUDENTS)  # not parent training
    a4, s4 = _held(world, world.school_b, world.school_admin_b, hours=4)
    for s in (s1, s2, s3, s4):
        _finish(s)
    _u, upcoming = _held(world, world.school_a, world.school_admin_a, hours=5)  # not held yet
    with django_assert_max_num_queries(3):
        rows = {r.school_id: r for r in selectors.training_hours_by_school(unit=world.district, window=semester)}
    assert rows[world.school_a.pk].delivered == Decimal("3.5") and rows[world.school_a.pk].target == Decimal("8")
    assert not rows[world.school_a.pk].reached and rows[world.school_a.pk].sessions == 2
    assert rows[world.school_b.pk].delivered == Decimal("4") and rows[world.school_b.pk].reached


def test_campaign_participation_counts_in_its_own_figure(world, semester):
    today = timezone.localdate()
    c = services.campaign_create(actor=world.teacher_a1, owner_unit=world.class_a1, audience_units=[world.class_a1],
                                 kind=CampaignKind.SIX_ONES, title="六个一", description="", starts_on=today, ends_on=today)
    services.campaign_post_create(actor=world.parent_a1, campaign=c, student_id=world.child_a1.pk, text="共读一本书")
    rows = selectors.class_coverage(unit=world.school_a, window=semester, source="campaign")
    assert {r.unit_id: r.took_part for r in rows}[world.class_a1.pk] == 1
    per_class = selectors.campaign_class_participation(campaign=c, unit=world.class_a1)
    assert [(r.students, r.took_part) for r in per_class] == [(1, 1)]


def test_coverage_page_for_staff_only(client, world, semester, django_assert_max_num_queries):
    activity, session = _held(world, world.school_a, world.school_admin_a)
    services.checkin_manual(actor=world.school_admin_a, session=session, guardian_ids=[], student_ids=[world.child_a1.pk])
    client.force_login(world.district_admin)
    page = client.get(reverse("activities:coverage"))
    assert page.status_code == 200 and b'data-testid="coverage-groups"' in page.content
    assert world.school_a.name.encode() in page.content
    client.force_login(world.school_admin_a)
    url = reverse("activities:coverage") + f"?unit={world.school_a.pk}"
    client.get(url)
    with django_assert_max_num_queries(25):  # bounded whatever the number of classes
        page = client.get(url)
    assert b'data-testid="coverage-classes"' in page.content and b"50.0%" in page.content
    # Another school's admin: the unit is out of scope.
    client.force_login(world.school_admin_b)
    assert client.get(url).status_code == 404
    client.force_login(world.teacher_a1)
    assert client.get(reverse("activities:coverage") + f"?unit={world.class_a1.pk}").status_code == 200
    assert client.get(url).status_code == 404
    client.force_login(world.parent_a1)
    assert client.get(reverse("activities:coverage")).status_code == 404
