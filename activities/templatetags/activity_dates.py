"""Dates and times of sessions in the reader's language, through Django's localized formats:
12月18日 14:00 in Chinese, December 18 2 p.m. in English (never a Chinese pattern written into a page)."""

from django import template
from django.utils import formats, timezone

register = template.Library()


@register.filter
def when(value, arg: str = ""):
    """Day and time of a datetime; `|when:"weekday"` adds the weekday, `|when:"date"` drops the time."""
    if not value:
        return ""
    local = timezone.localtime(value)
    parts = [formats.date_format(local, "MONTH_DAY_FORMAT")]
    if arg == "weekday":
        parts.append(formats.date_format(local, "D"))
    if arg != "date":
        parts.append(formats.time_format(local, "TIME_FORMAT"))
    return " ".join(parts)


@register.filter
def clock(value):
    """The time of day only (the end of a session on the same day)."""
    return formats.time_format(timezone.localtime(value), "TIME_FORMAT") if value else ""
