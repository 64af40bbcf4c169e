"""The coverage roll-up: one FamilyPeriod row per (period, family, source), kept next to Participation.

credit() adds the rows of every participation it writes; readers call ensure() once per period before
counting, which back-fills a period created after its participation rows."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from ledger import sql
from ledger.models import FamilyPeriod, Participation, PeriodRollup
from periods.models import Period

_BOOKS = "the coverage roll-up of ids its caller scoped"


def periods_containing(district_id: int, day: dt.date) -> list[int]:
    key = f"gy:periods:{district_id}:{day.isoformat()}"
    ids = cache.get(key)
    if ids is None:
        ids = list(Period.objects.system(reason="the district's calendar for a roll-up").filter(district_id=district_id, start__lte=day, end__gte=day).values_list("id", flat=True))
        if ids:  # an empty answer is not kept: a district may add its calendar at any time
            cache.set(key, ids, 300)
    return ids


def families_took_part(*, district_id: int, day: dt.date, student_ids, source: str) -> None:
    periods = periods_containing(district_id, day)
    rows = [FamilyPeriod(period_id=p, student_id=s, source=source, district_id=district_id) for p in periods for s in set(student_ids)]
    if rows:
        FamilyPeriod.objects.system(reason=_BOOKS).bulk_create(rows, ignore_conflicts=True)


def families_withdrawn(*, district_id: int, day: dt.date, student_ids, source: str) -> None:
    """After a revoke: drop the roll-up rows of students with no other participation left in the period."""
    for period in Period.objects.system(reason=_BOOKS).filter(id__in=periods_containing(district_id, day)):
        still = Participation.objects.system(reason=_BOOKS).filter(
            student_id__in=student_ids, source=source, district_id=district_id, day__gte=period.start, day__lte=period.end
        ).values_list("student_id", flat=True)
        FamilyPeriod.objects.system(reason=_BOOKS).filter(period=period, source=source, student_id__in=student_ids).exclude(student_id__in=still).delete()


def ensure(period_id: int) -> None:
    """Back-fill the roll-up of a period from Participation, once: 1 query when already done, 3 the first
    time. Both statements are idempotent, so a crash between them only means the next call repeats them."""
    if PeriodRollup.objects.filter(period_id=period_id).exists():
        return
    fam = FamilyPeriod._meta.db_table
    with connection.cursor() as cur:
        cur.execute(sql.FAMILY_PERIOD_BACKFILL, [period_id])
        if connection.vendor == "postgresql" and cur.rowcount > 10_000:
            # Many rows at once: give the planner fresh statistics now rather than after autovacuum.
            cur.execute(sql.analyze(fam))
        cur.execute(sql.PERIOD_ROLLUP_MARK, [period_id, timezone.now()])
