from django.contrib.auth.backends import ModelBackend

from core.logging import PHONE_RE


class PhoneBackend(ModelBackend):
    """Log-in by mobile number. Normalises what people type: spaces, dashes, a +86 prefix, full-width digits."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        return super().authenticate(request, username=normalise_phone(username), password=password, **kwargs)


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
