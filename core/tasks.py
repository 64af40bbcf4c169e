"""Housekeeping that the background worker runs on a schedule."""

from django.contrib.sessions.models import Session
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from core.modules import modules, resolve_dotted


def housekeeping() -> dict:
    """Delete what has expired and is worthless afterwards: sessions here, the rest by each module's own
    housekeeping (Module.housekeeping: accounts' API tokens and SMS codes), so core imports no app."""
    counts = {"sessions": Session.objects.filter(expire_date__lt=timezone.now()).delete()[0]}
    for module in modules():
        for path in module.housekeeping:
            counts.update(resolve_dotted(path)())
    return counts


@db_periodic_task(crontab(minute="17", hour="3"))
def housekeeping_daily():
    return housekeeping()
