"""Housekeeping that the background worker runs on a schedule."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task


def housekeeping() -> dict:
    """Delete what has expired and is worthless afterwards: sessions, API tokens, SMS codes."""
    from accounts.models import ApiToken, SmsCode

    now = timezone.now()
    counts = {
        "sessions": Session.objects.filter(expire_date__lt=now).delete()[0],
        "api_tokens": ApiToken.objects.system(reason="expired tokens of every user").filter(expires_at__lt=now).delete()[0],
        "sms_codes": SmsCode.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()[0],
    }
    return counts


@db_periodic_task(crontab(minute="17", hour="3"))
def housekeeping_daily():
    return housekeeping()
