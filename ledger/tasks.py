"""Huey tasks of the ledger. Messages carry ids only; the ledger is the truth."""

import datetime as dt

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from jobs.services import register
from ledger import services


@register(services.CERTIFICATES)
def issue_certificates(job) -> int:
    """Certificates for these guardians if their semester total reached the threshold (idempotent)."""
    p = job.payload
    return len(services.certificates_issue_due(guardian_ids=p["guardians"], day=dt.date.fromisoformat(p["day"]), district_id=p["district"]))


@db_periodic_task(crontab(minute="17"))
def certificates_sweep() -> int:
    """Hourly: anyone whose certificate check was not queued (a worker down at the wrong moment) gets it."""
    return services.certificates_sweep()
