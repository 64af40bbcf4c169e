"""Check-in QR codes: a signed token bound to one activity session and a 30-second slot.

The organiser's page shows a new code every SLOT_SECONDS; a code is accepted for TOKEN_TTL seconds
after it was made (the time it is shown plus time to scan), only for its session, and only inside the
session's check-in window. Scanning it grants the phone's browser session GRANT_TTL to finish (log in,
pick the children) — the grant is kept server-side, so a forwarded screenshot of an old code is useless.
"""

from __future__ import annotations

import time

import segno
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SALT = "activities.checkin.qr"
SLOT_SECONDS = 30
TOKEN_TTL = 60
GRANT_TTL = 600
_GRANT_KEY = "activities.checkin_grants"


def current_slot(now: float | None = None) -> int:
    return int((now if now is not None else time.time()) // SLOT_SECONDS)


def seconds_to_next_slot(now: float | None = None) -> float:
    now = now if now is not None else time.time()
    return SLOT_SECONDS - (now % SLOT_SECONDS)


def make_token(session_id: int) -> str:
    return signing.TimestampSigner(salt=SALT).sign(f"{session_id}.{current_slot()}")


def check_token(token: str, session_id: int) -> None:
    """Raise ValidationError (code qr_expired / qr_invalid) unless token is a live code for this session."""
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token or "", max_age=TOKEN_TTL)
    except signing.SignatureExpired as exc:
        raise ValidationError(_("二维码已过期，请重新扫描现场大屏上的二维码。"), code="qr_expired") from exc
    except signing.BadSignature as exc:
        raise ValidationError(_("二维码无效，请扫描活动现场展示的签到二维码。"), code="qr_invalid") from exc
    sid, _sep, _slot = value.partition(".")
    if sid != str(session_id):
        raise ValidationError(_("二维码无效，请扫描活动现场展示的签到二维码。"), code="qr_invalid")


def svg(url: str) -> str:
    """The QR code as inline SVG markup (no style attributes, so it passes our CSP)."""
    qr = segno.make(url, error="m")
    return qr.svg_inline(scale=8, border=2, dark="#111", light="#fff", svgclass="gy-qr-svg", omitsize=True)


# --- Grants: a scanned code lets this browser session finish one check-in within GRANT_TTL ----------


def grant_store(session, session_id: int) -> None:
    grants = dict(session.get(_GRANT_KEY, {}))
    now = time.time()
    grants = {k: v for k, v in grants.items() if now - v < GRANT_TTL}
    grants[str(session_id)] = now
    session[_GRANT_KEY] = grants


def grant_valid(session, session_id: int) -> bool:
    at = session.get(_GRANT_KEY, {}).get(str(session_id))
    return at is not None and time.time() - at < GRANT_TTL


def grant_clear(session, session_id: int) -> None:
    grants = dict(session.get(_GRANT_KEY, {}))
    grants.pop(str(session_id), None)
    session[_GRANT_KEY] = grants
