"""Live (直播) lessons have content, a link and a time: the form asks for them, a bad link is refused, and
the lesson page says when the live starts or lets the family in; every lesson page shows its content."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from courses import services
from courses.models import CourseMode, Lesson


def _live_course(world):
    return services.course_create(actor=world.school_admin_a, owner_unit=world.school_a, title="青春期心理直播课", category="topic",
                                  stage="primary", mode=CourseMode.LIVE)


def _form(start, **extra):
    return {"title": "情绪从哪里来", "order": 1, "hours": "1.5", "intro": "观看短片：考试失利后的一个晚上。", "live_url": "https://meeting.example.cn/j/123",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "ends_at": (start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), **extra}


def test_live_lesson_form_needs_a_valid_link_and_a_time(client, world):
    course = _live_course(world)
    client.force_login(world.school_admin_a)
    page = client.get(reverse("courses:detail", args=[course.pk])).content.decode()
    assert 'name="live_url"' in page and 'name="starts_at"' in page and 'name="video"' not in page
    start = timezone.localtime(timezone.now() + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    url = reverse("courses:lesson_create", args=[course.pk])
    for bad in ({"live_url": "javascript:alert(1)"}, {"live_url": ""}, {"starts_at": ""}, {"intro": ""}):
        resp = client.post(url, _form(start, **bad), follow=True)
        assert "alert-danger" in resp.content.decode() or "课时信息填写有误" in resp.content.decode(), bad
        assert not Lesson.objects.exists(), bad
    client.post(url, _form(start))
    lesson = Lesson.objects.get()
    assert lesson.live_url == "https://meeting.example.cn/j/123"
    session = lesson.activity.sessions.get()
    assert session.starts_at == start


def test_live_lesson_page_says_when_and_then_lets_the_family_in(client, world):
    course = _live_course(world)
    start = timezone.now() + dt.timedelta(days=1)
    lesson = services.lesson_create(actor=world.school_admin_a, course=course, title="第一讲", hours="1", intro="短片导入与讨论",
                                    live_url="https://meeting.example.cn/j/9", starts_at=start, ends_at=start + dt.timedelta(hours=1))
    services.course_publish(actor=world.school_admin_a, course=course)
    client.force_login(world.parent_a1)
    body = client.get(reverse("courses:lesson", args=[lesson.pk])).content.decode()
    assert 'data-testid="live-soon"' in body and "直播将于" in body and "短片导入与讨论" in body
    assert "https://meeting.example.cn/j/9" not in body  # the room opens shortly before the start
    session = lesson.activity.sessions.get()
    session.starts_at = timezone.now() + dt.timedelta(minutes=5)
    session.ends_at = session.starts_at + dt.timedelta(hours=1)
    session.save()
    body = client.get(reverse("courses:lesson", args=[lesson.pk])).content.decode()
    assert 'data-testid="live-enter"' in body and 'href="https://meeting.example.cn/j/9"' in body and "进入直播" in body
