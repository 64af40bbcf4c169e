"""Huey tasks and outbox handlers of the notices module. Messages carry ids only; the rows are the truth."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from jobs.services import register
from jobs.tasks import SWEEP_SECONDS
from notices import services

# An emergency fan-out whose worker died resumes within 60 s (issue 13, contract 4): silent for STALE_SECONDS
# (30) is dead, and the next sweep comes within the sweeper's SWEEP_SECONDS (30); the runner beats the row
# every 10 s (jobs.services.keepalive), a 3x margin before a live worker could be taken for dead.
RESUME_WITHIN_SECONDS = 60
STALE_SECONDS = RESUME_WITHIN_SECONDS - SWEEP_SECONDS


@register(services.JOB_KIND, on_give_up=lambda job: services.job_gave_up(job.payload["notice_job"]),
          stale_seconds=STALE_SECONDS)
def run_notice_job(job) -> str:
    return services.job_run(job.payload["notice_job"])


@db_periodic_task(crontab(minute="*"))
def notices_tick() -> dict:
    """Every minute: publish scheduled notices, escalate unread emergencies (queued jobs are swept by the
    jobs app's sweeper, due pushes sent by messaging's tick)."""
    return services.tick()
