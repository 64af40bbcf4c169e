"""Huey tasks of the ledger. Messages carry ids only; the ledger is the truth."""

import datetime as dt

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from ledger import services


@db_task(retries=3, retry_delay=30)
def issue_certificates(guardian_ids: list[int], day: str, district_id: int) -> int:
    """Certificates for these guardians if their semester total reached the threshold (idempotent)."""
    return len(services.certificates_issue_due(guardian_ids=guardian_ids, day=dt.date.fromisoformat(day), district_id=district_id))


@db_periodic_task(crontab(minute="17"))
def certificates_sweep() -> int:
    """Hourly: anyone whose certificate check was not queued (a worker down at the wrong moment) gets it."""
    return services.certificates_sweep()
