"""The benchmark runner works end to end at a tiny scale and prints its summary in the agreed format.

It runs in a subprocess on a throw-away SQLite file (whatever database the suite uses), because the
runner sets Django up itself, migrates, and commits its own data."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"^(?P<name>[a-z0-9-]+): (?P<value>\d+\.\d{2}) (?P<unit>s|ms) \((?P<ratio>\d+\.\d{2})x floor\)$")


@pytest.mark.slow
def test_roster_scenarios_run_and_end_with_one_line_each(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    env.update(GONGYU_VAR_DIR=str(tmp_path), SQLITE_PATH=str(tmp_path / "bench.sqlite3"), GONGYU_ENV="test")
    cmd = [sys.executable, "-m", "bench", "roster-import", "roster-reimport", "--students", "50"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    summary = [LINE.match(line) for line in lines[-2:]]
    assert all(summary), lines[-3:]
    assert [m["name"] for m in summary] == ["roster-import", "roster-reimport"]
    assert all(m["unit"] == "s" and float(m["ratio"]) > 0 for m in summary)
    assert any(line.startswith("peak memory: ") for line in lines)
    assert "created: students 50, guardians" in done.stdout and "rows changed: 0" in done.stdout
    # Its own district, cleaned afterwards: a second run starts from the same state and succeeds too.
    again = subprocess.run(cmd + ["--no-migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert LINE.match(again.stdout.strip().splitlines()[-1])


def test_unknown_scenario_is_refused_with_the_list(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(GONGYU_VAR_DIR=str(tmp_path), SQLITE_PATH=str(tmp_path / "bench.sqlite3"), GONGYU_ENV="test")
    done = subprocess.run([sys.executable, "-m", "bench", "no-such", "--no-migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "roster-import" in done.stderr
