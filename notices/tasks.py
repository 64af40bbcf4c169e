"""Huey tasks and outbox handlers of the notices module. Messages carry ids only; the rows are the truth."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from jobs.services import register
from notices import services

# An emergency fan-out whose worker died resumes within 60 s (issue 13, contract 4): silent for 30 s is dead,
# and the sweeper runs every 30 s; the runner beats the row every 10 s (jobs.services.keepalive).
STALE_SECONDS = 30


@register(services.JOB_KIND, on_give_up=lambda job: services.job_gave_up(job.payload["notice_job"]),
          stale_seconds=STALE_SECONDS)
def run_notice_job(job) -> str:
    return services.job_run(job.payload["notice_job"])


@db_periodic_task(crontab(minute="*"))
def notices_tick() -> dict:
    """Every minute: publish scheduled notices, escalate unread emergencies (queued jobs are swept by the
    jobs app's sweeper, due pushes sent by messaging's tick)."""
    return services.tick()
