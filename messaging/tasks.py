"""Huey tasks of messaging. Messages carry a source label only; the Delivery rows are the truth."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from messaging.sending import release_stale_claims, send_due


@db_task()
def send_messages(source: str) -> int:
    return send_due(source=source or None)


def tick() -> dict:
    """Every module's pushes: claims of dead workers released, then whatever is due (held back by quiet
    hours, a cap or a retry) sent. Messaging's own, so a module's pushes never wait on another module."""
    return {"released": release_stale_claims(), "sent": send_due()}


@db_periodic_task(crontab(minute="*"))
def messaging_tick() -> dict:
    return tick()
