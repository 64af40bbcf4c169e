"""Password policy: "standard" (ASVS: >= 8 characters, not common) or "mlps" (GB/T 22239 assessors:
three of four character classes, and a periodic change enforced by PasswordRotationMiddleware).

Under both: not like the account's phone or name (Django's similarity check, settings) and not built on the
phone number's digits, nor of runs of one character (PersonalDataValidator, RepetitionValidator)."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CLASSES = [re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^a-zA-Z0-9]")]


class PolicyValidator:
    def validate(self, password, user=None):
        if settings.GONGYU_PASSWORD_POLICY != "mlps":
            return
        if sum(1 for c in CLASSES if c.search(password)) < 3:
            raise ValidationError(
                _("密码须包含大写字母、小写字母、数字、符号中的至少三类。"), code="password_too_simple"
            )

    def get_help_text(self):
        if settings.GONGYU_PASSWORD_POLICY == "mlps":
            return _("至少8位，包含大写字母、小写字母、数字、符号中的至少三类，并定期更换。")
        return _("至少8位，不能是常见密码或纯数字。")


# The digits that identify a phone number: its last 8 (the first 3 are the carrier's prefix, shared by many).
PHONE_TAIL = 8
MAX_RUN = 3  # "aaaa" and longer runs of one character are refused
MIN_DISTINCT = 4  # "abababab" is eight characters of two


class PersonalDataValidator:
    """The phone number is the log-in name, known to every class group: a password that contains it (e.g.
    "gy13900000013") is guessed first. Django's similarity check misses it inside a longer password."""

    def validate(self, password, user=None):
        phone = "".join(ch for ch in str(getattr(user, "phone", "") or "") if ch.isdigit())
        if len(phone) >= PHONE_TAIL and phone[-PHONE_TAIL:] in password:
            raise ValidationError(_("密码不能包含您的手机号。"), code="password_contains_phone")

    def get_help_text(self):
        return _("不能包含您的手机号或姓名。")


class RepetitionValidator:
    def validate(self, password, user=None):
        if re.search(rf"(.)\1{{{MAX_RUN}}}", password) or len(set(password)) < MIN_DISTINCT:
            raise ValidationError(
                _("密码不能由重复的字符组成（例如 aaaa 或 abababab）。"), code="password_repetitive"
            )

    def get_help_text(self):
        return _("不能由重复的字符组成。")
