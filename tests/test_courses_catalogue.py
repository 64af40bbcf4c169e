"""The parent-school catalogue, bookings, homework with feedback, ratings, and demand topics (点单)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from courses import services
from courses.models import (
    Course,
    CourseCategory,
    CourseMode,
    CourseStatus,
    Homework,
    TopicRequest,
    TopicStatus,
    TopicVote,
)
from courses.selectors import topics_ranked


def _offline(world, owner=None, title="青春期沟通"):
    course = services.course_create(actor=world.school_admin_a, owner_unit=owner or world.school_a, title=title,
                                    category=CourseCategory.TOPIC, stage="primary", mode=CourseMode.OFFLINE)
    lesson = services.lesson_create(actor=world.school_admin_a, course=course, title="第一讲", hours="1.5", homework="和孩子聊一次心事")
    services.course_publish(actor=world.school_admin_a, course=course)
    return course, lesson


def test_catalogue_scoping(client, world):
    course, _l = _offline(world)
    draft = services.course_create(actor=world.school_admin_a, owner_unit=world.school_a, title="草稿课",
                                   category="basic", stage="", mode="offline")
    assert set(Course.objects.visible_to(world.parent_a1)) == {course}
    assert set(Course.objects.visible_to(world.school_admin_a)) == {course, draft}
    assert not Course.objects.visible_to(world.parent_other).exists()
    assert not Course.objects.visible_to(world.school_admin_b).exists()
    client.force_login(world.parent_a1)
    page = client.get(reverse("courses:catalogue"))
    assert course.title.encode() in page.content and "草稿课".encode() not in page.content
    assert client.get(reverse("courses:detail", args=[draft.pk])).status_code == 404
    client.force_login(world.parent_other)
    assert client.get(reverse("courses:detail", args=[course.pk])).status_code == 404


def test_only_course_managers_create_and_publish(world):
    with pytest.raises(PermissionDenied):
        services.course_create(actor=world.teacher_a1, owner_unit=world.school_a, title="x", category="basic", stage="", mode="offline")
    with pytest.raises(PermissionDenied):
        services.course_create(actor=world.school_admin_b, owner_unit=world.school_a, title="x", category="basic", stage="", mode="offline")
    course = services.course_create(actor=world.district_admin, owner_unit=world.district, title="区级基础课", category="basic",
                                    stage="", mode="live")
    with pytest.raises(ValidationError) as e:
        services.course_publish(actor=world.district_admin, course=course)
    assert e.value.code == "lesson_required"


def test_book_rate_and_homework_feedback(client, world):
    course, lesson = _offline(world)
    client.force_login(world.parent_a1)
    client.post(reverse("courses:book", args=[course.pk]))
    resp = client.post(reverse("courses:book", args=[course.pk]), follow=True)
    assert "您已预约该课程".encode() in resp.content
    client.post(reverse("courses:rate", args=[course.pk]), {"stars": "5", "comment": "很实用"})
    assert course.ratings.get().stars == 5
    client.post(reverse("courses:homework_submit", args=[lesson.pk]), {"text": "周末和孩子散步聊天，了解了他的烦恼。"})
    hw = Homework.objects.get()
    # Another family and another school's staff do not see it.
    assert not Homework.objects.visible_to(world.parent_a2).exists()
    assert not Homework.objects.visible_to(world.school_admin_b).exists()
    client.force_login(world.school_admin_b)
    assert client.post(reverse("courses:homework_feedback", args=[hw.pk]), {"feedback": "x"}).status_code == 404
    client.force_login(world.school_admin_a)
    page = client.get(reverse("courses:homework_review", args=[course.pk]))
    assert "周末和孩子散步".encode() in page.content
    client.post(reverse("courses:homework_feedback", args=[hw.pk]), {"feedback": "做得很好，坚持每周一次。"})
    client.force_login(world.parent_a1)
    page = client.get(reverse("courses:lesson", args=[lesson.pk]))
    assert b'data-testid="feedback"' in page.content and "坚持每周一次".encode() in page.content
    with pytest.raises(ValidationError) as e:
        services.homework_submit(actor=world.parent_a1, lesson=lesson, text="改一下")
    assert e.value.code == "already_reviewed"


def test_rating_needs_a_booking(world):
    course, _l = _offline(world)
    with pytest.raises(ValidationError) as e:
        services.course_rate(actor=world.parent_a2, course=course, stars=1, comment="")
    assert e.value.code == "not_booked"


def test_topics_vote_rank_and_adopt(client, world):
    t1 = services.topic_propose(actor=world.parent_a1, school=world.school_a, stage="primary", title="隔代教育")
    t2 = services.topic_propose(actor=world.parent_a2, school=world.school_a, stage="primary", title="手机使用")
    services.topic_vote(actor=world.parent_two_schools, topic=t2)
    with pytest.raises(ValidationError) as e:
        services.topic_vote(actor=world.parent_a2, topic=t2)
    assert e.value.code == "already_voted"
    assert TopicVote.objects.filter(topic=t2).count() == 2
    ranked = list(topics_ranked(user=world.school_admin_a))
    assert [t.pk for t in ranked] == [t2.pk, t1.pk] and ranked[0].vote_count == 2
    # Per school and stage: school B's admin sees none of school A's topics.
    assert list(topics_ranked(user=world.school_admin_b)) == []
    assert list(topics_ranked(user=world.school_admin_a, stage="junior")) == []
    with pytest.raises(ValidationError) as e:
        services.topic_propose(actor=world.parent_a1, school=world.school_b, stage="", title="x")
    assert e.value.code == "not_own_school"
    assert not TopicRequest.objects.visible_to(world.parent_other).exists()
    client.force_login(world.school_admin_a)
    resp = client.post(reverse("courses:topic_adopt", args=[t2.pk]), {"mode": "offline", "lecturer_name": "王老师"})
    course = Course.objects.get(topic=t2)
    assert resp.status_code == 302 and course.category == CourseCategory.CUSTOM and course.status == CourseStatus.DRAFT
    t2.refresh_from_db()
    assert t2.status == TopicStatus.ADOPTED
    page = client.get(reverse("courses:topics"))
    assert "隔代教育".encode() in page.content


def test_topics_page_for_guardian(client, world):
    client.force_login(world.parent_a1)
    resp = client.post(reverse("courses:topic_propose"), {"school": world.school_a.pk, "title": "如何培养阅读习惯", "stage": "primary"}, follow=True)
    assert "已提交".encode() in resp.content
    resp = client.post(reverse("courses:topic_propose"), {"school": world.school_a.pk, "title": "  "}, follow=True)
    assert "请填写希望学习的主题".encode() in resp.content
    assert TopicRequest.objects.count() == 1
    # A school outside the guardian's scope answers 404.
    assert client.post(reverse("courses:topic_propose"), {"school": world.other_school.pk, "title": "x"}).status_code == 404


def test_school_setting(client, world):
    client.force_login(world.school_admin_a)
    client.post(reverse("courses:settings"), {"school": world.school_a.pk, "hours_target": "10"})
    assert world.school_a.parent_school_setting.hours_target == 10
    resp = client.post(reverse("courses:settings"), {"school": world.school_a.pk, "hours_target": "abc"}, follow=True)
    assert "学时要求应为数字".encode() in resp.content
    assert client.post(reverse("courses:settings"), {"school": world.school_b.pk, "hours_target": "1"}).status_code == 404
