"""Settings of the notices module, read at call time so tests can override them with `settings`.

Each value comes from Django settings when set there, else from the environment variable of the same
name, else from a safe default. Channels, gateways, quiet hours and caps are messaging's (messaging.conf).
"""

from __future__ import annotations

from core import uploads
from gongyu.env import setting

_get = setting  # a setting, else its environment variable (gongyu.env.setting)


def escalate_minutes() -> int:
    """Emergency notices still unread after this many minutes are re-sent by SMS."""
    return _get("GONGYU_EMERGENCY_ESCALATE_MINUTES", 30)


def fanout_batch() -> int:
    """Guardian ids per fan-out batch: each batch is one INSERT … SELECT and one commit."""
    return max(1, _get("GONGYU_NOTICE_FANOUT_BATCH", 50_000))


def reminder_gap_minutes() -> int:
    """A family reminded less than this long ago is not reminded again (no spamming)."""
    return _get("GONGYU_NOTICE_REMINDER_GAP_MINUTES", 30)


def stale_minutes() -> int:
    """A job untouched for this long is taken up again by the sweeper (claimed deliveries: messaging's 30 s)."""
    return max(1, _get("GONGYU_NOTICE_STALE_MINUTES", 10))


def attachment_max_bytes() -> int:
    return uploads.attachment_max_bytes()  # one reader of the limit, beside the one upload checker


def attachments_per_item() -> int:
    return _get("GONGYU_ATTACHMENTS_PER_ITEM", 5)


def consult_target_hours() -> int:
    """First reply to a consultation is due within this many hours on school days."""
    return _get("GONGYU_CONSULT_TARGET_HOURS", 24)
