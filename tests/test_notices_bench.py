"""The notices benchmark scenarios run end to end at a tiny scale and print the agreed summary lines
(a subprocess on a throw-away SQLite file, like tests/test_bench.py)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^(?P<name>[a-z0-9-]+): (?P<value>\d+\.\d{2}) (?P<unit>s|ms) \((?P<ratio>\d+\.\d{2})x floor\)$")


@pytest.mark.slow
def test_notice_scenarios_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    env.update(GONGYU_VAR_DIR=str(tmp_path), SQLITE_PATH=str(tmp_path / "bench.sqlite3"), GONGYU_ENV="test")
    cmd = [sys.executable, "-m", "bench", "notice-fanout", "notice-stats", "inbox", "--students", "300"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    summary = [LINE.match(line) for line in lines[-3:]]
    assert all(summary), lines[-4:]
    assert [m["name"] for m in summary] == ["notice-fanout", "notice-stats", "inbox"]
    assert "duplicates 0" in done.stdout
    assert re.search(r"queries: \d+ per request", done.stdout)
