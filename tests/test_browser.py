"""Real browser, real server: a guardian on a phone and staff on a desktop, with screenshots.

No live_server or transactional database (the audit triggers refuse the DELETEs of Django's flush on
SQLite): the test migrates a throw-away SQLite database in a temporary folder, fills it with the test
world (tests/browser_world.py), serves it with gunicorn and drives Debian's Chromium with Playwright.
Screenshots go to var/screenshots/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIP_MESSAGE = "Chromium not installed: browser test skipped (apt-get install chromium)"


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        {
            "GONGYU_ENV": "test",
            "SQLITE_PATH": str(tmp / "db.sqlite3"),
            "GONGYU_VAR_DIR": str(tmp),
            "DJANGO_SETTINGS_MODULE": "gongyu.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        pytest.skip(SKIP_MESSAGE)
    # Playwright is optional: imported only when a browser is there to drive.
    sync_api = pytest.importorskip("playwright.sync_api", reason=SKIP_MESSAGE)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(browser):
    """A migrated SQLite database with the test world, served by gunicorn on a free port."""
    # On tmpfs when there is one: migrating SQLite commits (and fsyncs) once per migration.
    shm = Path("/dev/shm")
    tmp = Path(tempfile.mkdtemp(prefix="gongyu-browser-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None))
    env = _server_env(tmp)
    run = {"cwd": REPO, "env": env, "capture_output": True, "text": True, "timeout": 300}
    done = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], **run)
    assert done.returncode == 0, done.stderr[-3000:]
    done = subprocess.run([sys.executable, "-m", "tests.browser_world"], **run)
    assert done.returncode == 0, done.stderr[-3000:]
    world = json.loads(done.stdout.strip().splitlines()[-1])
    port = _free_port()
    log = (tmp / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "gongyu.wsgi", "-b", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("gunicorn did not start:\n" + (tmp / "gunicorn.log").read_text()[-3000:])
            time.sleep(0.3)
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield {"base": base, "env": env, **world}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _page(browser, **context):
    ctx = browser.new_context(locale="zh-CN", **context)
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    # CSP violations (inline script/style) and failed requests show up as console errors.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return ctx, page, problems


def _log_in(page, site, who: str):
    page.goto(f"{site['base']}/accounts/login/")
    page.fill("#id_username", site["phones"][who])
    page.fill("#id_password", site["password"])
    with page.expect_navigation():
        page.locator("form:has(#id_username) [type=submit]").click()
    assert "/accounts/login/" not in page.url, f"log-in as {who} failed"


def _shot(page, name: str, capsys) -> Path:
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    with capsys.disabled():
        print(f"\n  screenshot: {path}")
    return path


def _font_px(page, selector: str) -> float:
    return page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)")


def test_guardian_on_a_phone_sees_both_children_and_turns_on_care_mode(browser, site, capsys):
    ctx, page, problems = _page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        _log_in(page, site, "parent_two_schools")
        assert page.url.endswith("/people/family/")  # a guardian lands on the family page
        cards = page.locator('[data-testid="child-card"]')
        assert cards.count() == 2
        text = page.locator("main").inner_text()
        for expected in [site["names"]["child_a2"], site["names"]["child_b1"], site["names"]["school_a"], site["names"]["school_b"]]:
            assert expected in text
        # Nothing sticks out sideways on a 390 px screen (a mobile browser would widen the layout to fit).
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "guardian_family_phone.png", capsys)

        name_before = _font_px(page, '[data-testid="child-name"]')
        body_before = _font_px(page, "main")
        button_before = page.eval_on_selector('[data-testid="care-mode"]', "e => e.getBoundingClientRect().height")
        with page.expect_navigation():
            page.locator('[data-testid="care-mode"]').tap()
        assert "care-mode" in (page.get_attribute("body", "class") or "")
        assert _font_px(page, '[data-testid="child-name"]') >= name_before * 1.15
        assert _font_px(page, "main") >= body_before * 1.2
        assert page.eval_on_selector('[data-testid="care-mode-big"]', "e => e.getBoundingClientRect().height") >= button_before
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "guardian_family_care_mode.png", capsys)

        # Remembered on the account: a fresh browser session logs in straight into care mode.
        ctx2, page2, _ = _page(browser, viewport={"width": 390, "height": 844}, is_mobile=True)
        try:
            _log_in(page2, site, "parent_two_schools")
            assert "care-mode" in (page2.get_attribute("body", "class") or "")
        finally:
            ctx2.close()
        assert not problems, problems
    finally:
        ctx.close()


def test_class_teacher_opens_roster_with_full_phone_numbers(browser, site, capsys):
    ctx, page, problems = _page(browser, viewport={"width": 1366, "height": 900})
    try:
        _log_in(page, site, "teacher_a1")
        with page.expect_navigation():
            page.locator('[data-testid="card-classes"]').click()
        assert page.url.endswith("/people/classes/")
        with page.expect_navigation():
            page.locator('[data-testid="class-card"] [data-testid="roster-link"]').first.click()
        assert "/roster/" in page.url
        roster = page.locator('[data-testid="roster"]').inner_text()
        assert site["names"]["child_a1"] in roster
        for who in ["parent_a1", "grandparent_a1"]:
            assert who in roster and site["phones"][who] in roster  # the class teacher sees full numbers
        assert "13912345678" in roster
        _shot(page, "teacher_class_roster.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()


def test_district_admin_expands_the_org_tree_with_htmx(browser, site, capsys):
    ctx, page, problems = _page(browser, viewport={"width": 1366, "height": 900})
    try:
        _log_in(page, site, "district_admin")
        page.goto(f"{site['base']}/org/")
        tree = page.locator('[data-testid="org-tree"]')
        assert site["names"]["street_1"] in tree.inner_text()
        assert site["names"]["school_a"] not in tree.inner_text()  # deeper levels are not loaded up front
        ids = site["ids"]
        for key, child in [("street_1", "school_a"), ("school_a", "grade_a3"), ("grade_a3", "class_a1")]:
            with page.expect_response(lambda r, k=key: r.url.endswith(f"/org/{ids[k]}/children/")) as resp:
                page.locator(f'[data-testid="expand-{ids[key]}"]').click()
            assert resp.value.status == 200
            page.locator(f'[data-unit="{ids[child]}"]').wait_for(state="visible")
        assert site["names"]["class_a1"] in tree.inner_text()
        _shot(page, "district_admin_org_tree.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()


# --- Activities: organiser's QR page, a guardian's sign-up and check-in on a phone, coverage ----------

_ORM_PREAMBLE = """
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
args = json.loads(sys.argv[1])
def user(key):
    return get_user_model().objects.get(phone=args["phones"][key])
"""


def _orm(site, code: str, **args) -> dict:
    """Run `code` against the served database (Django set up with the server's settings); it sets `out`."""
    args["phones"] = site["phones"]
    script = _ORM_PREAMBLE + textwrap.dedent(code) + "\nsys.stdout.write(json.dumps(out) + '\\n')\n"
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)], cwd=REPO, env=site["env"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# A published activity through the services (activities.testing.make_activity): one session starting in
# 10 minutes, so that its check-in window (30 minutes before the start to 30 after the end) is open now.
_MAKE_ACTIVITY = """
import datetime as dt
from activities.testing import make_activity
from org.models import OrgUnit
owner = OrgUnit.objects.get(pk=args["owner"])
activity, session = make_activity(
    actor=user(args["actor"]), owner=owner, starts_in=dt.timedelta(minutes=10), title=args["title"], venue=args["venue"],
)
assert session.in_checkin_window() and activity.status == "published"
out = {"activity": activity.pk, "session": session.pk}
"""


def test_organiser_opens_the_qr_check_in_page(browser, site, capsys):
    title = "亲子阅读会（签到大屏）"
    made = _orm(site, _MAKE_ACTIVITY, actor="teacher_a1", owner=site["ids"]["class_a1"], title=title, venue="学校图书馆")
    ctx, page, problems = _page(browser, viewport={"width": 1280, "height": 900})
    try:
        _log_in(page, site, "teacher_a1")
        page.goto(f"{site['base']}/activities/")
        with page.expect_navigation():
            page.get_by_role("link", name=title).click()
        assert page.url.endswith(f"/activities/{made['activity']}/")
        with page.expect_navigation():
            page.locator(f'[data-testid="session-{made["session"]}"] [data-testid="qr-link"]').click()
        assert page.url.endswith(f"/activities/sessions/{made['session']}/qr/")
        assert page.locator("h1").inner_text().strip() == title
        code = page.locator('[data-testid="qr-code"] svg')
        code.wait_for(state="visible")
        box = code.bounding_box()
        assert box and box["width"] >= 150 and box["height"] >= 150  # big enough to scan from the hall
        assert page.locator('[data-testid="qr-closed"]').count() == 0
        assert page.locator('[data-testid="checked-in-count"]').inner_text().strip() == "0"
        text = page.locator("main").inner_text()
        assert "自动更新中" in text and "家长请用手机相机或微信扫一扫" in text and "学校图书馆" in text
        _shot(page, "organiser_qr_page.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()


def test_guardian_signs_up_and_checks_in_on_a_phone(browser, site, capsys):
    title = "亲子运动会（手机报名）"
    made = _orm(site, _MAKE_ACTIVITY, actor="teacher_a2", owner=site["ids"]["class_a2"], title=title, venue="学校操场")
    sid, child = made["session"], site["ids"]["child_a2"]
    ctx, page, problems = _page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        _log_in(page, site, "parent_a2")
        page.goto(f"{site['base']}/activities/")
        card = page.locator('[data-testid="open-activity"]', has_text=title)
        with page.expect_navigation():
            card.tap()
        assert page.url.endswith(f"/activities/{made['activity']}/")
        form = page.locator(f'[data-testid="signup-form-{sid}"]')
        # The whole family is offered and ticked: the guardian and the child in the audience class.
        assert form.locator('input[name="self"]').is_checked()
        assert form.locator(f'input[name="student"][value="{child}"]').is_checked()
        assert site["names"]["child_a2"] in form.inner_text()
        with page.expect_navigation():
            form.locator('[data-testid="signup-button"]').tap()
        text = page.locator("main").inner_text()
        assert "报名成功！请按时到场，现场扫码签到。" in text
        mine = page.locator('[data-testid="family-signup"]').inner_text()
        assert "已报名" in mine and "parent_a2" in mine and site["names"]["child_a2"] in mine
        assert page.locator(f'[data-testid="signup-form-{sid}"]').count() == 0  # nobody left to sign up
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "guardian_signup_phone.png", capsys)

        # What the organiser's QR code encodes (activities.views._checkin_url): the check-in URL with a live token.
        scanned = _orm(
            site,
            """
            from urllib.parse import urlencode
            from django.urls import reverse
            from activities import qr
            out = {"path": reverse("activities:checkin", args=[args["session"]]) + "?" + urlencode({"t": qr.make_token(args["session"])})}
            """,
            session=sid,
        )
        page.goto(site["base"] + scanned["path"])
        checkin_form = page.locator('[data-testid="checkin-form"]')
        assert title in page.locator("main").inner_text()
        assert page.locator('[data-testid="checkin-error"]').count() == 0
        assert checkin_form.locator('input[name="self"]').is_checked()
        assert checkin_form.locator(f'input[name="student"][value="{child}"]').is_checked()
        with page.expect_navigation():
            checkin_form.locator('[data-testid="checkin-button"]').tap()
        text = page.locator("main").inner_text()
        assert "签到成功！共 2 人。" in text
        assert "全部签到完成，欢迎参加！" in page.locator('[data-testid="checkin-done"]').inner_text()
        assert page.locator('[data-testid="checkin-form"] .badge', has_text="已签到").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "guardian_checkin_phone.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()

    rows = _orm(
        site,
        """
        from activities.models import CheckIn
        from people.models import Guardian
        out = {
            "rows": [list(r) for r in CheckIn.objects.filter(session_id=args["session"]).values_list("guardian_id", "student_id", "method")],
            "guardian": Guardian.objects.get(user=user("parent_a2")).pk,
        }
        """,
        session=sid,
    )
    assert sorted(rows["rows"], key=str) == sorted([[rows["guardian"], None, "qr"], [None, child, "qr"]], key=str)


def test_school_admin_sees_participation_coverage(browser, site, capsys):
    # A school-wide activity where parent_a1 came with child_a1 (signed up and checked in through the services).
    _orm(
        site,
        _MAKE_ACTIVITY
        + """
from activities import services
parent = user("parent_a1")
services.signup_create(actor=parent, session_id=session.pk, include_self=True, student_ids=[args["child"]])
services.checkin_self(actor=parent, session_id=session.pk, include_self=True, student_ids=[args["child"]])
""",
        actor="school_admin_a", owner=site["ids"]["school_a"], title="家长学校讲座（覆盖率）", venue="学校报告厅",
        child=site["ids"]["child_a1"],
    )
    ctx, page, problems = _page(browser, viewport={"width": 1280, "height": 900})
    try:
        _log_in(page, site, "school_admin_a")
        page.goto(f"{site['base']}/activities/")
        with page.expect_navigation():
            page.get_by_role("link", name="参与覆盖率").click()
        assert "/activities/coverage/" in page.url
        school = site["names"]["school_a"]
        assert page.locator("h1").inner_text().strip() == f"{school} · 参与覆盖率"
        rows = page.locator('[data-testid="coverage-classes"] tbody tr')
        by_class = {}
        for i in range(rows.count()):
            cells = [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
            by_class[cells[0]] = cells[1:]
        assert set(by_class) == {site["names"]["class_a1"], site["names"]["class_a2"]}
        assert by_class[site["names"]["class_a1"]] == ["1", "1", "100.0%"]  # child_a1's family took part
        assert by_class[site["names"]["class_a2"]][0] == "1"
        assert page.locator('[data-testid="coverage-groups"]').inner_text().count(site["names"]["grade_a3"]) == 1
        assert page.locator('[data-testid="family-rate"]').inner_text().strip().endswith("%")
        assert site["names"]["school_b"] not in page.locator("main").inner_text()  # school A's admin sees school A only
        _shot(page, "coverage_page.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()


# --- Notices: a guardian reads and replies on a phone, the sender follows the figures per class -----------


def test_guardian_reads_and_replies_to_a_notice_on_a_phone(browser, site, capsys):
    ids = site["notices"]
    ctx, page, problems = _page(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    try:
        _log_in(page, site, "parent_a1")
        with page.expect_navigation():
            page.locator('[data-testid="family-services"] a', has_text="我的通知").tap()
        assert page.url.endswith("/notices/inbox/")
        items = page.locator('[data-testid="inbox-item"]')
        hrefs = items.evaluate_all("els => els.map(e => e.getAttribute('href'))")
        unread = items.evaluate_all("els => els.map(e => e.classList.contains('is-unread'))")
        consent_href, homework_href = f"/notices/r/{ids['consent']}/", f"/notices/r/{ids['homework']}/"
        assert {consent_href, homework_href, f"/notices/r/{ids['safety']}/"} <= set(hrefs)
        # Unread first: every unread item comes before every read one.
        assert unread == sorted(unread, reverse=True) and unread[hrefs.index(consent_href)]
        assert not unread[hrefs.index(homework_href)]
        consent = page.locator(f'[data-testid="inbox-item"][href="{consent_href}"]')
        homework = page.locator(f'[data-testid="inbox-item"][href="{homework_href}"]')
        assert consent.locator(".gy-dot").is_visible() and homework.locator(".gy-dot").count() == 0
        assert "待回执" in consent.inner_text() and site["names"]["child_a1"] in consent.inner_text()
        assert page.locator('[data-testid="unread-count"]').inner_text().strip() == str(sum(unread))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "notice_inbox_phone.png", capsys)

        with page.expect_navigation():
            consent.tap()
        assert page.url.endswith(consent_href)
        assert page.locator("h1").inner_text().strip() == "春季研学活动家长同意书"
        read_at = _orm(
            site,
            """
            from notices.models import Receipt
            from people.models import Guardian
            r = Receipt.objects.get(notice_id=args["notice"], guardian=Guardian.objects.get(user=user("parent_a1")))
            out = {"read": r.read_at is not None, "reply": r.reply}
            """,
            notice=ids["consent"],
        )
        assert read_at == {"read": True, "reply": ""}  # opening is reading
        reply = page.locator('[data-testid="reply"]')
        reply.locator('label[for="choice-agree"]').tap()
        assert reply.locator("#choice-agree").is_checked()
        reply.locator("#reply-comment").fill("孩子有些晕车，请安排前排座位。")
        with page.expect_navigation():
            reply.locator('[data-testid="reply-submit"]').tap()
        assert page.url.endswith(consent_href + "#reply")
        text = page.locator("main").inner_text()
        assert "回执已提交，谢谢！" in text
        assert "您已回执：同意" in page.locator('[data-testid="reply-done"]').inner_text()
        assert "孩子有些晕车，请安排前排座位。" in page.locator('[data-testid="reply"]').inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "notice_reply_phone.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()

    rows = _orm(
        site,
        """
        from notices.models import Receipt, Reply
        from people.models import Guardian
        def row(key):
            r = Receipt.objects.get(notice_id=args["notice"], guardian=Guardian.objects.get(user=user(key)))
            return {"read": r.read_at is not None, "reply": r.reply, "comment": r.reply_comment,
                    "household": r.replied_by_household, "replied": r.replied_at is not None}
        out = {"parent": row("parent_a1"), "grandparent": row("grandparent_a1"),
               "replies": list(Reply.objects.filter(receipt__notice_id=args["notice"]).values_list("choice", "comment"))}
        """,
        notice=ids["consent"],
    )
    assert rows["parent"] == {
        "read": True,
        "reply": "agree",
        "comment": "孩子有些晕车，请安排前排座位。",
        "household": False,
        "replied": True,
    }
    # One reply per household: the grandmother's receipt counts as answered by the family.
    assert (
        rows["grandparent"]["replied"]
        and rows["grandparent"]["household"]
        and rows["grandparent"]["reply"] == "agree"
    )
    assert rows["replies"] == [["agree", "孩子有些晕车，请安排前排座位。"]]


_NOTICE_FIGURES = """
from notices.models import Receipt
rows = Receipt.objects.filter(notice_id=args["notice"], guardian__isnull=False)
def figures(qs):
    return {"total": qs.count(), "read": qs.exclude(read_at=None).count(), "unread": qs.filter(read_at=None).count(),
            "replied": qs.exclude(replied_at=None).count()}
out = {"all": figures(rows), "classes": {str(c): figures(rows.filter(school_class_id=c)) for c in args["classes"]},
       "unread_phones": sorted(r.guardian.phone for r in rows.filter(read_at=None, school_class_id=args["classes"][0]))}
"""


def test_sender_sees_read_statistics_per_class(browser, site, capsys):
    notice = site["notices"]["safety"]
    ids, names = site["ids"], site["names"]
    db = _orm(site, _NOTICE_FIGURES, notice=notice, classes=[ids["class_a1"], ids["class_a2"]])
    assert 0 < db["all"]["read"] < db["all"]["total"]  # some read, some not
    ctx, page, problems = _page(browser, viewport={"width": 1280, "height": 900})
    try:
        _log_in(page, site, "school_admin_a")
        page.goto(f"{site['base']}/notices/")
        with page.expect_navigation():
            page.get_by_role("link", name="关于寒假安全教育的通知").click()
        assert page.url.endswith(f"/notices/{notice}/")
        shown = {
            k: page.locator(f'[data-testid="stats-block"] [data-testid="{k}"]').inner_text().strip()
            for k in db["all"]
        }
        assert shown == {k: str(v) for k, v in db["all"].items()}
        pct = round(100 * db["all"]["read"] / db["all"]["total"])
        assert f"已读 · {pct}%" in page.locator('[data-testid="stats-block"]').inner_text()
        rows = page.locator('[data-testid="class-row"]')
        by_class = {}
        for i in range(rows.count()):
            cells = [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
            by_class[cells[0]] = cells[1:]
        assert set(by_class) == {names["class_a1"], names["class_a2"]}
        for key in ("class_a1", "class_a2"):
            f = db["classes"][str(ids[key])]
            total, read_cell, unread, replied = by_class[names[key]][:4]
            assert [total, unread, replied] == [str(f["total"]), str(f["unread"]), str(f["replied"])]
            assert read_cell.startswith(f"{f['read']} · ")
        assert names["school_b"] not in page.locator("main").inner_text()
        _shot(page, "notice_stats_page.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()

    # The class teacher follows the same notice for the own class only, and calls the unread families.
    ctx, page, problems = _page(browser, viewport={"width": 1280, "height": 900})
    try:
        _log_in(page, site, "teacher_a1")
        page.goto(f"{site['base']}/notices/{notice}/")
        rows = page.locator('[data-testid="class-row"]')
        assert rows.count() == 1 and names["class_a1"] in rows.first.inner_text()
        f = db["classes"][str(ids["class_a1"])]
        assert page.locator('[data-testid="stats-block"] [data-testid="unread"]').inner_text().strip() == str(
            f["unread"]
        )
        with page.expect_navigation():
            rows.first.get_by_role("link", name="未读名单").click()
        assert f"/notices/{notice}/class/{ids['class_a1']}/" in page.url
        with page.expect_navigation():
            page.locator('[data-testid="toggle-unread"]').click()
        phones = sorted(p.strip() for p in page.locator('[data-testid="phone"]').all_inner_texts())
        assert phones == db["unread_phones"] and "13912345678" in phones  # full numbers for the class teacher
        assert page.locator('[data-testid="guardian-row"]').count() == f["unread"]
        assert (
            "grandparent_a1" not in page.locator('[data-testid="family-table"]').inner_text()
        )  # she has read it
        _shot(page, "notice_class_unread.png", capsys)
        assert not problems, problems
    finally:
        ctx.close()
