"""Huey tasks of the notices module. Messages carry ids only; the rows in NoticeJob are the truth."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task()
def run_notice_job(job_id: int) -> str:
    from notices.services import job_run

    return job_run(job_id)


@db_periodic_task(crontab(minute="*"))
def notices_tick() -> dict:
    """Every minute: publish scheduled notices, escalate unread emergencies, sweep, send due pushes."""
    from notices.services import tick

    return tick()
