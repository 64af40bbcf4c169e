"""Settings of the messaging platform, read at call time so tests can override them with `settings`.

Each value comes from Django settings when set there, else from the environment variable of the same
name, else a safe default. The channel and gateway names keep their GONGYU_NOTICE_* spelling, which
deployments already set.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from gongyu.env import setting

DEFAULT_BACKENDS = {
    "sms": "messaging.channels.OutboxSmsBackend",
    "email": "messaging.channels.OutboxEmailBackend",
    "wechat": "messaging.channels.OutboxWeChatBackend",
}


_get = setting  # a setting, else its environment variable (gongyu.env.setting)


def backend_path(channel: str) -> str:
    """Dotted path of the backend for a channel: GONGYU_NOTICE_SMS_BACKEND and so on."""
    return _get(f"GONGYU_NOTICE_{channel.upper()}_BACKEND", DEFAULT_BACKENDS[channel])


def quiet_hours() -> tuple[dt.time, dt.time] | None:
    """Quiet hours as (start, end) local times, e.g. 21:30–07:00; an empty setting turns them off."""
    raw = str(_get("GONGYU_QUIET_HOURS", "21:30-07:00")).strip()
    if not raw:
        return None
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError as exc:
        raise ImproperlyConfigured(f"GONGYU_QUIET_HOURS must look like 21:30-07:00, got {raw!r}") from exc
    return start, end


def in_quiet_hours(now: dt.datetime) -> bool:
    window = quiet_hours()
    if window is None:
        return False
    start, end = window
    t = timezone.localtime(now).time()
    return (start <= t < end) if start <= end else (t >= start or t < end)


def quiet_end(now: dt.datetime) -> dt.datetime:
    """The next end of quiet hours after now (local time)."""
    _start, end = quiet_hours() or (None, dt.time(0, 0))
    local = timezone.localtime(now)
    release = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if release <= local:
        release += dt.timedelta(days=1)
    return release


def push_not_before(now: dt.datetime, urgency: str) -> dt.datetime:
    """When a push may go out: now, or the end of quiet hours for anything but an emergency (never dropped)."""
    if urgency == "emergency" or not in_quiet_hours(now):
        return now
    return quiet_end(now)


def sms_daily_cap() -> int:
    """At most this many non-emergency SMS per number per local day; 0 turns the cap off. Over it, an SMS
    waits for the next day (after quiet hours): delayed, never dropped or folded."""
    return _get("GONGYU_SMS_DAILY_CAP", 5)


def send_batch() -> int:
    return max(1, _get("GONGYU_NOTICE_SEND_BATCH", 200))


def max_attempts() -> int:
    return max(1, _get("GONGYU_NOTICE_MAX_ATTEMPTS", 3))


def claim_stale_seconds() -> int:
    """A claim whose worker has not beaten its heartbeat for this long is released to another worker."""
    return max(1, _get("GONGYU_MESSAGING_CLAIM_STALE_SECONDS", 30))


def heartbeat_seconds() -> float:
    """How often a sending worker renews its claim (well under the staleness above)."""
    return max(1, _get("GONGYU_MESSAGING_HEARTBEAT_SECONDS", 5))


def site_url() -> str:
    """Absolute address used in SMS, e-mail and WeChat links (e.g. https://gongyu.example.gov.cn)."""
    return str(_get("GONGYU_SITE_URL", "http://127.0.0.1:8000")).rstrip("/")


def gateway_url(channel: str) -> str:
    return str(_get(f"GONGYU_{channel.upper()}_GATEWAY_URL", ""))


def gateway_status_url(channel: str) -> str:
    """Optional: the provider's look-up of one out-id (so a row a dead worker handed over is not re-sent)."""
    return str(_get(f"GONGYU_{channel.upper()}_GATEWAY_STATUS_URL", ""))


def gateway_key(channel: str) -> str:
    return str(_get(f"GONGYU_{channel.upper()}_GATEWAY_KEY", ""))


def wechat_template_id() -> str:
    return str(_get("GONGYU_WECHAT_TEMPLATE_ID", ""))
