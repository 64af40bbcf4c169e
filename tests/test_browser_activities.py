"""Activities and the parent school in a real browser at 390 px: a grid worker creates an activity with
the searchable audience list, a guardian's cards say when and where, a live lesson says when it starts."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.test_browser import _log_in, _orm, _page, _shot, browser, site  # noqa: F401 — fixtures

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def test_grid_worker_creates_an_activity_on_a_phone(browser, site, capsys):  # noqa: F811
    ctx, page, problems = _page(browser, **PHONE)
    try:
        _log_in(page, site, "grid_worker_1")
        page.goto(f"{site['base']}/activities/new/")
        assert "---------" not in page.content()
        picker = page.locator('[data-testid="picker-audience_units"]')
        school_a = site["names"]["school_a"]
        assert school_a in picker.inner_text()
        search = page.locator('[data-testid="picker-search-audience_units"]')
        if search.count():  # a long list gets a search box
            search.fill(school_a[:2])
            assert all(school_a[:2] in t for t in picker.locator(".gy-picker-item:visible").all_inner_texts())
        picker.locator(f'input[value="{site["ids"]["school_a"]}"]').check()
        page.fill("#id_title", "社区亲子手工课")
        page.fill("#id_venue", "东社区活动中心")
        start = dt.datetime.now() + dt.timedelta(days=3)  # noqa: DTZ005 — what the phone's clock shows
        page.fill("#id_s-starts_at", start.strftime("%Y-%m-%dT14:00"))
        page.fill("#id_s-ends_at", start.strftime("%Y-%m-%dT16:00"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "grid_worker_activity_form_phone.png", capsys)
        with page.expect_navigation():
            page.locator('[data-testid="save-activity"]').tap()
        assert "/activities/new/" not in page.url, page.locator("main").inner_text()[:500]
        assert "社区亲子手工课" in page.locator("h1").inner_text() and school_a in page.locator("main").inner_text()
        assert not problems, problems
    finally:
        ctx.close()


_LIVE = """
import datetime as dt
from django.utils import timezone
from activities.testing import make_activity
from courses import services
from org.models import OrgUnit
school = OrgUnit.objects.get(pk=args["school"])
admin = user("school_admin_a")
make_activity(actor=admin, owner=school, title="亲子运动会（卡片）", venue="学校操场", starts_in=dt.timedelta(days=2))
course = services.course_create(actor=admin, owner_unit=school, title="青春期心理（直播）", category="topic", stage="primary", mode="live")
start = timezone.now() + dt.timedelta(days=1)
lesson = services.lesson_create(actor=admin, course=course, title="情绪从哪里来", hours="1", intro="观看短片：考试失利后的一个晚上。",
                                discussion="孩子发脾气时，家长先做什么？", live_url="https://meeting.example.cn/j/1",
                                starts_at=start, ends_at=start + dt.timedelta(hours=1))
services.course_publish(actor=admin, course=course)
out = {"lesson": lesson.pk}
"""


def test_guardian_sees_when_and_where_and_a_live_lesson(browser, site, capsys):  # noqa: F811
    made = _orm(site, _LIVE, school=site["ids"]["school_a"])
    ctx, page, problems = _page(browser, **PHONE)
    try:
        _log_in(page, site, "parent_a1")
        page.goto(f"{site['base']}/activities/")
        card = page.locator('[data-testid="open-activity"]', has_text="亲子运动会（卡片）")
        when = card.locator('[data-testid="card-when"]').inner_text()
        assert "月" in when and ":" in when and "学校操场" in card.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "guardian_activity_cards_phone.png", capsys)
        page.goto(f"{site['base']}/courses/lessons/{made['lesson']}/")
        box = page.locator('[data-testid="live-box"]')
        assert "直播将于" in box.inner_text()
        assert "观看短片" in page.locator("main").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "guardian_live_lesson_phone.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()
