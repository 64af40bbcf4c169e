"""Production settings: `check --deploy` is clean, missing secrets stop the start, and every response
carries the security headers."""

import io
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accounts.models import ApiToken, User
from audit.models import AuditEvent
from audit.services import record, seal, verify_chain
from bench.load import free_port, wait_for
from org.models import OrgUnit
from tests.world import make_user

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def prod_env(tmp_path):
    """The variables a production deployment sets (a SQLite file is enough for a check)."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GONGYU_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60)[:60],
        "GONGYU_FIELD_KEY": secrets.token_urlsafe(32),
        "GONGYU_AUDIT_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "gongyu.example.edu.cn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
        # Named only: nothing these tests do reaches the cache.
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "GONGYU_VAR_DIR": str(tmp_path / "var"),
    }


def _manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_check_deploy_is_clean_with_production_variables(prod_env):
    collected = _manage(prod_env, "collectstatic", "--no-input", "-v", "0")
    assert collected.returncode == 0, collected.stdout + collected.stderr
    done = _manage(prod_env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_check_deploy_reports_static_files_not_collected(prod_env):
    # Without the manifest every page is a 500 under production's storage: the check says so before going live.
    done = _manage(prod_env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    assert "gongyu.W001" in done.stdout + done.stderr


def test_check_deploy_fails_on_an_unsafe_setting(prod_env):
    # The check above can fail: switching DEBUG on in production is reported (security.W018).
    done = _manage({**prod_env, "DEBUG": "true"}, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    assert "security.W018" in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set to a random value of 50+ characters in production"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set to a random value of 50+ characters in production"),
        ({"GONGYU_FIELD_KEY": None}, "GONGYU_FIELD_KEY must be set in production"),
        ({"GONGYU_FIELD_KEY": "ZGVtby1maWVsZC1rZXktbm90LWZvci1wcm9kdWN0aW9u"}, "GONGYU_FIELD_KEY must be set in production"),
        ({"GONGYU_FIELD_KEY": "too-short"}, "each GONGYU_FIELD_KEY must be a random value of 32+ characters"),
        ({"GONGYU_AUDIT_RETENTION_DAYS": "30"}, "GONGYU_AUDIT_RETENTION_DAYS must be at least 180, got 30"),
        # The audit chain's HMAC key (ADR 0009): without it a rewritten chain could be re-sealed.
        ({"GONGYU_AUDIT_KEY": None}, "GONGYU_AUDIT_KEY must be set in production"),
        ({"GONGYU_AUDIT_KEY": "too-short"}, "GONGYU_AUDIT_KEY must be set in production"),
        ({"GONGYU_AUDIT_OLD_KEYS": "no-separator"}, "GONGYU_AUDIT_OLD_KEYS must be id:key pairs"),
        # Per-process rate limits (SMS codes per address, activation failures) would multiply with the processes.
        ({"REDIS_URL": None}, "REDIS_URL must be set in production"),
    ],
    ids=[
        "no-secret-key", "short-secret-key", "no-field-key", "demo-field-key", "short-field-key", "short-retention",
        "no-audit-key", "short-audit-key", "bad-old-audit-keys",
        "no-shared-cache",
    ],
)
def test_production_refuses_to_start_without_its_secrets(prod_env, change, message):
    env = {k: v for k, v in {**prod_env, **change}.items() if v is not None}
    done = _manage(env, "check")
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and message in done.stderr


def test_production_settings_turn_every_protection_on(prod_env):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'debug': s.DEBUG, 'ssl': s.SECURE_SSL_REDIRECT, 'hsts': s.SECURE_HSTS_SECONDS, 'session': s.SESSION_COOKIE_SECURE,"
        "'csrf': s.CSRF_COOKIE_SECURE, 'httponly': s.SESSION_COOKIE_HTTPONLY, '2fa': s.GONGYU_ADMIN_2FA, 'xfo': s.X_FRAME_OPTIONS,"
        "'retention': s.GONGYU_AUDIT_RETENTION_DAYS, 'demo': s.GONGYU_DEMO}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**prod_env, "DJANGO_SETTINGS_MODULE": "gongyu.settings"},
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == {
        "debug": False, "ssl": True, "hsts": 31536000, "session": True, "csrf": True, "httponly": True, "2fa": True,
        "xfo": "DENY", "retention": 365, "demo": False,
    }


def _assert_security_headers(response):
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["Referrer-Policy"] == "same-origin"


def test_signed_in_page_is_never_cached_and_carries_the_headers(client, world):
    client.force_login(world.teacher_a1)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    _assert_security_headers(response)
    cache_control = response["Cache-Control"]
    assert "no-store" in cache_control and "private" in cache_control


def test_log_in_page_carries_the_headers(client, db):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    _assert_security_headers(response)


def test_signed_in_api_answer_is_never_cached(client, world):
    _token, key = ApiToken.issue(user=world.teacher_a1)
    response = client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_operator_admin_page_carries_the_headers(client, world):
    client.force_login(make_user("ops", is_staff=True, is_superuser=True))
    response = client.get("/ops/admin/")
    assert response.status_code == 200
    _assert_security_headers(response)
    assert "no-store" in response["Cache-Control"]


def _documented_privileges_sql() -> list[str]:
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    block = text.split("<!-- privileges", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    return [s.strip() for s in block.split(";") if s.strip()]


@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="database roles and privileges are PostgreSQL's",
)
def test_documented_app_role_cannot_change_audit_rows(world):
    """Runs the privilege block of docs/deploy.md for a throw-away role (rolled back with the test)."""


    role = f"gy_app_{secrets.token_hex(4)}"
    row = AuditEvent.objects.order_by("id").first()
    with connection.cursor() as cur:
        cur.execute(f"CREATE ROLE {role} NOLOGIN")
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        for statement in _documented_privileges_sql():
            cur.execute(statement.replace("gongyu_app", role))
        cur.execute(f"SET LOCAL ROLE {role}")
        # The application still works: it appends audit rows and edits people data.
        record("test.as_app_role", model="test", object_id=1)
        cur.execute("UPDATE people_student SET name = name WHERE id = %s", [world.child_a1.pk])
        for sql in (
            "UPDATE audit_auditevent SET object_id = 'x' WHERE id = %s",
            "DELETE FROM audit_auditevent WHERE id = %s",
            "UPDATE audit_accessevent SET reason = 'x' WHERE id = %s",
            "TRUNCATE audit_auditevent",
            "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only",
        ):
            with pytest.raises(DatabaseError, match="permission denied|must be owner"), transaction.atomic():
                cur.execute(sql, [row.pk] if "%s" in sql else None)
        # The sealer runs as the application role too: four columns, once per row (ADR 0009).
        assert seal() >= 1
        cur.execute("RESET ROLE")
    assert verify_chain().ok


def _listening_sockets(port: int) -> int:
    """How many sockets listen on the port (/proc/net/tcp: state 0A is LISTEN)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1].endswith(f":{port:04X}") and row.split()[3] == "0A")


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's socket table")
def test_gunicorn_gives_each_worker_its_own_listening_socket(prod_env, tmp_path):
    """gunicorn.conf.py: the kernel spreads connections over the workers, so no single worker takes most
    of a proxy's keep-alive connections (docs/deploy.md)."""

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "gongyu.wsgi", "-b", f"127.0.0.1:{port}", "-w", "3", "--threads", "2"],
        cwd=ROOT, env=prod_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        deadline = time.time() + 30
        while _listening_sockets(port) < 3 and time.time() < deadline:  # the workers boot one by one
            time.sleep(0.2)
        assert _listening_sockets(port) >= 3  # one per worker (a shared socket would be one)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_sqlite_database_url_migrates(prod_env):
    """DATABASE_URL may name a SQLite file (a one-school trial): PostgreSQL's connection options stay off it."""
    done = _manage(prod_env, "migrate", "--no-input")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_collectstatic_with_the_manifest_storage_finds_every_referenced_file(settings, tmp_path):
    """Production's manifest storage fails on a file that a collected CSS/JS file names but nobody vendored
    (a font, a source map); then no page can name its static files and the log-in page answers 500."""

    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text(encoding="utf-8"))["paths"]
    for name in ("vendor/bootstrap-icons/fonts/bootstrap-icons.woff", "vendor/bootstrap/bootstrap.min.css.map"):
        assert name in manifest
    assert staticfiles_storage.url("vendor/bootstrap/bootstrap.min.css") != "/static/vendor/bootstrap/bootstrap.min.css"


@pytest.mark.parametrize("command", ["demo", "build_demo", "demo_activities", "demo_notices"])
def test_demo_commands_refuse_to_run_under_production_settings(db, settings, command):
    """They would create thousands of accounts with the published demo password, a district admin among them."""


    settings.GONGYU_ENV = "production"
    with pytest.raises(CommandError, match=f"{command} 只用于试用和演示，生产环境"):
        call_command(command, stdout=io.StringIO())
    assert not OrgUnit.objects.exists() and not User.objects.exists()
