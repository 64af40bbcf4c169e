"""The periodic sealer: links audit rows that no writer's after-commit seal picked up (decision 0009)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from audit.services import seal


@db_periodic_task(crontab(minute="*"))
def audit_seal():
    # wait=False: a sealer already running (after some commit) takes these rows, or the next minute does.
    return seal(wait=False)
