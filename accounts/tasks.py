"""The accounts app's share of the daily housekeeping (core.tasks.housekeeping, through Module.housekeeping)."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import ApiToken, SmsCode


def delete_expired() -> dict:
    """Expired API tokens, and SMS codes a day past their expiry."""
    now = timezone.now()
    return {
        "api_tokens": ApiToken.objects.system(reason="expired tokens of every user").filter(expires_at__lt=now).delete()[0],
        "sms_codes": SmsCode.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()[0],
    }
