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
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(SKIP_MESSAGE)
    with sync_playwright() as p:
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
        yield {"base": base, **world}
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
