"""Shared fixtures and helpers for the notices and homeschool tests (no tests of its own)."""

import pytest

from messaging.channels import MemoryBackend
from notices.audience import resolve
from notices.services import notice_create


@pytest.fixture(autouse=True)
def notice_settings(settings, tmp_path):
    # Quiet hours off unless a test turns them on: the suite must not depend on the time it runs at.
    settings.GONGYU_QUIET_HOURS = ""
    settings.GONGYU_NOTICE_SMS_BACKEND = "messaging.channels.MemoryBackend"
    settings.GONGYU_NOTICE_EMAIL_BACKEND = "messaging.channels.MemoryBackend"
    settings.GONGYU_NOTICE_WECHAT_BACKEND = "messaging.channels.MemoryBackend"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path / "media")}}}
    MemoryBackend.reset()
    yield settings
    MemoryBackend.reset()


def audience(user, units=(), *, guardians=True, roles=(), student_nos=()):
    return resolve(user, unit_ids=[u.pk for u in units], include_guardians=guardians, staff_roles=list(roles), student_nos=list(student_nos))


def send(capture, user, units=(), **kwargs):
    """Create and publish a notice, running the queued fan-out job as the worker would."""

    aud_kwargs = {k: kwargs.pop(k) for k in ("guardians", "roles", "student_nos") if k in kwargs}
    with capture(execute=True):
        notice = notice_create(actor=user, title=kwargs.pop("title", "家长会通知"), body=kwargs.pop("body", "请按时参加。"),
                               audience=audience(user, units, **aud_kwargs), **kwargs)
    notice.refresh_from_db()
    return notice


def login(client, user):
    client.force_login(user)
    return client
