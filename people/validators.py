"""Checks for identity data as schools type it: resident ID numbers (GB 11643-1999) and mainland mobile
numbers. Pure functions: the roster import, the forms and the demo generator share them.

Each *_check returns None when the value is valid, else a Chinese message saying what to fix."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from core.phones import is_valid_phone, normalise_phone

# ISO 7064 MOD 11-2 as GB 11643 applies it: weight of position i is 2^(17-i) mod 11.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# First two digits: province-level codes (GB/T 2260), plus 81/82/83 for the residence permits of
# Hong Kong, Macao and Taiwan residents, which use the same format.
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54,
     61, 62, 63, 64, 65, 71, 81, 82, 83}
)
# Full-width digits and letters arrive from Chinese input methods and from Excel sheets typed with them.
_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")
_SPACES = {" ", "\u3000", "\u00a0", "\t", "\r", "\n", "\u200b", "\ufeff", "-", "－"}


def id_number_normalise(value) -> str:
    """Strip spaces and dashes, turn full-width digits into ASCII and a lower-case x into X."""
    if value is None:
        return ""
    s = str(value).translate(_FULLWIDTH)
    s = "".join(ch for ch in s if ch not in _SPACES)
    return s.replace("x", "X")


def check_char(first17: str) -> str:
    """The check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def _birth(s: str) -> dt.date | None:
    try:
        return dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return None


def id_number_check(value, *, today: dt.date | None = None) -> str | None:
    """None if value is a valid 18-character resident ID number, else what is wrong with it."""
    s = id_number_normalise(value)
    if not s:
        return _("请填写身份证号。")
    if len(s) != 18:
        return _("身份证号应为18位，当前为%(n)d位，请核对是否多输或漏输。") % {"n": len(s)}
    if not s[:17].isdigit() or not s[:17].isascii():
        return _("身份证号前17位应全部为数字。")
    if s[17] not in "0123456789X":
        return _("身份证号最后一位应为数字或字母X。")
    if int(s[:2]) not in _PROVINCES:
        return _("身份证号前两位（省份代码）不正确，请核对。")
    born = _birth(s)
    if born is None:
        return _("身份证号中的出生日期（第7–14位）不是有效日期，请核对。")
    if born > (today or timezone.localdate()):
        return _("身份证号中的出生日期（第7–14位）晚于今天，请核对。")
    if born.year < 1900:
        return _("身份证号中的出生日期（第7–14位）早于1900年，请核对。")
    if check_char(s[:17]) != s[17]:
        return _("身份证号校验位不正确，请核对最后一位。")
    return None


def id_number_birth_date(value) -> dt.date | None:
    """The birth date encoded in an ID number (None when it has none)."""
    s = id_number_normalise(value)
    if len(s) != 18 or not s[:14].isdigit():
        return None
    return _birth(s)


def id_number_gender(value) -> str | None:
    """'M' or 'F' from the 17th digit (odd for men), None when the number is too short."""
    s = id_number_normalise(value)
    if len(s) < 17 or not s[16].isdigit():
        return None
    return "M" if int(s[16]) % 2 else "F"


def make_id_number(region: str, birth: dt.date, seq: int, gender: str) -> str:
    """A valid ID number: region (6 digits) + birth date + order code + check character.

    seq (0–499) numbers the people of that gender born that day in that region; the order code is
    2·seq+1 for men and 2·seq for women, so that its last digit carries the gender as the standard says.
    """
    if len(region) != 6 or not region.isdigit():
        raise ValueError("region must be 6 digits")
    if not 0 <= seq < 500:
        raise ValueError("seq must be in 0..499")
    if gender not in ("M", "F"):
        raise ValueError("gender must be 'M' or 'F'")
    order = seq * 2 + (1 if gender == "M" else 0)
    first17 = f"{region}{birth:%Y%m%d}{order:03d}"
    return first17 + check_char(first17)


# What may surround the digits of a phone number as people write it: 138 1234 5678, 138-1234-5678, +86 …
_PHONE_DECORATION = set(" \u3000\u00a0\t-－+＋()（）")


def _phone_text(value) -> str:
    if isinstance(value, float) and value.is_integer():  # Excel hands numbers over as floats
        value = int(value)
    return "" if value is None else str(value).strip()


def phone_normalise(value) -> str:
    return normalise_phone(_phone_text(value))


def phone_check(value) -> str | None:
    """None if value is a mainland mobile number (after normalising +86, spaces, full-width digits)."""
    raw = _phone_text(value)
    if not raw:
        return _("请填写手机号。")
    if any(not (ch.isdigit() or ch in _PHONE_DECORATION) for ch in raw):
        return _("手机号只能包含数字，例如 13812345678。")
    s = normalise_phone(raw)
    if len(s) != 11:
        return _("手机号应为11位，当前为%(n)d位，请核对。") % {"n": len(s)}
    if not is_valid_phone(s):
        return _("手机号应以13–19开头，请核对，例如 13812345678。")
    return None
