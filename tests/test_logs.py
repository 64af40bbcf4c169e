"""No log line ever contains a mobile number or an ID number: capture everything the configured handlers
write while exercising the paths that see such numbers, and grep it."""

import io
import logging
import re

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
    ],
)
def test_redact_leaves_other_numbers(text):
    assert redact(text) == text


def test_filter_redacts_args_and_exceptions():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "guardian %s of %s", (PHONE, ID_NUMBER), None)
    assert RedactFilter().filter(record) is True
    assert PHONE not in record.getMessage() and ID_NUMBER not in record.getMessage()
    try:
        raise RuntimeError(f"bad {PHONE}")
    except RuntimeError:
        import sys

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
