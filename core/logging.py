"""A logging filter that removes ID numbers and mobile numbers from every log record, and the search terms
of every URL in it (request lines, Referer headers, redirects): a search box is where people type them."""

import logging
import re
import unicodedata
from urllib.parse import unquote_plus

# 18-digit resident ID (last may be X) and 11-digit mainland mobile numbers, not inside longer digit runs.
ID_NUMBER_RE = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
PHONE_RE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9]{9}(?![0-9])")
# For redaction only: also numbers written with separators (138 1234 5678, 138-1234-5678) and the
# old 15-digit ID numbers. Over-matching a harmless number in a log line is the safe mistake.
LOOSE_PHONE_RE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9])")
OLD_ID_NUMBER_RE = re.compile(r"(?<![0-9])[1-9][0-9]{14}(?![0-9])")

# A query parameter in a URL. Its value is kept only when it is short plain text (page=2, show=id,
# format=csv); search terms are never kept, whatever they look like: a name, part of a number, a 学籍号.
QUERY_PARAM_RE = re.compile(r"(?<=[?&])([^=&#\s\"'?]+)=([^&#\s\"']*)")
SAFE_QUERY_VALUE_RE = re.compile(r"[A-Za-z0-9_.,-]{0,8}")
SEARCH_KEYS = frozenset({"q", "search", "keyword", "term", "name", "phone", "mobile", "username", "id_number", "student_no"})
QUERY_HIDDEN = "[已隐藏]"
ESCAPED_WORD_RE = re.compile(r"[^\s\"']*[%+][^\s\"']*")


def _hide_query_value(match: re.Match) -> str:
    key, value = match.group(1), match.group(2)
    if value and (key.lower() in SEARCH_KEYS or not SAFE_QUERY_VALUE_RE.fullmatch(value)):
        return f"{key}={QUERY_HIDDEN}"
    return match.group(0)


def _has_number(text: str) -> bool:
    return any(p.search(text) for p in (ID_NUMBER_RE, LOOSE_PHONE_RE, OLD_ID_NUMBER_RE))


def _redact_numbers(text: str) -> str:
    text = ID_NUMBER_RE.sub("[身份证号已隐藏]", text)
    text = LOOSE_PHONE_RE.sub("[手机号已隐藏]", text)
    return OLD_ID_NUMBER_RE.sub("[身份证号已隐藏]", text)


def _redact_escaped(match: re.Match) -> str:
    word = match.group(0)
    decoded = unicodedata.normalize("NFKC", unquote_plus(word))
    return _redact_numbers(decoded) if _has_number(decoded) else word


def redact(text: str) -> str:
    text = _redact_numbers(QUERY_PARAM_RE.sub(_hide_query_value, text))
    # A number may also hide behind full-width digits or, in a URL, behind escapes (%31%33…, 138+1234+5678):
    # where decoding shows one, the decoded text is what gets redacted and logged.
    if not text.isascii():
        decoded = unicodedata.normalize("NFKC", text)
        if _has_number(decoded):
            text = _redact_numbers(decoded)
    if "%" in text or "+" in text:
        text = ESCAPED_WORD_RE.sub(_redact_escaped, text)
    return text


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not stop logging
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
