import sqlite3
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken, SmsCode
from core.tasks import housekeeping


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode():
    if connection.vendor != "sqlite":
        pytest.skip("WAL is a SQLite setting")
    if connection.settings_dict["NAME"].startswith(("file:memorydb", ":memory:")) or "mode=memory" in str(connection.settings_dict.get("TEST", {})):
        # The test database is in memory, where WAL does not apply; check the configured pragma instead.
        assert "journal_mode=WAL" in connection.settings_dict["OPTIONS"]["init_command"]
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA journal_mode")
        assert cur.fetchone()[0].lower() == "wal"


def test_wal_applies_to_a_file_database(tmp_path):
    """The embedded default: a file database opened with the configured options is in WAL mode."""


    if "sqlite" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("embedded SQLite default not in use")
    db = sqlite3.connect(tmp_path / "x.sqlite3")
    db.executescript(settings.DATABASES["default"]["OPTIONS"]["init_command"])
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_housekeeping_removes_only_expired_rows(world):
    now = timezone.now()
    old_session = SessionStore()
    old_session.create()

    Session.objects.filter(session_key=old_session.session_key).update(expire_date=now - timedelta(days=1))
    live_session = SessionStore()
    live_session.create()
    _, _key = ApiToken.issue(user=world.parent_a1, days=30)
    expired, _ = ApiToken.issue(user=world.parent_a1, days=30)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(seconds=1))
    SmsCode.objects.create(phone_digest="x", code_hash="y", expires_at=now - timedelta(days=2))
    SmsCode.objects.create(phone_digest="x", code_hash="z", expires_at=now + timedelta(minutes=5))

    counts = housekeeping()

    assert counts == {"sessions": 1, "api_tokens": 1, "sms_codes": 1}
    assert Session.objects.filter(session_key=live_session.session_key).exists()
    assert ApiToken.objects.filter(user=world.parent_a1).count() == 1
    assert SmsCode.objects.count() == 1
