"""Background work for roster imports. Each step (validate, commit) runs as a jobs outbox row whose payload
is the import job's id; the ImportJob row says what the import is and how far it got.

The jobs app's sweeper re-queues a step whose message was lost or whose worker died; the periodic task
here only removes uploaded files (which hold personal data) once they are no longer needed."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from jobs.services import register
from roster import services
from roster.models import RUNNING, ImportJob, JobStatus

# A commit writes everything in one transaction, so its progress and heartbeats stay invisible until it
# commits: the sweeper waits this long before it takes the worker for dead (as before the jobs outbox).
COMMIT_STALE_SECONDS = 30 * 60


def _gave_up(job) -> None:
    services.give_up(job.payload["import_job"])


@register(services.VALIDATE, on_give_up=_gave_up)
def validate_import_job(job) -> None:
    services.job_validate(job.payload["import_job"])


@register(services.COMMIT, on_give_up=_gave_up, stale_seconds=COMMIT_STALE_SECONDS)
def commit_import_job(job) -> None:
    services.job_commit(job.payload["import_job"])


def sweep(now=None) -> dict:
    """Uploads are kept only while a job may still need them."""
    now = now or timezone.now()
    counts = {"expired": 0}
    keep = timedelta(hours=int(getattr(settings, "ROSTER_FILE_RETENTION_HOURS", 72)))
    stale = ImportJob.objects.filter(updated_at__lt=now - keep).exclude(file_name="").exclude(status__in=RUNNING)
    for job in stale:
        if job.status in (JobStatus.READY, JobStatus.INVALID):
            ImportJob.objects.filter(pk=job.pk, status=job.status).update(status=JobStatus.DISCARDED)
        services.delete_upload(job)
        counts["expired"] += 1
    return counts


@db_periodic_task(crontab(minute="*/5"))
def sweep_import_jobs():
    return sweep()
