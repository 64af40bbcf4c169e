"""The sealers (decision 0009): the one a commit hands its rows to, and the periodic one that links audit rows
no commit's hand-off picked up."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from audit import services


@db_task()
def audit_seal_soon(label: str) -> int:
    return services.seal_model(label)


def _hand_off(label: str) -> None:
    audit_seal_soon(label)


services.hand_off = _hand_off


@db_periodic_task(crontab(minute="*"))
def audit_seal():
    # wait=False: a sealer already running (after some commit) takes these rows, or the next minute does.
    return services.seal(wait=False)
