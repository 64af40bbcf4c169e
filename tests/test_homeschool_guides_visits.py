"""Micro-guides reach families of the right stage and count reads and ratings; home visits are planned,
recorded and counted per class for the current semester."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from core.scoping import forget_scope
from homeschool import selectors, services
from homeschool.models import Expert, GuideRead, HomeVisit, MicroGuide, VisitStatus, stage_for_grade_year
from org.models import Kind
from org.services import unit_create
from people.models import Student
from periods.services import school_year_ensure
from tests.test_notices_helpers import login, notice_settings  # noqa: F401


def publish(user, unit, **kw):
    return services.guide_publish(actor=user, author_unit=unit, title=kw.get("title", "如何应对孩子的情绪波动"), body=kw.get("body", "先共情，再讲道理。"),
                                  topic=kw.get("topic", "emotion"), stage=kw.get("stage", ""))


def test_stage_mapping():
    assert [stage_for_grade_year(y) for y in (-2, 0, 1, 3, 4, 6, 7, 9, 10, 12)] == [
        "kindergarten", "kindergarten", "primary_lower", "primary_lower", "primary_upper", "primary_upper", "junior", "junior", "senior", "senior",
    ]


def test_guides_reach_families_of_the_stage(client, world):
    lower = publish(world.district_admin, world.district, title="小学低段：写作业", stage="primary_lower")
    junior = publish(world.district_admin, world.district, title="初中：青春期沟通", stage="junior")
    everyone = publish(world.district_admin, world.district, title="假期安全", stage="")
    school_b_only = publish(world.school_admin_b, world.school_b, title="二中家长须知", stage="junior")

    def titles(user):
        return {g.title for g in selectors.guides_for(user)}

    assert titles(world.parent_a1) == {lower.title, everyone.title}  # child in grade 3
    assert titles(world.parent_two_schools) == {lower.title, junior.title, everyone.title, school_b_only.title}
    assert titles(world.parent_other) == set()  # another district
    login(client, world.parent_a1)
    assert client.get(reverse("homeschool:guide", args=[school_b_only.pk])).status_code == 404


def test_reads_counted_once_and_ratings(client, world):
    guide = publish(world.teacher_a1, world.class_a1, stage="primary_lower")
    login(client, world.parent_a1)
    client.get(reverse("homeschool:guide", args=[guide.pk]))
    client.get(reverse("homeschool:guide", args=[guide.pk]))
    login(client, world.grandparent_a1)
    client.get(reverse("homeschool:guide", args=[guide.pk]))
    client.post(reverse("homeschool:guide_rate", args=[guide.pk]), {"rating": "5"})
    login(client, world.parent_a1)
    client.post(reverse("homeschool:guide_rate", args=[guide.pk]), {"rating": "4"})
    bad = client.post(reverse("homeschool:guide_rate", args=[guide.pk]), {"rating": "9"}, follow=True)
    assert "1 到 5" in bad.content.decode()
    f = selectors.guide_figures([guide.pk])[guide.pk]
    assert (f["reads"], f["ratings"], f["avg"]) == (2, 2, 4.5)
    login(client, world.teacher_a1)  # staff reads are not family reads
    html = client.get(reverse("homeschool:guide", args=[guide.pk])).content.decode()
    assert "2 人读过" in html and GuideRead.objects.count() == 2
    # A class guide reaches only that class's families.
    login(client, world.parent_a2)
    assert client.get(reverse("homeschool:guide", args=[guide.pk])).status_code == 404


def test_who_may_publish(client, world):
    with pytest.raises(PermissionDenied):
        publish(world.teacher_a1, world.school_a)
    with pytest.raises(PermissionDenied):
        publish(world.parent_a1, world.class_a1)
    with pytest.raises(PermissionDenied):
        publish(world.volunteer, world.district)
    Expert.objects.create(district=world.district, user=world.volunteer)
    guide = publish(world.volunteer, world.district, body="<p>好</p><script>alert(1)</script>")
    assert "script" not in guide.body
    login(client, world.subject_teacher_a1)
    assert client.get(reverse("homeschool:guide_new")).status_code == 403
    login(client, world.teacher_a1)
    response = client.post(reverse("homeschool:guide_new"), {"author_unit": world.class_a1.pk, "title": "睡眠", "stage": "primary_lower", "topic": "health", "body": "九点睡"})
    assert response.status_code == 302 and MicroGuide.objects.filter(title="睡眠").exists()


def test_guide_list_shows_unread_marker_for_families(client, world):
    guide = publish(world.district_admin, world.district)
    login(client, world.parent_a1)
    assert "gy-dot" in client.get(reverse("homeschool:guides")).content.decode()
    client.get(reverse("homeschool:guide", args=[guide.pk]))
    assert "gy-dot" not in client.get(reverse("homeschool:guides")).content.decode()


# --- home visits -------------------------------------------------------------------------------------------------


def test_class_teacher_plans_and_records_visits(client, world):
    login(client, world.teacher_a1)
    today = timezone.localdate()
    response = client.post(reverse("homeschool:visit_class", args=[world.class_a1.pk]), {"student": world.child_a1.pk, "planned_for": today.isoformat(), "mode": "home"})
    assert response.status_code == 302
    visit = HomeVisit.objects.get()
    # Recording "done" without what was discussed is refused with a message and changes nothing.
    response = client.post(reverse("homeschool:visit", args=[visit.pk]), {"status": "done", "mode": "home", "visited_on": today.isoformat()})
    assert "请填写参加人员和交流内容" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == VisitStatus.PLANNED
    future = today + dt.timedelta(days=3)
    response = client.post(reverse("homeschool:visit", args=[visit.pk]), {"status": "done", "mode": "home", "visited_on": future.isoformat(), "participants": "班主任、母亲", "topics": "作业习惯"})
    assert "不能晚于今天" in response.content.decode()
    client.post(reverse("homeschool:visit", args=[visit.pk]), {
        "status": "done", "mode": "home", "visited_on": today.isoformat(), "participants": "班主任、母亲、外婆", "topics": "作业习惯、睡眠",
        "follow_ups": "每周反馈一次", "follow_up_due": (today + dt.timedelta(days=14)).isoformat(),
    })
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DONE and visit.recorded_by == world.teacher_a1 and visit.follow_ups == "每周反馈一次"
    cov = selectors.visit_coverage(world.teacher_a1)
    assert [(r.unit.name, r.students, r.visited, r.pct) for r in cov.classes] == [("三(1)班", 1, 1, 100)]


def test_visits_stay_inside_the_class(client, world):
    login(client, world.teacher_a2)
    assert client.get(reverse("homeschool:visit_class", args=[world.class_a1.pk])).status_code == 404
    with pytest.raises(PermissionDenied):
        services.visit_plan(actor=world.teacher_a2, student=world.child_a1, planned_for=timezone.localdate())
    visit = services.visit_plan(actor=world.teacher_a1, student=world.child_a1, planned_for=timezone.localdate())
    for key in ("teacher_a2", "teacher_b1", "parent_a1", "subject_teacher_a1", "school_admin_b", "outsider"):
        login(client, world.users[key])
        assert client.get(reverse("homeschool:visit", args=[visit.pk])).status_code == 404, key
    # The school admin sees every class of the school, read-only.
    login(client, world.school_admin_a)
    assert client.get(reverse("homeschool:visit", args=[visit.pk])).status_code == 200
    assert client.post(reverse("homeschool:visit", args=[visit.pk]), {"status": "cancelled", "mode": "home"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.visit_record(actor=world.school_admin_a, visit=visit, status="cancelled", visited_on=None)


def test_school_admin_sees_coverage_of_all_classes(client, world):
    services.visit_plan(actor=world.teacher_a1, student=world.child_a1, planned_for=timezone.localdate())
    v = services.visit_plan(actor=world.teacher_a2, student=world.child_a2, planned_for=timezone.localdate())
    services.visit_record(actor=world.teacher_a2, visit=v, status="done", visited_on=timezone.localdate(), participants="父亲", topics="安全")
    # A visit in an earlier semester does not count for this one.
    old = services.visit_plan(actor=world.teacher_a1, student=world.child_a1, planned_for=timezone.localdate() - dt.timedelta(days=400))
    HomeVisit.objects.filter(pk=old.pk).update(status="done", visited_on=timezone.localdate() - dt.timedelta(days=400))
    login(client, world.school_admin_a)
    response = client.get(reverse("homeschool:visits"))
    rows = {r.unit.name: (r.students, r.visited, r.planned) for r in response.context["coverage"].classes}
    assert rows == {"三(1)班": (1, 0, 1), "三(2)班": (1, 1, 0)}
    assert response.context["coverage"].pct == 50
    login(client, world.parent_a1)
    assert client.get(reverse("homeschool:visits")).status_code == 403


def test_coverage_query_count_bounded(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(10) as few:
        assert len(selectors.visit_coverage(world.school_admin_a).classes) == 2
    first = len(few.captured_queries)
    for i in range(6):
        cls = unit_create(actor=None, kind=Kind.CLASS, name=f"三({i + 3})班", parent=world.grade_a3, class_no=i + 3)
        st = Student.objects.create(district=world.district, school=world.school_a, school_class=cls, name=f"生{i}", student_no=f"V{i}")
        services.visit_plan(actor=world.teacher_a1, student=world.child_a1, planned_for=timezone.localdate())
        HomeVisit.objects.create(district=world.district, school_class=cls, student=st, planned_for=timezone.localdate(), status="done",
                                 visited_on=timezone.localdate())
    forget_scope(world.school_admin_a)
    with django_assert_max_num_queries(first):
        cov = selectors.visit_coverage(world.school_admin_a)
    assert len(cov.classes) == 8 and cov.visited == 6


def test_semester_from_periods(world):
    school_year_ensure(district=world.district, start_year=2025)
    start, end, name = services.current_semester(world.district.pk, on=dt.date(2026, 3, 15))
    assert (start, end) == (dt.date(2026, 2, 1), dt.date(2026, 8, 31)) and "第二学期" in name


def test_visit_validation_errors(world):
    visit = services.visit_plan(actor=world.teacher_a1, student=world.child_a1, planned_for=timezone.localdate())
    with pytest.raises(ValidationError):
        services.visit_record(actor=world.teacher_a1, visit=visit, status="done", visited_on=None, participants="x", topics="y")
    with pytest.raises(ValidationError):
        services.visit_record(actor=world.teacher_a1, visit=visit, status="bogus", visited_on=None)
