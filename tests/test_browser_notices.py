"""Issue 12 in a real browser: the class teacher's unread list on a 390 px phone (cards, 只看未读 first,
paged, no sideways scrolling) and the composer's 发给 N 位家长？ before sending. Screenshots in
var/screenshots/ (notices_phone_*.png, notices_publish_*.png)."""

from __future__ import annotations

import pytest

from tests.test_browser import SHOTS, _log_in, _orm, _page, _shot, browser, site  # noqa: F401

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}

# 24 more families in class A1 (names long enough to wrap if they could), and a notice to the class.
_BIG_CLASS_NOTICE = """
from notices import services
from notices.audience import resolve
from org.models import OrgUnit
from people.models import Guardian, Guardianship, Student
cls = OrgUnit.objects.get(pk=args["class_id"])
for i in range(24):
    st = Student.objects.create(district_id=cls.district_id, school_id=cls.parent.parent_id, school_class=cls,
                                name=f"欧阳子涵{i:02d}", student_no=f"BR{i:04d}")
    g = Guardian.objects.create(district_id=cls.district_id, name=f"司马家长{i:02d}", phone=f"1360000{i:04d}")
    Guardianship.objects.create(guardian=g, student=st, relation="mother")
teacher = user("teacher_a1")
audience = resolve(teacher, unit_ids=[cls.pk], include_guardians=True, staff_roles=[], student_nos=[])
notice = services.notice_create(actor=teacher, title="期末家长会安排", body="周五下午三点。", audience=audience)
services.run_pending_jobs(notice)
notice.refresh_from_db()
out = {"notice": notice.pk, "recipients": notice.recipient_count}
"""


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_class_teacher_calls_unread_families_on_a_phone(browser, site, capsys):  # noqa: F811
    made = _orm(site, _BIG_CLASS_NOTICE, class_id=site["ids"]["class_a1"])
    ctx, page, problems = _page(browser, **PHONE)
    try:
        _log_in(page, site, "teacher_a1")
        page.goto(f"{site['base']}/notices/{made['notice']}/")
        _no_sideways_scroll(page)
        # The per-class row keeps the class name on one line.
        name = page.locator('[data-testid="class-row"] td').first
        assert name.evaluate("e => e.getBoundingClientRect().height") < 40
        _shot(page, "notices_phone_stats.png", capsys)
        with page.expect_navigation():
            page.get_by_role("link", name="未读名单").first.click()
        # Opens on 只看未读, one card per family, 20 a page.
        assert page.locator('[data-testid="toggle-unread"][aria-current="page"]').count() == 1
        cards = page.locator('[data-testid="family-card"]')
        assert cards.count() == 20
        _no_sideways_scroll(page)
        assert page.evaluate("document.documentElement.scrollHeight") < 10_000
        # Guardians' names never wrap one character a line: each name is wider than it is tall.
        box = page.locator('[data-testid="guardian-row"] .gy-guardian-name').first.bounding_box()
        assert box["width"] > box["height"] * 2
        # A call button for the class teacher (people.view_contact).
        call = cards.first.locator('[data-testid="call"]')
        assert (call.get_attribute("href") or "").startswith("tel:1")
        _shot(page, "notices_phone_unread_page1.png", capsys)
        page.screenshot(path=str(SHOTS / "notices_phone_unread_screen.png"))  # what the phone shows first
        with page.expect_navigation():
            page.locator('[data-testid="next-page"]').click()
        assert 1 <= page.locator('[data-testid="family-card"]').count() <= 20
        _no_sideways_scroll(page)
        _shot(page, "notices_phone_unread_page2.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()


def test_publish_asks_how_many_families_before_sending(browser, site, capsys):  # noqa: F811
    ctx, page, problems = _page(browser, **PHONE)
    try:
        _log_in(page, site, "teacher_a1")
        page.goto(f"{site['base']}/notices/new/")
        # The teacher's only class is already chosen.
        assert page.locator(f'#unit-{site["ids"]["class_a1"]}').is_checked()
        # Nothing filled in: every problem at once, nothing sent.
        with page.expect_response(lambda r: r.url.endswith("/notices/new/check/")):
            page.locator('[data-testid="publish"]').click()
        errors = page.locator('[data-testid="publish-confirm"], #publish-confirm [data-testid="form-errors"]')
        errors.first.wait_for()
        assert "标题" in page.locator("#publish-confirm").inner_text()
        page.fill("#id_title", "下周一体检通知")
        page.fill("#id_body", "请空腹到校。")
        with page.expect_response(lambda r: r.url.endswith("/notices/new/check/")):
            page.locator('[data-testid="publish"]').click()
        question = page.locator('[data-testid="confirm-question"]')
        question.wait_for()
        families = _orm(site, """
from people.models import Guardianship
out = {"n": Guardianship.objects.filter(student__school_class_id=args["c"], student__is_active=True, guardian__is_active=True).values("guardian_id").distinct().count()}
""", c=site["ids"]["class_a1"])["n"]
        assert question.inner_text().strip() == f"发给 {families} 位家长？"
        assert "/notices/new/" in page.url  # still asking
        _no_sideways_scroll(page)
        _shot(page, "notices_publish_confirm.png", capsys)
        # 返回修改 closes the question; asking again and confirming sends.
        page.locator('[data-testid="confirm-cancel"]').click()
        assert page.locator('[data-testid="confirm-question"]').count() == 0
        page.locator('[data-testid="publish"]').click()
        with page.expect_navigation():
            page.locator('[data-testid="confirm-send"]').click()
        assert page.locator('[data-testid="notice-title"]').inner_text().startswith("下周一体检通知")
        assert page.locator('[data-testid="stats-block"] [data-testid="total"]').inner_text().strip() == str(families)
        _shot(page, "notices_publish_sent.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()
