#!/usr/bin/env python3
"""Gongyu's two entry points for a fresh machine that has only Python 3.11+.

    python3 dev.py run    install, migrate, build the demo district (once), serve web + worker
    python3 dev.py test   install test tools, run the whole suite (SQLite; PostgreSQL too when CI=true)

Everything is installed into ./.venv from pyproject.toml; nothing is installed system-wide.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlparse
from urllib.request import urlopen

from gongyu.workers import huey_consumer_command

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11: ensure_venv() says which Python is needed
    tomllib = None

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VPY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
PG_URL_DEFAULT = "postgres://postgres@127.0.0.1:5432/gongyu"
TEST_REDIS = "redis://127.0.0.1:6379"  # tests/test_huey_scheduler.py's default


def say(msg: str) -> None:
    print(f"[gongyu] {msg}", flush=True)


def sh(*args, env=None, check=True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=check, **kw)


def ensure_venv(extra: str) -> None:
    """Create .venv and install the project; skipped when pyproject.toml has not changed since."""
    if sys.version_info < (3, 11):  # noqa: UP036 - a friendly message for whoever runs it with an old Python
        sys.exit("Gongyu needs Python 3.11 or newer.")
    if not VPY.exists():
        say("creating virtual environment in .venv …")
        sh(sys.executable, "-m", "venv", VENV)
    spec = f".[{extra}]" if extra else "."
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + spec.encode()).hexdigest()
    stamp = VENV / f".installed-{extra or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    # The project runs from its checkout; only its dependencies are installed (no package build).
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = list(project["dependencies"]) + (list(project["optional-dependencies"][extra]) if extra else [])
    say("updating pip …")
    sh(VPY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade", "pip")
    # pip's own lines stay visible: on a fresh machine this step takes a minute or two, and silence looks hung.
    say(f"installing {len(deps)} dependencies ({spec}) into .venv …")
    sh(VPY, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", *deps)
    say("dependencies installed")
    stamp.write_text(digest)


def manage(*args, env=None, check=True):
    return sh(VPY, "manage.py", *args, env=env, check=check)


def free_port(preferred: int) -> int:
    for port in range(preferred, preferred + 50):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit(f"no free port found near {preferred}")


def wait_until_serving(port: int, procs: list[subprocess.Popen], timeout: float = 120) -> bool:
    """Until /healthz answers (the banner then names an address that works), or a process has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return True
        except (URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def run_commands(port: int, access_log: Path) -> list[list[str]]:
    """The processes of `dev.py run`: one Huey consumer, and it is the one periodic scheduler (the jobs
    sweeper among its tasks; huey #716, gongyu/workers.py), and the web server."""
    return [
        [str(VPY), *huey_consumer_command(scheduler=True)],
        [str(VPY), "-m", "gunicorn", "gongyu.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4",
         "--access-logfile", str(access_log), "--log-level", "warning"],
    ]


def cmd_run(argv: list[str]) -> int:
    ensure_venv("")
    started = time.monotonic()
    env = {**os.environ, "GONGYU_ENV": os.environ.get("GONGYU_ENV", "demo")}
    var_dir = Path(os.environ.get("GONGYU_VAR_DIR", ROOT / "var"))
    say("preparing the database (migrate) …")
    manage("migrate", "--no-input", "-v", "0", env=env)
    students = os.environ.get("GONGYU_DEMO_STUDENTS", "3000")
    say(f"demo district ({students} students; built on the first run only), then each module's demo data …")
    # Every installed module's demo builder (core.modules), in order; each adds nothing if already there.
    manage("demo", "--students", students, "--if-empty", env=env)
    port = free_port(int(os.environ.get("GONGYU_PORT", "8000")))
    # Requests are logged to a file: on the terminal they would push the address and log-ins out of sight.
    access_log = var_dir / "access.log"
    say(f"starting the web server on port {port} and the background worker …")
    procs = [subprocess.Popen(command, cwd=ROOT, env=env) for command in run_commands(port, access_log)]
    if not wait_until_serving(port, procs):
        for p in procs:
            p.terminate()
        say("the web server did not start; its messages are above.")
        return 1
    logins = json.loads((var_dir / "demo_logins.json").read_text(encoding="utf-8"))
    print()
    print("=" * 64)
    print(f"  共育平台 Gongyu is running:  http://127.0.0.1:{port}/")
    print(f"  Demo log-ins (password for all: {logins['password']})")
    for row in logins["accounts"]:
        print(f"    {row['role_label']:<14} {row['phone']}   {row['name']} · {row['scope']}")
    print(f"  Ready after {time.monotonic() - started:.0f}s. Requests are logged to {access_log}.")
    print("  Stop with Ctrl-C.")
    print("=" * 64, flush=True)

    def stop(*_):
        for p in procs:
            p.terminate()
    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


def reachable(url: str, default_port: int = 5432) -> bool:
    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def start_postgres() -> None:
    """On CI's machine PostgreSQL is installed but may have stopped; start it the documented way."""
    conf = Path("/etc/postgresql")
    if conf.is_dir() and any(conf.iterdir()):
        version = sorted(p.name for p in conf.iterdir())[-1]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
        time.sleep(3)


def start_redis() -> subprocess.Popen | None:
    """On CI the Huey scheduler test needs Redis at 127.0.0.1:6379 (it fails there rather than skip): start a
    throw-away one, keeping nothing on disk, when none answers and redis-server is installed."""
    if reachable(TEST_REDIS) or not shutil.which("redis-server"):
        return None
    proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL)
    for _ in range(50):
        if reachable(TEST_REDIS):
            break
        time.sleep(0.1)
    return proc


def run_pytest(label: str, env: dict, args: list[str]) -> int:
    say(f"running the test suite on {label} …")
    started = time.time()
    rc = sh(VPY, "-m", "pytest", *args, env=env, check=False).returncode
    say(f"{label}: pytest exit code {rc} in {time.time() - started:.0f}s")
    return rc


def cmd_test(argv: list[str]) -> int:
    ensure_venv("test")
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    want_pg = ci or "--postgres" in argv
    args = [a for a in argv if a != "--postgres"]
    base = {**os.environ, "GONGYU_ENV": "test"}
    base.pop("DATABASE_URL", None)
    if not args:
        # loadfile keeps a module in one worker, so module-level evidence (the scope-leak count) is printed.
        args = ["-q", "-n", os.environ.get("GONGYU_TEST_WORKERS", "2"), "--dist", "loadfile", "-rs"]
    redis_server = start_redis() if ci else None
    try:
        return run_suites(base, args, want_pg)
    finally:
        if redis_server is not None:
            redis_server.terminate()
            redis_server.wait(timeout=10)


def run_suites(base: dict, args: list[str], want_pg: bool) -> int:
    results = {"SQLite": run_pytest("SQLite", base, args)}
    if want_pg:
        url = os.environ.get("GONGYU_TEST_DATABASE_URL", PG_URL_DEFAULT)
        if not reachable(url):
            start_postgres()
        if not reachable(url):
            say(f"PostgreSQL is not reachable at {url}: the PostgreSQL half cannot run.")
            results["PostgreSQL"] = 1
        else:
            results["PostgreSQL"] = run_pytest("PostgreSQL", {**base, "DATABASE_URL": url}, args)
    for label, rc in results.items():
        say(f"{label}: {'passed' if rc == 0 else 'FAILED'}")
    return 0 if all(rc == 0 for rc in results.values()) else 1


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    return {"run": cmd_run, "test": cmd_test}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
