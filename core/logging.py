"""A logging filter that removes ID numbers and mobile numbers from every log record."""

import logging
import re

# 18-digit resident ID (last may be X) and 11-digit mainland mobile numbers, not inside longer digit runs.
ID_NUMBER_RE = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
PHONE_RE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9]{9}(?![0-9])")
# For redaction only: also numbers written with separators (138 1234 5678, 138-1234-5678) and the
# old 15-digit ID numbers. Over-matching a harmless number in a log line is the safe mistake.
LOOSE_PHONE_RE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9])")
OLD_ID_NUMBER_RE = re.compile(r"(?<![0-9])[1-9][0-9]{14}(?![0-9])")


def redact(text: str) -> str:
    text = ID_NUMBER_RE.sub("[身份证号已隐藏]", text)
    text = LOOSE_PHONE_RE.sub("[手机号已隐藏]", text)
    return OLD_ID_NUMBER_RE.sub("[身份证号已隐藏]", text)


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
