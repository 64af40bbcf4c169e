"""Only one Huey consumer runs the periodic scheduler (huey issue #716: with Huey on Redis every consumer
started plainly also schedules, and each periodic task, the jobs sweeper among them, is then enqueued once
per consumer). The command lines live in gongyu/workers.py; dev.py and docs/deploy.md use them."""

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from huey.contrib.djhuey.management.commands.run_huey import Command as RunHuey

import dev
from gongyu.workers import huey_consumer_command
from jobs.tasks import schedule_sweeps

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("GONGYU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DEPLOY_WORKERS = 4  # what docs/deploy.md's units say


def runs_scheduler(command: list[str]) -> bool:
    """Whether `manage.py run_huey …` starts a consumer that enqueues periodic tasks, as huey's own option
    parser reads the command line (so `-n` counts as `--no-periodic` too)."""
    args = command[command.index("run_huey") + 1:]
    return RunHuey().create_parser("manage.py", "run_huey").parse_args(args).periodic is not False


def redis_or_skip() -> redis.Redis:
    url = urlparse(REDIS_URL)
    try:
        socket.create_connection((url.hostname, url.port or 6379), timeout=2).close()
    except OSError:
        why = f"no Redis at {url.hostname}:{url.port or 6379} (GONGYU_TEST_REDIS_URL): the multi-process scheduler test needs one"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(why)
        pytest.skip(why)
    return redis.Redis.from_url(REDIS_URL)


# --- one source for the command lines -------------------------------------------------------------------
def test_the_builder_makes_one_scheduler_and_workers():
    assert runs_scheduler(huey_consumer_command(scheduler=True))
    assert runs_scheduler(huey_consumer_command(scheduler=True, workers=DEPLOY_WORKERS))
    assert not runs_scheduler(huey_consumer_command(scheduler=False))
    assert not runs_scheduler(huey_consumer_command(scheduler=False, workers=DEPLOY_WORKERS))


def test_dev_run_starts_exactly_one_scheduler(tmp_path):
    consumers = [c for c in dev.run_commands(8000, tmp_path / "access.log") if "run_huey" in c]
    assert sum(runs_scheduler(c) for c in consumers) == 1
    assert consumers == [[str(dev.VPY), *huey_consumer_command(scheduler=True)]]


def test_the_deployment_guide_prints_the_builders_command_lines():
    """Its systemd units: exactly one scheduler, any number of `--no-periodic` workers, each line being what
    gongyu/workers.py builds."""
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    lines = re.findall(r"^\s*ExecStart=\S+/python (manage\.py run_huey\b.*)$", deploy, flags=re.MULTILINE)
    assert [line.split() for line in lines] == [
        huey_consumer_command(scheduler=True, workers=DEPLOY_WORKERS),
        huey_consumer_command(scheduler=False, workers=DEPLOY_WORKERS),
    ]
    assert "exactly one in the deployment" in deploy
    # No other consumer command line anywhere in the guide (a `run_huey` in prose names the command only).
    assert len(re.findall(r"manage\.py run_huey --", deploy)) == 2


# --- two real consumers on Redis -------------------------------------------------------------------------
def test_of_two_consumers_only_the_scheduler_enqueues_periodic_tasks(tmp_path):
    """Starts the deployment's two consumers (the scheduler and a `--no-periodic` worker) on a queue of its
    own and reads the probe's notes (tests/huey_probe/tasks.py): once both schedulers have completed a loop
    — a periodic one enqueues every task due this minute in its first loop — only the scheduler process has
    enqueued periodic tasks, each once. Fails if both consumers schedule."""
    conn = redis_or_skip()
    name = f"gongyuprobe{uuid.uuid4().hex[:12]}"
    notes_key = f"{name}:probe"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SQLITE_PATH", "CI"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "tests.huey_probe.settings",
        "GONGYU_HUEY_PROBE": name,
        "GONGYU_ENV": "test",
        "HUEY_IMMEDIATE": "0",
        "REDIS_URL": REDIS_URL,
        # A database of its own that stays empty (the probe runs no task): nothing touches the developer's.
        "GONGYU_VAR_DIR": str(tmp_path),
    })
    commands = {
        "scheduler": huey_consumer_command(scheduler=True, workers=DEPLOY_WORKERS),
        "worker": huey_consumer_command(scheduler=False, workers=DEPLOY_WORKERS),
    }
    logs = {role: (tmp_path / f"{role}.log").open("w") for role in commands}
    procs = {
        role: subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env, stdout=logs[role], stderr=subprocess.STDOUT)
        for role, command in commands.items()
    }
    pids = {proc.pid: role for role, proc in procs.items()}
    try:
        notes: list[list[str]] = []
        deadline = time.monotonic() + 15
        while True:
            notes = [n.decode().split() for n in conn.lrange(notes_key, 0, -1)]
            ticks = {pid: sum(1 for n in notes if n[0] == "tick" and int(n[1]) == pid) for pid in pids}
            if all(count >= 2 for count in ticks.values()):
                break
            for role, proc in procs.items():
                assert proc.poll() is None, f"the {role} consumer ended:\n{(tmp_path / f'{role}.log').read_text()}"
            assert time.monotonic() < deadline, f"consumers' scheduler loops seen: {ticks}"
            time.sleep(0.2)
        enqueued = [(pids.get(int(n[1]), n[1]), n[2]) for n in notes if n[0] == "enqueued"]
        by = {role for role, _ in enqueued}
        assert by == {"scheduler"}, f"periodic tasks enqueued by: {sorted(by)}"
        names = [task for _, task in enqueued]
        assert names.count("probe_every_minute") == 1
        assert names.count(schedule_sweeps.task_class.__name__) == 1  # the jobs sweeper's clock: once, not once per consumer
        assert len(names) == len(set(names))
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs.values():
            log.close()
        keys = list(conn.scan_iter(match=f"*{name}*"))
        if keys:
            conn.delete(*keys)
