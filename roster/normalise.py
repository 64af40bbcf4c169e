"""Turning cells as schools type them into clean values. Pure functions, no database.

The rule is "normalise where the meaning is clear, else report": full-width characters, stray spaces,
Excel's trailing ".0", lower-case x and the many ways of writing a date or a class are normalised;
anything that could mean two things is left for the validator to report."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from people.models import Relation

_SPACE_RE = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_SPACE_RE = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_DOT_SPACE_RE = re.compile(r"\s*·\s*")
_CODE_JUNK_RE = re.compile(r"[\s\-_—–]")
_DOTS = str.maketrans({"•": "·", "・": "·", "．": "·", "∙": "·", "‧": "·", "●": "·"})


class PrecisionLost(ValueError):
    """A long digit string that Excel stored as a number and so rounded (its last digits are gone)."""


def cell_text(value) -> str:
    """Any cell as trimmed text: numbers without Excel's '.0', dates as ISO, NFKC-folded."""
    if type(value) is str:  # the common case first: a plain ASCII cell needs no folding
        if value[:1] == "'":  # Excel's "treat as text" mark, and the export's guard against formulas
            value = value[1:]
        if value.isascii():
            return _SPACE_RE.sub(" ", value).strip() if not value.isalnum() else value
        return _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", value)).strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            value = int(value)
        else:
            return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta | dt.time):
        return str(value)
    s = unicodedata.normalize("NFKC", str(value))
    return _SPACE_RE.sub(" ", s).strip()


_SCI_RE = re.compile(r"^\d(?:\.\d+)?E\+?\d+$", re.IGNORECASE)


def digit_text(value) -> str:
    """A code made of digits and letters (学籍号, 身份证号, 手机号): no spaces or dashes, upper case.

    Raises PrecisionLost for a long number that Excel has already rounded (a float of 16+ digits,
    or a CSV cell in scientific notation such as 1.10101E+17)."""
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e15:
        raise PrecisionLost
    s = cell_text(value)
    if _SCI_RE.match(s):
        raise PrecisionLost
    return _CODE_JUNK_RE.sub("", s).upper()


def name_text(value) -> str:
    """A person's name: spaces next to Chinese characters removed (张 三 → 张三), one space between
    Latin words kept, the middle dot of minority names unified (阿依古丽•买买提 → 阿依古丽·买买提)."""
    s = cell_text(value).translate(_DOTS)
    if s.isascii():
        return s
    s = _CJK_SPACE_RE.sub("", s)
    return _DOT_SPACE_RE.sub("·", s)


MASK_PHONE_RE = re.compile(r"^1\d{2}\*{4}\d{4}$")
MASK_ID_RE = re.compile(r"^\d{3}\*{8,12}\d{3}[\dX]$")


def is_masked(value: str) -> bool:
    return "*" in value


# --- dates ------------------------------------------------------------------------------------
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_RES = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s.*)?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(value) -> dt.date | None:
    """A date from an Excel date cell, an Excel serial number or the usual strings; None if unclear."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466 and float(value).is_integer() and value < 19000101:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        value = cell_text(value)
    s = cell_text(value)
    if s.isdigit() and len(s) <= 5:  # a serial number typed as text
        return _EXCEL_EPOCH + dt.timedelta(days=int(s))
    for pattern in _DATE_RES:
        m = pattern.match(s)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    return None


# --- small vocabularies -------------------------------------------------------------------------
_YES = {"是", "y", "yes", "true", "1", "√", "✓", "✔", "对", "有"}
_NO = {"否", "n", "no", "false", "0", "×", "✗", "✘", "x", "无", "不是"}


def parse_bool(value) -> bool | None:
    """True/False for 是/否 and the usual marks; None when blank; raises ValueError when unclear."""
    s = cell_text(value).lower()
    if not s:
        return None
    if s in _YES:
        return True
    if s in _NO:
        return False
    raise ValueError(s)


_GENDER = {"男": "M", "男性": "M", "m": "M", "male": "M", "1": "M", "女": "F", "女性": "F", "f": "F", "female": "F", "2": "F"}


def parse_gender(value) -> str | None:
    """'M'/'F'; '' when blank; None when not understood."""
    s = cell_text(value).lower()
    if not s:
        return ""
    return _GENDER.get(s)


_RELATIONS = {
    Relation.FATHER: ("父亲", "父", "爸爸", "爸", "父子", "父女"),
    Relation.MOTHER: ("母亲", "母", "妈妈", "妈", "母子", "母女"),
    Relation.PATERNAL_GRANDFATHER: ("祖父", "爷爷", "祖孙（祖父）"),
    Relation.PATERNAL_GRANDMOTHER: ("祖母", "奶奶"),
    Relation.MATERNAL_GRANDFATHER: ("外祖父", "外公", "姥爷", "姥爺"),
    Relation.MATERNAL_GRANDMOTHER: ("外祖母", "外婆", "姥姥"),
    Relation.OTHER: ("其他监护人", "其他", "其它", "其它监护人", "监护人", "叔叔", "伯父", "伯伯", "姑姑", "姑妈", "舅舅",
                     "阿姨", "姨妈", "婶婶", "哥哥", "姐姐", "继父", "继母", "养父", "养母", "亲属", "其他亲属"),
}
_RELATION_INDEX = {label: code for code, labels in _RELATIONS.items() for label in labels}
RELATION_LABEL = {Relation.FATHER: "父亲", Relation.MOTHER: "母亲", Relation.PATERNAL_GRANDFATHER: "祖父",
                  Relation.PATERNAL_GRANDMOTHER: "祖母", Relation.MATERNAL_GRANDFATHER: "外祖父",
                  Relation.MATERNAL_GRANDMOTHER: "外祖母", Relation.OTHER: "其他监护人"}


_RELATION_VALUES = frozenset(Relation.values)


def parse_relation(value) -> str | None:
    """A Relation value; '' when blank; None when not understood."""
    s = cell_text(value).replace(" ", "")
    if not s:
        return ""
    if s in _RELATION_VALUES:
        return s
    return _RELATION_INDEX.get(s)


# --- grades and classes -------------------------------------------------------------------------
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def cn_number(s: str) -> int | None:
    """1–99 from Arabic or Chinese numerals (三, 十二, 二十一)."""
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _CN_DIGITS and ch != "十" for ch in s):
        return None
    if "十" not in s:
        return _CN_DIGITS[s] if len(s) == 1 else None
    tens, _sep, ones = s.partition("十")
    t = _CN_DIGITS.get(tens, None) if tens else 1
    o = _CN_DIGITS.get(ones, None) if ones else 0
    if t is None or o is None:
        return None
    return t * 10 + o


_NUM = r"(\d{1,2}|[一二三四五六七八九十]{1,3})"
# grade_year: 一年级 = 1 … 九年级 = 9, 初一 = 7, 高一 = 10; kindergarten 托班 -3, 小班 -2, 中班 -1, 大班 0.
_KINDER = {"托班": -3, "小班": -2, "中班": -1, "大班": 0}
_GRADE_PATTERNS = (
    (re.compile(rf"^初中?{_NUM}(?:年级)?$"), 6),
    (re.compile(rf"^高中?{_NUM}(?:年级)?$"), 9),
    (re.compile(rf"^(?:小学)?{_NUM}年级$"), 0),
    (re.compile(rf"^{_NUM}$"), 0),
)


def parse_grade(text: str) -> tuple[int | None, bool]:
    """(grade_year, explicit_stage) from grade text: 三年级 → (3, False), 初一 → (7, True)."""
    s = re.sub(r"\s", "", cell_text(text))
    if s in _KINDER:
        return _KINDER[s], True
    for pattern, offset in _GRADE_PATTERNS:
        m = pattern.match(s)
        if m:
            n = cn_number(m.group(1))
            if n is None or not 1 <= n <= 12:
                return None, False
            if offset and n > 3:
                return None, False
            return n + offset, bool(offset)
    return None, False


_GRADE_PART = rf"(?:初中?{_NUM}|高中?{_NUM}|{_NUM}年级|{_NUM}(?=[(\[\-.·、_]))"
_CLASS_RE = re.compile(rf"^(?P<grade>{_GRADE_PART})?[-.·、_]?[(\[]?{_NUM}[)\]]?班?$")


def parse_class(text: str) -> tuple[int | None, bool, int | None]:
    """(grade_year, explicit_stage, class_no) from class text.

    三(2)班 / 三（2）班 / 三年级2班 / 3-2班 → (3, False, 2); 初一(3)班 → (7, True, 3); 2班 / (2)班 → (None, False, 2).
    Anything else → (None, False, None): the caller then compares names."""
    s = re.sub(r"\s", "", cell_text(text))
    m = _CLASS_RE.match(s)
    if not m:
        return None, False, None
    groups = [g for g in m.groups()[1:] if g is not None]
    class_no = cn_number(groups[-1])
    grade_year, explicit = None, False
    if m.group("grade"):
        g = m.group("grade")
        if g.startswith("初") or g.startswith("高"):
            grade_year, explicit = parse_grade(g)
        else:
            grade_year = cn_number(re.sub(r"年级$", "", g))
            if grade_year is not None and not 1 <= grade_year <= 12:
                return None, False, None
    if class_no is None or class_no < 1:
        return None, False, None
    return grade_year, explicit, class_no


def unit_key(text: str) -> str:
    """Loose comparison key for unit names: 三（2）班 and 三(2)班 and 三 (2) 班 compare equal."""
    return re.sub(r"[\s()\[\]（）【】]", "", cell_text(text)).lower()
