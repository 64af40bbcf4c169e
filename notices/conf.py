"""Settings of the notices module, read at call time so tests can override them with `settings`.

Each value comes from Django settings when set there, else from the environment variable of the same
name, else from a safe default. Real gateways are configured here; development writes to var/outbox.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core import uploads
from gongyu.env import env, envint

DEFAULT_BACKENDS = {
    "sms": "notices.channels.OutboxSmsBackend",
    "email": "notices.channels.OutboxEmailBackend",
    "wechat": "notices.channels.OutboxWeChatBackend",
}


def _get(name: str, default):
    if hasattr(settings, name):
        return getattr(settings, name)
    if isinstance(default, int) and not isinstance(default, bool):
        return envint(name, default, minimum=0)
    return env(name, default)


def backend_path(channel: str) -> str:
    """Dotted path of the backend for a channel: GONGYU_NOTICE_SMS_BACKEND and so on."""
    return _get(f"GONGYU_NOTICE_{channel.upper()}_BACKEND", DEFAULT_BACKENDS[channel])


def quiet_hours() -> tuple[dt.time, dt.time] | None:
    """Quiet hours as (start, end) local times, e.g. 21:30–07:00; empty setting turns them off."""
    raw = str(_get("GONGYU_QUIET_HOURS", "21:30-07:00")).strip()
    if not raw:
        return None
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError as exc:
        raise ImproperlyConfigured(f"GONGYU_QUIET_HOURS must look like 21:30-07:00, got {raw!r}") from exc
    return start, end


def escalate_minutes() -> int:
    """Emergency notices still unread after this many minutes are re-sent by SMS."""
    return _get("GONGYU_EMERGENCY_ESCALATE_MINUTES", 30)


def fanout_batch() -> int:
    """Guardian ids per fan-out batch: each batch is one INSERT … SELECT and one commit."""
    return max(1, _get("GONGYU_NOTICE_FANOUT_BATCH", 50_000))


def send_batch() -> int:
    return max(1, _get("GONGYU_NOTICE_SEND_BATCH", 200))


def max_attempts() -> int:
    return max(1, _get("GONGYU_NOTICE_MAX_ATTEMPTS", 3))


def reminder_gap_minutes() -> int:
    """A family reminded less than this long ago is not reminded again (no spamming)."""
    return _get("GONGYU_NOTICE_REMINDER_GAP_MINUTES", 30)


def stale_minutes() -> int:
    """A job or a claimed delivery untouched for this long is taken up again by the sweeper."""
    return max(1, _get("GONGYU_NOTICE_STALE_MINUTES", 10))


def attachment_max_bytes() -> int:
    return uploads.attachment_max_bytes()  # one reader of the limit, beside the one upload checker


def attachments_per_item() -> int:
    return _get("GONGYU_ATTACHMENTS_PER_ITEM", 5)


def site_url() -> str:
    """Absolute address used in SMS, e-mail and WeChat links (e.g. https://gongyu.example.gov.cn)."""
    return str(_get("GONGYU_SITE_URL", "http://127.0.0.1:8000")).rstrip("/")


def consult_target_hours() -> int:
    """First reply to a consultation is due within this many hours on school days."""
    return _get("GONGYU_CONSULT_TARGET_HOURS", 24)


def gateway_url(channel: str) -> str:
    return str(_get(f"GONGYU_{channel.upper()}_GATEWAY_URL", ""))


def gateway_key(channel: str) -> str:
    return str(_get(f"GONGYU_{channel.upper()}_GATEWAY_KEY", ""))


def wechat_template_id() -> str:
    return str(_get("GONGYU_WECHAT_TEMPLATE_ID", ""))
