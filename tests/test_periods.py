"""Periods: the school calendar every target and KPI is computed for."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from periods.models import Period, PeriodKind
from periods.services import school_year_ensure, school_year_start_for

D = dt.date


def _kinds(district):
    return {k: list(Period.objects.filter(district=district, kind=k).order_by("start")) for k in PeriodKind.values}


def test_school_year_has_two_semesters_twelve_months_and_the_overlapping_quarters(world):
    year = school_year_ensure(district=world.district, start_year=2025)
    got = _kinds(world.district)

    assert (year.name, year.start, year.end) == ("2025—2026学年", D(2025, 9, 1), D(2026, 8, 31))
    assert got[PeriodKind.SCHOOL_YEAR] == [year]
    assert [(p.name, p.start, p.end, p.parent_id) for p in got[PeriodKind.SEMESTER]] == [
        ("2025—2026学年第一学期", D(2025, 9, 1), D(2026, 1, 31), year.pk),
        ("2025—2026学年第二学期", D(2026, 2, 1), D(2026, 8, 31), year.pk),
    ]
    months = got[PeriodKind.MONTH]
    assert [(m.start.year, m.start.month) for m in months] == [(2025, m) for m in range(9, 13)] + [(2026, m) for m in range(1, 9)]
    assert all(m.end == (m.start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1) for m in months)
    assert months[5].end == D(2026, 2, 28) and months[5].name == "2026年2月"
    assert {m.parent_id for m in months} == {year.pk}
    # Months tile the school year: no gap, no overlap.
    assert all(a.end + dt.timedelta(days=1) == b.start for a, b in zip(months, months[1:], strict=False))
    assert [(q.name, q.start, q.end) for q in got[PeriodKind.QUARTER]] == [
        ("2025年第三季度", D(2025, 7, 1), D(2025, 9, 30)),
        ("2025年第四季度", D(2025, 10, 1), D(2025, 12, 31)),
        ("2026年第一季度", D(2026, 1, 1), D(2026, 3, 31)),
        ("2026年第二季度", D(2026, 4, 1), D(2026, 6, 30)),
        ("2026年第三季度", D(2026, 7, 1), D(2026, 9, 30)),
    ]


def test_school_year_ensure_is_idempotent_and_neighbouring_years_share_quarters(world, django_assert_max_num_queries):
    school_year_ensure(district=world.district, start_year=2025)
    before = sorted(Period.objects.filter(district=world.district).values_list("kind", "start", "end", "name"))
    again = school_year_ensure(district=world.district, start_year=2025)
    after = sorted(Period.objects.filter(district=world.district).values_list("kind", "start", "end", "name"))
    assert after == before and len(before) == 1 + 2 + 12 + 5
    assert again.kind == PeriodKind.SCHOOL_YEAR

    school_year_ensure(district=world.district, start_year=2026)
    quarters = Period.objects.filter(district=world.district, kind=PeriodKind.QUARTER)
    # July–September 2026 belongs to both school years and exists once.
    assert quarters.filter(start=D(2026, 7, 1)).count() == 1
    assert quarters.count() == 9
    # Each day of both years is in exactly one semester and one month.
    day = D(2025, 9, 1)
    while day <= D(2027, 8, 31):
        for kind in (PeriodKind.SEMESTER, PeriodKind.MONTH, PeriodKind.SCHOOL_YEAR, PeriodKind.QUARTER):
            assert Period.objects.filter(district=world.district, kind=kind).containing(day).count() == 1, (kind, day)
        day += dt.timedelta(days=17)


def test_calendars_are_per_district(world):
    school_year_ensure(district=world.district, start_year=2025)
    assert not Period.objects.filter(district=world.other_district).exists()
    school_year_ensure(district=world.other_district, start_year=2025)
    assert Period.objects.filter(district=world.other_district).count() == 20
    with pytest.raises(ValueError):
        school_year_ensure(district=world.school_a, start_year=2025)


@pytest.mark.parametrize(
    ("day", "semester"),
    [
        (D(2025, 11, 12), "2025—2026学年第一学期"),  # mid-semester
        (D(2025, 9, 1), "2025—2026学年第一学期"),  # first day of the year
        (D(2026, 1, 31), "2025—2026学年第一学期"),  # last day of the first semester (winter holiday)
        (D(2026, 2, 1), "2025—2026学年第二学期"),  # first day of the second
        (D(2026, 2, 10), "2025—2026学年第二学期"),  # Spring Festival holiday
        (D(2026, 7, 25), "2025—2026学年第二学期"),  # summer holiday
        (D(2026, 8, 31), "2025—2026学年第二学期"),  # last day of the year
        (D(2026, 9, 1), "2026—2027学年第一学期"),  # next year's first day
    ],
)
def test_current_semester(world, day, semester):
    school_year_ensure(district=world.district, start_year=2025)
    school_year_ensure(district=world.district, start_year=2026)
    assert Period.objects.current(district=world.district, kind=PeriodKind.SEMESTER, on=day).name == semester


def test_current_month_quarter_and_year(world):
    school_year_ensure(district=world.district, start_year=2025)
    on = D(2026, 4, 30)
    assert Period.objects.current(district=world.district, kind=PeriodKind.MONTH, on=on).name == "2026年4月"
    assert Period.objects.current(district=world.district, kind=PeriodKind.QUARTER, on=on).name == "2026年第二季度"
    assert Period.objects.current(district=world.district, kind=PeriodKind.SCHOOL_YEAR, on=on).name == "2025—2026学年"
    # Another district's calendar is not this one's.
    assert Period.objects.current(district=world.other_district, kind=PeriodKind.MONTH, on=on) is None


def test_current_after_the_last_generated_year_is_the_last_that_ended(world):
    school_year_ensure(district=world.district, start_year=2025)
    late = Period.objects.current(district=world.district, kind=PeriodKind.SEMESTER, on=D(2026, 9, 15))
    assert late.name == "2025—2026学年第二学期"
    assert Period.objects.current(district=world.district, kind=PeriodKind.SEMESTER, on=D(2025, 8, 31)) is None


def test_today_is_the_day_in_shanghai(world, monkeypatch):
    school_year_ensure(district=world.district, start_year=2025)
    # 17:30 UTC on 31 January is 01:30 on 1 February in Shanghai: the second semester has begun.
    instant = dt.datetime(2026, 1, 31, 17, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: instant)
    with timezone.override(ZoneInfo("America/Los_Angeles")):  # a user's active zone does not move the calendar
        current = Period.objects.current(district=world.district, kind=PeriodKind.SEMESTER)
    assert current.name == "2025—2026学年第二学期"


def test_school_year_start_for():
    assert school_year_start_for(D(2025, 9, 1)) == 2025
    assert school_year_start_for(D(2026, 8, 31)) == 2025
    assert school_year_start_for(D(2026, 1, 15)) == 2025


def test_end_before_start_is_refused(world):
    bad = Period(district=world.district, kind=PeriodKind.MONTH, name="错", start=D(2026, 3, 31), end=D(2026, 3, 1))
    with pytest.raises(ValidationError):
        bad.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        bad.save()
    one_day = Period(district=world.district, kind=PeriodKind.MONTH, name="一天", start=D(2026, 3, 1), end=D(2026, 3, 1))
    one_day.full_clean()
    one_day.save()


def test_same_kind_and_start_twice_is_refused(world):
    school_year_ensure(district=world.district, start_year=2025)
    with pytest.raises(IntegrityError), transaction.atomic():
        Period.objects.create(district=world.district, kind=PeriodKind.MONTH, name="重复", start=D(2025, 9, 1), end=D(2025, 9, 30))


def test_periods_are_scoped_to_the_users_districts(world):
    school_year_ensure(district=world.district, start_year=2025)
    school_year_ensure(district=world.other_district, start_year=2025)
    mine = Period.objects.visible_to(world.teacher_a1)
    assert mine.count() == 20 and set(mine.values_list("district_id", flat=True)) == {world.district.pk}
    assert set(Period.objects.visible_to(world.parent_a1).values_list("district_id", flat=True)) == {world.district.pk}
    assert not Period.objects.visible_to(world.outsider).exists()
