"""The learning-hours ledger. Every module that credits a guardian's learning (activity check-ins,
lesson attendance, watched recordings) calls hours_credit(); the unique (guardian, source_key) makes a
repeat a no-op, and certificates follow from the ledger, never from a module's own counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial

from django.core.cache import cache
from django.db import transaction
from django.db.models import DecimalField, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from courses.models import DEFAULT_HOURS_TARGET, Certificate, LearningHours, SchoolSetting
from periods.models import Period, PeriodKind


def hours_credit(
    *, guardian_ids, source_key: str, kind: str, hours: Decimal, earned_on: dt.date, title: str, school_id: int | None, district_id: int
) -> None:
    """Credit each guardian once for source_key (idempotent, safe under concurrent calls)."""
    guardian_ids = sorted(set(guardian_ids))
    if not guardian_ids or hours <= 0:
        return
    rows = [
        LearningHours(
            district_id=district_id, guardian_id=g, source_key=source_key, kind=kind, hours=hours, earned_on=earned_on,
            title=title[:160], school_id=school_id,
        )
        for g in guardian_ids
    ]
    LearningHours.objects.bulk_create(rows, ignore_conflicts=True)
    # The certificate check sums the guardian's semester: the worker does it once this commits, so that a
    # check-in (500 families in a few seconds) does not wait for it; certificates_sweep catches any missed.
    transaction.on_commit(partial(_queue_certificates, guardian_ids, earned_on, district_id))


def _queue_certificates(guardian_ids: list[int], day: dt.date, district_id: int) -> None:
    from courses.tasks import issue_certificates

    issue_certificates(guardian_ids, day.isoformat(), district_id)


def semester_for(*, district_id: int, day: dt.date) -> Period | None:
    # Semesters are set once a year: a found one is kept for a few minutes (each check-in asks).
    key = f"gy:semester:{district_id}:{day.isoformat()}"
    period = cache.get(key)
    if period is None:
        period = Period.objects.filter(district_id=district_id, kind=PeriodKind.SEMESTER, start__lte=day, end__gte=day).first()
        if period is not None:
            cache.set(key, period, 300)
    return period


def thresholds_for(guardian_ids) -> dict[int, Decimal]:
    """Each guardian's certificate threshold: the lowest target among their children's schools (default 8)."""
    from people.models import Guardianship

    rows = (
        Guardianship.objects.system(reason="certificate thresholds of the credited guardians").filter(guardian_id__in=guardian_ids, student__is_active=True)
        .values("guardian_id")
        .annotate(target=Min("student__school__parent_school_setting__hours_target"))
    )
    found = {r["guardian_id"]: r["target"] for r in rows}
    return {g: (found.get(g) or DEFAULT_HOURS_TARGET) for g in guardian_ids}


def certificates_issue_due(*, guardian_ids, day: dt.date, district_id: int) -> list[Certificate]:
    """Issue the semester certificate to those whose ledger total reached their threshold (1–2 queries,
    the semester being cached)."""
    period = semester_for(district_id=district_id, day=day)
    if period is None:
        return []
    from people.models import Guardianship

    # Each guardian's total and threshold in one query: the threshold is the lowest target among their
    # children's schools (a school without a setting counts as the default).
    target = (
        Guardianship.objects.filter(guardian_id=OuterRef("guardian_id"), student__is_active=True)
        .values("guardian_id")
        .annotate(t=Min(Coalesce("student__school__parent_school_setting__hours_target", Value(DEFAULT_HOURS_TARGET),
                                 output_field=DecimalField(max_digits=4, decimal_places=1))))
        .values("t")[:1]
    )
    rows = list(
        LearningHours.objects.filter(guardian_id__in=guardian_ids, earned_on__gte=period.start, earned_on__lte=period.end)
        .values("guardian_id")
        .annotate(total=Sum("hours"), target=Subquery(target))
        .values_list("guardian_id", "total", "target")
    )
    totals = {g: t for g, t, _x in rows}
    thresholds = {g: (x if x is not None else DEFAULT_HOURS_TARGET) for g, _t, x in rows}
    due = [
        Certificate(
            district_id=district_id, guardian_id=g, period=period, hours=totals[g], threshold=thresholds[g],
            serial=f"GY{period.start:%Y%m}-{period.pk}-{g}",
        )
        for g in thresholds
        if totals[g] >= thresholds[g]
    ]
    if due:
        Certificate.objects.bulk_create(due, ignore_conflicts=True)
    return due


def certificates_sweep(day: dt.date | None = None, chunk: int = 1000) -> int:
    """Issue every certificate due in the semesters running on day (default today); returns how many."""
    from django.utils import timezone

    day = day or timezone.localdate()
    issued = 0
    for period in Period.objects.filter(kind=PeriodKind.SEMESTER, start__lte=day, end__gte=day):
        waiting = list(
            LearningHours.objects.filter(district_id=period.district_id, earned_on__gte=period.start, earned_on__lte=period.end)
            .exclude(guardian_id__in=Certificate.objects.filter(period=period).values("guardian_id"))
            .order_by("guardian_id").values_list("guardian_id", flat=True).distinct()
        )
        for i in range(0, len(waiting), chunk):
            issued += len(certificates_issue_due(guardian_ids=waiting[i : i + chunk], day=day, district_id=period.district_id))
    return issued


def guardian_semester_hours(*, guardian_id: int, period: Period) -> Decimal:
    total = LearningHours.objects.filter(guardian_id=guardian_id, earned_on__gte=period.start, earned_on__lte=period.end).aggregate(
        t=Sum("hours")
    )["t"]
    return total or Decimal("0")


def school_hours_target(school_id: int) -> Decimal:
    setting = SchoolSetting.objects.filter(school_id=school_id).values_list("hours_target", flat=True).first()
    return setting or DEFAULT_HOURS_TARGET
