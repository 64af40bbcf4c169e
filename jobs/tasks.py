"""The queue side of the outbox: a message names a job id; one periodic sweeper re-queues what was lost.

Only one Huey consumer may run periodic tasks (huey #716): docs/deploy.md starts every other one with
--no-periodic. Sweeping twice is harmless anyway (every re-queue is a conditional UPDATE)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from jobs import services

# A second sweep half-way through each minute: a killed worker's job resumes within about
# GONGYU_JOB_STALE_SECONDS + 30 s rather than + 60 s (Huey's periodic tasks run at most once a minute).
HALF_MINUTE = 30


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
def sweep_jobs_once() -> dict:
    return services.sweep()


@db_periodic_task(crontab(minute="*"))
def sweep_jobs() -> dict:
    sweep_jobs_once.schedule(delay=HALF_MINUTE)
    return services.sweep()
