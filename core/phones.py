"""Mainland mobile numbers as people type them: one normal form for log-in, the roster and the forms."""

from core.logging import PHONE_RE

_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def normalise_phone(raw) -> str:
    if raw is None:
        return ""
    s = str(raw).translate(_FULLWIDTH)
    s = "".join(ch for ch in s if ch.isdigit() or ch == "+")
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("86") and len(s) == 13:
        s = s[2:]
    return s


def is_valid_phone(phone: str) -> bool:
    return bool(PHONE_RE.fullmatch(phone)) and len(phone) == 11
