"""The queue side of the outbox: a message names a job id; one sweeper, every SWEEP_SECONDS, re-queues what
was lost.

Only one Huey consumer may run periodic tasks (huey #716): docs/deploy.md starts every other one with
--no-periodic. Sweeping twice is harmless anyway (every re-queue is a conditional UPDATE)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from jobs import services

# How often the one sweeper runs. 30 s because an emergency fan-out whose worker died must resume within
# 60 s (docs/decisions/0007): its row counts as dead after 30 s of silence (notices' stale limit), and the
# next sweep comes at most SWEEP_SECONDS later. A divisor of 60: Huey's periodic tasks are minute-grained,
# so the minute tick below only lays out the coming minute's sweeps, SWEEP_SECONDS apart.
SWEEP_SECONDS = 30


@db_task()
def run_job(job_id: int) -> str:
    return services.run(job_id)


def _send(job_id: int, eta) -> None:
    if eta is None:
        run_job(job_id)
    else:
        run_job.schedule((job_id,), eta=eta)


services.send_message = _send


@db_task()
def sweep_jobs() -> dict:
    """The one sweeper (jobs.services.sweep)."""
    return services.sweep()


@db_periodic_task(crontab(minute="*"))
def schedule_sweeps() -> None:
    """The sweeper's clock: this minute's sweeps, one now and one every SWEEP_SECONDS after."""
    sweep_jobs()
    for delay in range(SWEEP_SECONDS, 60, SWEEP_SECONDS):
        sweep_jobs.schedule(delay=delay)
