"""Generating a district's calendar: school year → two semesters; calendar quarters and months."""

import calendar
import datetime as dt

from django.db import transaction

from periods.models import Period, PeriodKind

CN_MONTHS = "一二三四五六七八九十"


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


@transaction.atomic
def school_year_ensure(*, district, start_year: int) -> Period:
    """Create (or return) the school year that starts on 1 September of start_year, with its parts.

    第一学期 runs 1 Sep – 31 Jan, 第二学期 1 Feb – 31 Aug (holidays included, so that every day of
    the year belongs to exactly one semester and KPIs never fall between periods).
    """
    year, _ = Period.objects.get_or_create(
        district=district,
        kind=PeriodKind.SCHOOL_YEAR,
        start=dt.date(start_year, 9, 1),
        defaults={"name": f"{start_year}—{start_year + 1}学年", "end": dt.date(start_year + 1, 8, 31)},
    )
    semesters = [
        ("第一学期", dt.date(start_year, 9, 1), dt.date(start_year + 1, 1, 31)),
        ("第二学期", dt.date(start_year + 1, 2, 1), dt.date(start_year + 1, 8, 31)),
    ]
    for label, start, end in semesters:
        Period.objects.get_or_create(
            district=district,
            kind=PeriodKind.SEMESTER,
            start=start,
            defaults={"name": f"{start_year}—{start_year + 1}学年{label}", "end": end, "parent": year},
        )
    month = dt.date(start_year, 9, 1)
    while month <= year.end:
        Period.objects.get_or_create(
            district=district,
            kind=PeriodKind.MONTH,
            start=month,
            defaults={"name": f"{month.year}年{month.month}月", "end": _month_end(month.year, month.month), "parent": year},
        )
        if month.month in (1, 4, 7, 10):
            q = (month.month - 1) // 3 + 1
            Period.objects.get_or_create(
                district=district,
                kind=PeriodKind.QUARTER,
                start=month,
                defaults={"name": f"{month.year}年第{CN_MONTHS[q - 1]}季度", "end": _month_end(month.year, month.month + 2)},
            )
        month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    # The quarter that began in July belongs to both school years; make sure September's quarter exists.
    Period.objects.get_or_create(
        district=district, kind=PeriodKind.QUARTER, start=dt.date(start_year, 7, 1),
        defaults={"name": f"{start_year}年第三季度", "end": dt.date(start_year, 9, 30)},
    )
    return year


def school_year_start_for(day: dt.date) -> int:
    return day.year if day.month >= 9 else day.year - 1
