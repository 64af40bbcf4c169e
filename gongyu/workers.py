"""The Huey consumer's command lines, written once: `dev.py run` starts them, docs/deploy.md prints them
(tests/test_huey_scheduler.py checks that it prints exactly these) and the multi-process test runs them.

With Huey on Redis every consumer started plainly also runs the periodic scheduler, and two schedulers
enqueue each periodic task twice (huey issue #716): exactly one consumer is started with
`scheduler=True`, every other one with `--no-periodic`.

Standard library only: dev.py imports it before the virtual environment exists.
"""

from __future__ import annotations


def huey_consumer_command(*, scheduler: bool, workers: int | None = None) -> list[str]:
    """Arguments after the Python interpreter, run from the project folder. `workers` defaults to
    HUEY_WORKERS (settings)."""
    command = ["manage.py", "run_huey"]
    if not scheduler:
        command.append("--no-periodic")
    if workers is not None:
        command += ["--workers", str(workers)]
    return [*command, "--quiet"]
