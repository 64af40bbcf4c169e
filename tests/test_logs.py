"""No log line ever contains a mobile number or an ID number: capture everything the configured handlers
write while exercising the paths that see such numbers, and grep it."""

import io
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import include, path

from core.logging import ID_NUMBER_RE, PHONE_RE, RedactFilter, redact
from core.sms import MemoryBackend

PHONE = "13912345678"  # on the roster of world.child_a1
ID_NUMBER = "110101201501010011"  # world.child_a1's ID number, also inside its 学籍号
ID_WITH_X = "11010119800101123X"


def _boom(request, anything):
    raise ValueError(f"could not notify guardian {PHONE} about student {ID_NUMBER}")


# The project's URLs plus one view that fails with personal data in its exception message.
urlpatterns = [path("boom/<str:anything>/", _boom), path("", include("gongyu.urls"))]


# --- the redaction function itself -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "phone 13812345678 tried",
        "+8613812345678",
        "+86 13812345678",
        "86-13912345678",
        "tel:19912345678,",
        "student 110101201501010011",
        "id 11010119800101123X and 11010119800101123x",
        "G110101201501010011",  # a 学籍号 that embeds the ID number
        "/people/110101201501010011/13812345678/",
        "{'username': '13812345678', 'ip_address': '1.2.3.4'}",
        "call 138 1234 5678",  # written with spaces
        "call 138-1234-5678",  # written with dashes
        "old id 110101850101123",  # 15-digit first-generation ID number
        # As they reach a server's logs: URL-escaped in a request line or a path, typed with full-width digits.
        '"GET /org/5/roster/?page=2&q=139+1234+5678 HTTP/1.1"',
        "Not Found: /x/%31%33%39%31%32%33%34%35%36%37%38/",
        "搜索 １３９１２３４５６７８",
    ],
)
def test_redact_removes_phones_and_id_numbers(text):
    cleaned = redact(text)
    assert not PHONE_RE.search(cleaned) and not ID_NUMBER_RE.search(cleaned)
    assert "已隐藏" in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "order 12345678901",  # 11 digits but not a mobile number (second digit 2)
        "count=1381234567",  # 10 digits
        "timestamp 1700000000123",  # 13 digits: not a phone inside a longer run
        "trace 013812345678",  # preceded by a digit
        "audit row 4242, user 17",
        '127.0.0.1 - - [04/Dec/2026:11:40:55 +0800] "GET /notices/?page=2&unread=1&format=csv HTTP/1.1" 200 512',
        "50% of 1+1",
    ],
)
def test_redact_leaves_other_numbers(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A search term is never kept, whatever it is: a name, part of a 学籍号, a number.
        ("GET /org/5/roster/?q=%E5%BC%A0%E4%B8%89&page=2 HTTP/1.1", "GET /org/5/roster/?q=[已隐藏]&page=2 HTTP/1.1"),
        ("/ops/admin/people/guardian/?q=0011", "/ops/admin/people/guardian/?q=[已隐藏]"),
        ("/ops/admin/people/guardian/?q=", "/ops/admin/people/guardian/?q="),
        # Other values only when short plain text.
        ("/accounts/login/?next=/org/5/roster/", "/accounts/login/?next=[已隐藏]"),
        ("/people/students/7/?show=id", "/people/students/7/?show=id"),
    ],
)
def test_redact_hides_search_terms_in_urls(text, expected):
    assert redact(text) == expected


def test_filter_redacts_args_and_exceptions():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "guardian %s of %s", (PHONE, ID_NUMBER), None)
    assert RedactFilter().filter(record) is True
    assert PHONE not in record.getMessage() and ID_NUMBER not in record.getMessage()
    try:
        raise RuntimeError(f"bad {PHONE}")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactFilter().filter(record)
    assert PHONE not in logging.Formatter().format(record)


# --- the configured logging ----------------------------------------------------------------------------


def test_every_configured_handler_redacts():
    conf = django_settings.LOGGING
    assert "core.logging.RedactFilter" in {f.get("()") for f in conf["filters"].values()}
    for name, handler in conf["handlers"].items():
        assert "redact" in handler.get("filters", []), name
    # And at run time: every handler on every logger (pytest's own capture excepted) carries the filter.
    loggers = [logging.getLogger()] + [
        logging.getLogger(n) for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        for handler in lg.handlers:
            if type(handler).__module__.startswith("_pytest") or isinstance(handler, logging.NullHandler):
                continue
            assert any(isinstance(f, RedactFilter) for f in handler.filters), (lg.name, handler)


@pytest.fixture
def captured():
    """Point the configured (filtered) console handlers at a buffer and let everything through."""
    root = logging.getLogger()
    buffer = io.StringIO()
    handlers = [h for h in root.handlers if any(isinstance(f, RedactFilter) for f in h.filters)]
    assert handlers, "settings.LOGGING must give the root logger a filtered handler"
    old_streams = [h.setStream(buffer) for h in handlers]
    old_levels = {name: logging.getLogger(name).level for name in ("", "axes", "django", "django.request")}
    for name in old_levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        for h, stream in zip(handlers, old_streams, strict=True):
            h.setStream(stream)
        for name, level in old_levels.items():
            logging.getLogger(name).setLevel(level)


def assert_clean(output: str):
    assert not PHONE_RE.search(output), PHONE_RE.search(output).group(0)
    assert not ID_NUMBER_RE.search(output), ID_NUMBER_RE.search(output).group(0)


def test_captured_logs_contain_no_phone_or_id_number(world, captured, settings):
    settings.GONGYU_SMS_BACKEND = "core.sms.MemoryBackend"
    settings.ROOT_URLCONF = "tests.test_logs"
    MemoryBackend.sent.clear()

    # 1. Failed log-ins with phone numbers, up to a lockout (axes logs every failure and the lock).
    for _ in range(6):
        Client().post("/accounts/login/", {"username": world.teacher_a1.phone, "password": "wrong"})
    Client().post("/accounts/login/", {"username": f"+86 {PHONE}", "password": "wrong"})
    Client().post("/api/v1/auth/token", {"phone": world.parent_a1.phone, "password": "wrong"}, content_type="application/json")

    # 2. Activation with a phone and the child's 学籍号 (which embeds an ID number), failing and succeeding.
    client = Client()
    client.post("/accounts/activate/", {"action": "send_code", "phone": PHONE})
    code = re.search(r"\d{6}", MemoryBackend.sent[-1]["text"]).group(0)
    data = {
        "action": "activate",
        "phone": PHONE,
        "sms_code": code,
        "invite_code": world.class_a1.invite_code,
        "child_name": world.child_a1.name,
        "student_no_last4": world.child_a1.student_no[-4:],
        "relation": "father",
        "password": "huaxia-2026-sky",
        "password_confirm": "huaxia-2026-sky",
        "agree_rules": "on",
    }
    client.post("/accounts/activate/", {**data, "child_name": world.child_a1.student_no})
    assert client.post("/accounts/activate/", data).status_code == 302

    # 3. A 404 on a URL holding an ID number and a phone (django.request logs "Not Found: <path>").
    assert Client().get(f"/people/{ID_NUMBER}/{PHONE}/").status_code == 404
    assert Client().get(f"/accounts/{ID_WITH_X}?phone={PHONE}").status_code == 404

    # 4. An unhandled exception whose message holds a phone and an ID number (logged with traceback).
    assert Client(raise_request_exception=False).get(f"/boom/{PHONE}/").status_code == 500
    try:
        raise ValueError(f"guardian {PHONE} has ID {ID_NUMBER}")
    except ValueError:
        logging.getLogger("gongyu.test").exception("notify failed for %s", PHONE)

    output = captured.getvalue()
    # The capture worked: each kind of event left a (redacted) line.
    assert "AXES" in output
    assert "Not Found" in output and "Internal Server Error" in output
    assert "ValueError" in output and "notify failed for [手机号已隐藏]" in output
    assert "[身份证号已隐藏]" in output
    assert_clean(output)


# --- the product's server: gunicorn's access and error logs, Django's logs, every file written ------------

SERVER_SETUP = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongyu.settings")
import django
django.setup()
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client
PBKDF2PasswordHasher.iterations = 1000  # as tests/browser_world.py: cheap hashes for the test's accounts
from tests.world import build_world, make_user
world = build_world()
operator = make_user("operator", is_staff=True, is_superuser=True)
cookies = {}
for key, user in {"teacher": world.teacher_a1, "operator": operator}.items():
    client = Client()
    client.force_login(user)
    cookies[key] = client.cookies["sessionid"].value
print(json.dumps({"class": world.class_a1.pk, "student": world.child_a1.pk, "cookies": cookies}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_searches_by_phone_or_id_number_leave_no_trace_in_any_server_log():
    """A real gunicorn (reading gunicorn.conf.py, as every app server does) with its access log and error log
    in files: searches by a phone, an ID number and a 学籍号 on the class roster and in the operators' admin,
    the next request's Referer, the log-in redirect that carries the search in ?next=, and 404 paths holding
    them. Afterwards no file the server or the product wrote holds a phone or an ID number."""

    repo = Path(__file__).resolve().parent.parent
    shm = Path("/dev/shm")
    tmp = Path(tempfile.mkdtemp(prefix="gongyu-logs-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "LOG_LEVEL"}}
    env.update({"GONGYU_ENV": "test", "SQLITE_PATH": str(tmp / "db.sqlite3"), "GONGYU_VAR_DIR": str(tmp), "PYTHONUNBUFFERED": "1"})
    run = {"cwd": repo, "env": env, "capture_output": True, "text": True, "timeout": 600}
    server = None
    try:
        done = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], **run)
        assert done.returncode == 0, done.stderr[-3000:]
        done = subprocess.run([sys.executable, "-c", SERVER_SETUP], **run)
        assert done.returncode == 0, done.stderr[-3000:]
        data = json.loads(done.stdout.strip().splitlines()[-1])
        port = _free_port()
        output = (tmp / "server-output.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "gongyu.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "2",
             "--access-logfile", str(tmp / "access.log"), "--error-logfile", str(tmp / "error.log"), "--log-level", "debug"],
            cwd=repo, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"

        def get(path, who=None, referer=None):
            request = urllib.request.Request(base + path)
            if who:
                request.add_header("Cookie", f"sessionid={data['cookies'][who]}")
            if referer:
                request.add_header("Referer", base + referer)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, ""

        deadline = time.monotonic() + 60
        while True:
            try:
                if get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp / "server-output.log").read_text()[-3000:]
            time.sleep(0.3)

        student_no = "G" + ID_NUMBER
        terms = [PHONE, ID_NUMBER, student_no, "139 1234 5678", "１３９１２３４５６７８"]
        roster = f"/org/{data['class']}/roster/"
        previous = None
        for term in terms:
            search = f"{roster}?{urllib.parse.urlencode({'q': term})}"
            assert get(search, "teacher", referer=previous)[0] == 200
            previous = search
        # The page a search result leads to carries the search in its Referer.
        status, body = get(f"/people/students/{data['student']}/", "teacher", referer=previous)
        assert status == 200
        # Signed out: the log-in redirect keeps the search in ?next= (urllib follows it, as a browser does).
        assert get(f"{roster}?q={PHONE}")[0] == 200
        for model in ("people/guardian", "people/student", "accounts/user"):
            for term in (PHONE, ID_NUMBER, student_no):
                assert get(f"/ops/admin/{model}/?{urllib.parse.urlencode({'q': term})}", "operator")[0] == 200
        for path in (f"/people/{ID_NUMBER}/", f"/org/{PHONE}/roster/", f"/{student_no}/", f"/api/v1/people/{PHONE}"):
            assert get(path, "teacher")[0] == 404
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            output.close()
        files = {
            p.relative_to(tmp).as_posix(): p.read_text(errors="replace")
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and ".sqlite3" not in p.name and "static" not in p.relative_to(tmp).parts
        }
        shutil.rmtree(tmp, ignore_errors=True)
    # The logs are there: each request left an access line, Django's 404 warnings reached the output.
    access = files["access.log"]
    assert access.count(f"GET {roster}?q=") == len(terms) + 1 and access.count("GET /ops/admin/") == 9
    assert "Not Found: /people/" in files["server-output.log"] and "Booting worker" in files["error.log"]
    for name, text in files.items():
        for needle in (PHONE, ID_NUMBER, "1391234", "11010120150101"):
            assert needle not in text, (name, needle)
        assert not PHONE_RE.search(text) and not ID_NUMBER_RE.search(text), (name, (PHONE_RE.search(text) or ID_NUMBER_RE.search(text)).group(0))
