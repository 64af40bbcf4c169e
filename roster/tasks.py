"""Background work for roster imports. Messages carry only the job id; the job row says what to do.

A sweeper re-queues jobs whose message was lost or whose worker died, and removes uploaded files (which
hold personal data) once they are no longer needed."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from roster import services
from roster.models import RUNNING, ImportJob, JobStatus

QUEUED_GRACE = timedelta(minutes=5)  # a queued job untouched this long lost its message
RUNNING_GRACE = timedelta(minutes=30)  # a running job without a heartbeat this long lost its worker


@db_task()
def validate_import_job(job_id: int) -> None:
    services.job_validate(job_id)


@db_task()
def commit_import_job(job_id: int) -> None:
    services.job_commit(job_id)


def sweep(now=None) -> dict:
    now = now or timezone.now()
    counts = {"requeued": 0, "restarted": 0, "expired": 0}
    # Lost messages: queue again (claiming makes a duplicate delivery harmless).
    web = ImportJob.objects.filter(source="web")  # command-line runs are synchronous: nothing to re-queue
    for job_id, status in web.filter(
        status__in=[JobStatus.QUEUED, JobStatus.COMMIT_QUEUED], updated_at__lt=now - QUEUED_GRACE
    ).values_list("id", "status"):
        (validate_import_job if status == JobStatus.QUEUED else commit_import_job)(job_id)
        counts["requeued"] += 1
    # Dead workers: a validation is simply redone; an interrupted commit was rolled back, so redo it too.
    for job_id, status in web.filter(
        status__in=[JobStatus.VALIDATING, JobStatus.COMMITTING], updated_at__lt=now - RUNNING_GRACE
    ).values_list("id", "status"):
        back = JobStatus.QUEUED if status == JobStatus.VALIDATING else JobStatus.COMMIT_QUEUED
        if ImportJob.objects.filter(pk=job_id, status=status).update(status=back, updated_at=now):
            (validate_import_job if back == JobStatus.QUEUED else commit_import_job)(job_id)
            counts["restarted"] += 1
    # Uploads are kept only while a job may still need them.
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
