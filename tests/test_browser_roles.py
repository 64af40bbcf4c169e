"""Every role's home page in a real browser: each tile, card and navigation link leads to a page that works
for that role; the grandparent is offered care mode and 朗读 says so when the device has no voice.

The site is tests/browser_world.py served by gunicorn (fixtures of tests/test_browser.py); a few extra rows
(unread notices, a waiting consultation, an activity) are added through the services before the walk.
A page fails the walk when it answers 4xx/5xx (or sends the user to the log-in page), when its main area
is empty (for a page a tile or the navigation opens: also when it is only an empty-state box with nothing
to do), or when it shows a form with a required choice list that has nothing to choose from (or whose
choice lists are all empty).
Screenshots: var/screenshots/role_<role>_{desktop,phone}.png, care_*.png.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlparse

import pytest

# browser and site are fixtures: imported so that this module gets its own served site.
from tests.test_browser import _MAKE_ACTIVITY, _font_px, _log_in, _orm, _page, _shot, browser, site  # noqa: F401

pytestmark = pytest.mark.browser

# One account per role of PRODUCT.md's users table (tests/world.py builds them).
ROLES = {
    "district_admin": "district_admin",
    "department_liaison": "liaison",
    "street_staff": "street_staff_1",
    "school_admin": "school_admin_a",
    "class_teacher": "teacher_a1",
    "subject_teacher": "subject_teacher_a1",
    "psych_teacher": "psych_a",
    "health_vp": "health_vp_a",
    "guardian": "parent_a1",
    "grandparent_guardian": "grandparent_a1",
    "grid_worker": "grid_worker_1",
    "partner_contact": "partner_contact",
    "volunteer": "volunteer",
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}

# Three more notices to class A1 (grandparent_a1 then has 5 unread: these and the two of browser_world that
# she has not opened), a consultation waiting for teacher_a1, and an activity open to class A1's families.
_EXTRAS = """
from homeschool.services import consultation_ask
from notices import services
from notices.audience import resolve
from org.models import OrgUnit
from people.models import Student
teacher = user("teacher_a1")
a1 = OrgUnit.objects.get(pk=args["class_a1"])
for i in range(3):
    audience = resolve(teacher, unit_ids=[a1.pk], include_guardians=True, staff_roles=[], student_nos=[])
    notice = services.notice_create(actor=teacher, title=f"第{i + 1}周班级小结", body="本周表现很好。", audience=audience)
    services.run_pending_jobs(notice)
consultation_ask(actor=user("parent_a1"), student=Student.objects.get(pk=args["child_a1"]), target="teacher",
                 topic="habits", subject="孩子写作业拖拉怎么办？", body="每天要写到十点。")
out = {}
"""


@pytest.fixture(scope="module")
def world_extras(site):  # noqa: F811 -- the fixtures imported from tests.test_browser
    _orm(site, _EXTRAS, class_a1=site["ids"]["class_a1"], child_a1=site["ids"]["child_a1"])
    made = _orm(site, _MAKE_ACTIVITY, actor="teacher_a1", owner=site["ids"]["class_a1"], title="祖孙同乐亲子游园会", venue="学校操场")
    return {"activity": made["activity"]}


# --- the grandparent on a phone: offered care mode, counts, large badges and titles, 朗读 without a voice ----------


def test_grandparent_is_offered_care_mode_and_read_aloud_explains_a_missing_voice(browser, site, world_extras, capsys):  # noqa: F811 -- the fixtures imported from tests.test_browser
    ctx, page, problems = _page(browser, **PHONE)
    try:
        _log_in(page, site, "grandparent_a1")
        assert page.url.endswith("/people/family/")
        offer = page.locator('[data-testid="care-offer"]')
        assert offer.is_visible() and "关怀模式" in offer.inner_text()
        # Five unread notices: the red dot on the 我的通知 tile and on the bell in the navigation.
        assert page.locator('[data-testid="tile-notices"] [data-testid="todo-dot"]').inner_text().startswith("5")
        assert page.locator('[data-testid="nav-unread"] [data-testid="todo-dot"]').inner_text().startswith("5")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "care_offer_phone.png", capsys)

        # Standard mode first: how large are an inbox badge and an activity title?
        page.goto(f"{site['base']}/notices/inbox/")
        badge_before = _font_px(page, '[data-testid="inbox"] .badge')
        page.goto(f"{site['base']}/activities/")
        title_before = _font_px(page, '[data-testid="open-activity"] .gy-activity-title')

        page.goto(f"{site['base']}/people/family/")
        with page.expect_navigation():
            page.locator('[data-testid="care-offer-accept"]').tap()
        assert "care-mode" in (page.get_attribute("body", "class") or "")
        assert page.locator('[data-testid="care-offer"]').count() == 0  # asked once: the choice is on the account
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "care_family_phone.png", capsys)

        page.goto(f"{site['base']}/notices/inbox/")
        assert _font_px(page, '[data-testid="inbox"] .badge') >= badge_before * 1.5
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "care_inbox_phone.png", capsys)
        page.goto(f"{site['base']}/activities/")
        assert _font_px(page, '[data-testid="open-activity"] .gy-activity-title') >= title_before * 1.5
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "care_activities_phone.png", capsys)

        # 朗读 on a notice: headless Chromium has speechSynthesis but no voice at all.
        page.goto(f"{site['base']}/notices/r/{site['notices']['consent']}/")
        assert page.evaluate("speechSynthesis.getVoices().filter(v => /^zh/i.test(v.lang)).length") == 0
        page.locator('[data-testid="read-aloud"]').tap()
        message = page.locator('[data-testid="read-aloud-msg"]')
        message.wait_for(state="visible")
        assert "没有中文语音" in message.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "care_read_aloud_no_voice_phone.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()

    # A browser without speechSynthesis at all (an old WebView): the button says the phone cannot read aloud.
    ctx, page, problems = _page(browser, **PHONE)
    try:
        page.add_init_script("delete window.speechSynthesis; delete window.SpeechSynthesisUtterance;")
        _log_in(page, site, "grandparent_a1")
        assert "care-mode" in (page.get_attribute("body", "class") or "")  # remembered on the account
        page.goto(f"{site['base']}/notices/r/{site['notices']['consent']}/")
        page.locator('[data-testid="read-aloud"]').tap()
        message = page.locator('[data-testid="read-aloud-msg"]')
        message.wait_for(state="visible")
        assert "不支持朗读" in message.inner_text()
        assert not problems, problems
    finally:
        ctx.close()


def test_class_teacher_sees_the_waiting_consultation(browser, site, world_extras, capsys):  # noqa: F811 -- the fixtures imported from tests.test_browser
    ctx, page, problems = _page(browser, **DESKTOP)
    try:
        _log_in(page, site, "teacher_a1")
        assert page.locator('[data-testid="card-homeschool"] [data-testid="todo-dot"]').inner_text().startswith("1")
        with page.expect_navigation():
            page.locator('[data-testid="nav-waiting"]').click()
        assert "孩子写作业拖拉怎么办？" in page.locator("main").inner_text()
        # The 家访 tab is there, and the visits list works for the class teacher.
        with page.expect_navigation():
            page.locator('[data-testid="tab-visits"]').click()
        assert page.url.endswith("/homeschool/visits/") and site["names"]["class_a1"] in page.locator("main").inner_text()
        _shot(page, "teacher_visits_desktop.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()


# --- every role, every tile ------------------------------------------------------------------------------------------

# What is collected on the landing page: tiles and cards, links of the role badges (the carer's child),
# and the navigation bar with its menu.
_LANDING_LINKS = "main a.gy-card, main a.gy-tile, main [data-testid='roles'] a, .gy-navbar a[href]:not([href='#']), .gy-navbar .dropdown-menu a[href]"
# What is followed one step further on each page a tile opens: its section tabs and its action buttons.
_PAGE_LINKS = "main nav a[href], main a.btn[href]"

_PAGE_PROBLEMS_JS = """(promised) => {
  const main = document.querySelector("main");
  if (!main) return ["no <main>"];
  const out = [];
  const text = main.innerText.replace(/\\s+/g, "");
  if (!text) out.push("empty main area");
  // Only an empty-state box, with nothing to do: no link, button or form outside it.
  const empty = main.querySelector(".gy-empty");
  if (promised && empty) {
    const actions = [...main.querySelectorAll("a[href], button, form, table, input, select")].filter(e => !empty.contains(e) && e.offsetParent !== null);
    if (!actions.length) out.push("only an empty state: " + empty.innerText.trim().slice(0, 60));
  }
  for (const form of main.querySelectorAll("form")) {
    const selects = [...form.querySelectorAll("select")];
    const filled = s => [...s.options].some(o => o.value !== "");
    const label = s => (form.querySelector(`label[for="${s.id}"]`)?.innerText || s.name).trim();
    if (selects.length && !selects.some(filled)) out.push("form with all choice lists empty: " + selects.map(label).join(", "));
    for (const s of selects) if (s.required && !filled(s)) out.push("required choice list with nothing to choose: " + label(s));
  }
  return out;
}"""


def _same_site(base: str, href: str | None, here: str) -> str | None:
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    url = urljoin(here, href)
    if urlparse(url).netloc != urlparse(base).netloc:
        return None
    return url.split("#")[0]


def _check(page, url: str, response, *, promised: bool = True) -> list[str]:
    """promised: a page that a tile or the navigation leads to must offer something; a list reached from it
    may be empty (an empty state) when the test world has nothing for it."""
    found = []
    status = response.status if response is not None else None
    if status is None or status >= 400:
        found.append(f"HTTP {status}")
    if "/accounts/login/" in page.url:
        found.append("sent to the log-in page")
    if not found:
        found += page.evaluate(_PAGE_PROBLEMS_JS, promised)
    return found


def _walk(page, site, landing: str) -> tuple[dict[str, list[str]], list[str]]:  # noqa: F811 -- the fixtures imported from tests.test_browser
    """Click each link of the landing page (back to it before each), then open the tabs and action links
    of the page it led to. Returns {url: problems} for the pages that fail, and the URLs visited."""
    base = site["base"]
    page.goto(landing)
    links = []
    for el in page.locator(_LANDING_LINKS).all():
        url = _same_site(base, el.get_attribute("href"), landing)
        if url and url not in links:
            links.append(url)
    failures: dict[str, list[str]] = {}
    visited: list[str] = []
    second: list[str] = []
    for url in links:
        page.goto(landing)
        href = urlparse(url).path + (f"?{urlparse(url).query}" if urlparse(url).query else "")
        link = page.locator(f'a[href="{href}"]').first
        if not link.is_visible():  # a menu item: open the menu first
            page.locator('[data-testid="user-menu"]').click()
        with page.expect_navigation() as nav:
            link.click()
        visited.append(url)
        if problems := _check(page, url, nav.value):
            failures[f"{url} (from {landing})"] = problems
            continue
        for el in page.locator(_PAGE_LINKS).all():
            more = _same_site(base, el.get_attribute("href"), page.url)
            if more and more not in links and more not in second and more != landing:
                second.append(more)
    for url in second:
        # Downloads (exports) and fragments are not pages: ask first, open only HTML pages.
        head = page.request.get(url, max_redirects=0)
        if head.status >= 400:
            failures[url] = [f"HTTP {head.status}"]
            continue
        if head.status >= 300 or "text/html" not in head.headers.get("content-type", ""):
            continue
        response = page.goto(url)
        visited.append(url)
        if problems := _check(page, url, response, promised=False):
            failures[url] = problems
    return failures, visited


@pytest.mark.parametrize("role", list(ROLES))
def test_every_tile_and_link_of_each_role_works(browser, site, world_extras, role, capsys):  # noqa: F811 -- the fixtures imported from tests.test_browser
    who = ROLES[role]
    ctx, page, problems = _page(browser, **PHONE)
    try:
        _log_in(page, site, who)
        landing = page.url
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the home page scrolls sideways on a phone"
        _shot(page, f"role_{role}_phone.png", capsys)
    finally:
        ctx.close()
    ctx, page, problems = _page(browser, **DESKTOP)
    try:
        _log_in(page, site, who)
        assert page.url == landing
        home_problems = _check(page, landing, page.goto(landing))
        _shot(page, f"role_{role}_desktop.png", capsys)
        failures, visited = _walk(page, site, landing)
        if home_problems:
            failures[landing] = home_problems
        with capsys.disabled():
            print(f"\n  {role}: {len(visited)} pages visited, {len(failures)} failing")
        assert not failures, "\n".join(f"{role} ({who}) {url}: {'; '.join(p)}" for url, p in failures.items())
        assert not problems, problems
    finally:
        ctx.close()
