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
    if district.kind != "district" or district.district_id != district.pk:
        raise ValueError("periods belong to a district")
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
        month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    # Calendar quarters overlapping the school year: July–September of both calendar years straddle a
    # year boundary, so they have no parent and are shared with the neighbouring school year.
    for year_no, first_month in [(start_year, 7), (start_year, 10), (start_year + 1, 1), (start_year + 1, 4), (start_year + 1, 7)]:
        q = (first_month - 1) // 3 + 1
        Period.objects.get_or_create(
            district=district,
            kind=PeriodKind.QUARTER,
            start=dt.date(year_no, first_month, 1),
            defaults={"name": f"{year_no}年第{CN_MONTHS[q - 1]}季度", "end": _month_end(year_no, first_month + 2)},
        )
    return year


def school_year_start_for(day: dt.date) -> int:
    return day.year if day.month >= 9 else day.year - 1
