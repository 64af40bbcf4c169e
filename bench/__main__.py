"""python -m bench <scenario>… [--students N] [--keep] [--reuse] [--no-migrate]

Runs on the database DATABASE_URL names; without it, on SQLite in var/bench.sqlite3 (not the demo
database). Migrates first, so a fresh database works."""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongyu.settings")
    if not os.environ.get("DATABASE_URL"):
        var = Path(os.environ.get("GONGYU_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
        os.environ.setdefault("SQLITE_PATH", str(var / "bench.sqlite3"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024


def main(argv: list[str] | None = None) -> int:
    _setup_django()
    from django.core.management import call_command
    from django.db import connection

    import bench.scenarios  # noqa: F401 - registers the scenarios
    from bench import SCENARIOS, Context

    parser = argparse.ArgumentParser(prog="python -m bench", description="共育平台基准测试")
    parser.add_argument("scenarios", nargs="+", metavar="scenario", help=f"one or more of: {', '.join(SCENARIOS)}, or all")
    parser.add_argument("--students", type=int, default=10_000, help="scale (default 10000)")
    parser.add_argument("--keep", action="store_true", help="leave the scenario's data in the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse data an earlier --keep run left at this scale (implies --keep)")
    parser.add_argument("--no-migrate", action="store_true", help="skip `migrate` before running")
    args = parser.parse_args(argv)
    names = list(SCENARIOS) if args.scenarios == ["all"] else args.scenarios
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if args.students < 1:
        parser.error("--students must be at least 1")

    def log(message: str) -> None:
        print(f"  {message}", flush=True)

    db = connection.settings_dict
    print(f"database: {connection.vendor} {db.get('NAME')}", flush=True)
    if not args.no_migrate:
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        log(f"migrate: {time.perf_counter() - started:.1f} s")
    from bench.load import machine_probe, probe_line

    probes = [machine_probe()]
    log(probe_line(probes[0]))
    ctx = Context(students=args.students, keep=args.keep or args.reuse, reuse=args.reuse, log=log)
    results = []
    for name in names:
        print(f"[{name}] {SCENARIOS[name].help}", flush=True)
        result = SCENARIOS[name].run(ctx)
        for key, value in result.details.items():
            log(f"{key}: {value}")
        results.append(result)
    for cleanup in ctx.state.pop("cleanups", []):
        cleanup()
    probes.append(machine_probe())
    log(probe_line(probes[1]) + " (after the scenarios)")
    print(f"peak memory: {peak_rss_mb():.0f} MB (process RSS)")
    for result in results:
        print(result.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
