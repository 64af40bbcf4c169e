"""Crediting the ledger. A module calls credit() once per thing a family took part in, with the source
key it registered ("activity.session:12"); the unique (source, person) keys make a repeat a no-op, so
credit() is safe to call twice and under concurrent calls. revoke() takes a credit back. Certificates
follow from the ledger's totals, never from a module's own counts."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.db.models import DecimalField, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from jobs import services as jobs
from ledger import rollup
from ledger.models import DEFAULT_HOURS_TARGET, Certificate, LearningHours, Participation, SchoolSetting
from people.models import Guardianship, Student
from periods.models import Period, PeriodKind

# The ledger books what its caller (a module that already scoped the people and the source) credits, and
# sums totals for the certificate rule: reads for no user, by ids (docs/decisions/0013).
_BOOKS = "the ledger's bookkeeping for ids its caller scoped"


def credit(
    *,
    source: str,
    district_id: int,
    day: dt.date,
    title: str = "",
    hours: Decimal | int = 0,
    guardian_ids=(),
    student_ids=(),
    channel: str = "",
    kind: str = "",
    school_id: int | None = None,
) -> list[int]:
    """Credit one participation under `source`: a participation row per active child in student_ids
    (coverage, counted through `channel`), and `hours` to each guardian in guardian_ids (learning hours,
    then the certificate check once this commits). Returns the students credited (new or not)."""
    students = []
    if student_ids:
        if not channel:
            raise ValueError("a participation needs the coverage channel it counts in")
        students = list(
            Student.objects.system(reason=_BOOKS).filter(id__in=set(student_ids), is_active=True).values(
                "id", "district_id", "school_id", "school_class_id", "school_class__path"
            )
        )
    if students:
        Participation.objects.system(reason=_BOOKS).bulk_create(
            [
                Participation(
                    district_id=s["district_id"], student_id=s["id"], school_id=s["school_id"], school_class_id=s["school_class_id"],
                    class_path=s["school_class__path"], day=day, source=channel, source_key=source, kind=kind,
                )
                for s in students
            ],
            ignore_conflicts=True,
        )
        rollup.families_took_part(district_id=district_id, day=day, student_ids=[s["id"] for s in students], source=channel)
    hours = Decimal(hours)
    guardian_ids = sorted(set(guardian_ids))
    if guardian_ids and hours > 0:
        LearningHours.objects.system(reason=_BOOKS).bulk_create(
            [
                LearningHours(district_id=district_id, guardian_id=g, source_key=source, hours=hours, earned_on=day, title=title[:160],
                              school_id=school_id)
                for g in guardian_ids
            ],
            ignore_conflicts=True,
        )
        # The certificate check sums the guardian's semester: the worker does it once this commits, so that a
        # check-in (500 families in a few seconds) does not wait for it; the hourly sweep catches any missed.
        _queue_certificates(guardian_ids, day, district_id)
    return [s["id"] for s in students]


CERTIFICATES = "ledger.certificates"
_CERTIFICATE_BATCH = 80  # guardian ids per job: the payload stays well under the outbox's 1,000 characters


def _queue_certificates(guardian_ids: list[int], day: dt.date, district_id: int) -> None:
    """One outbox row per batch, in the crediting transaction: the check runs once this commits and is
    never lost (the handler is idempotent, so each credit gets its own row rather than a shared key)."""
    for i in range(0, len(guardian_ids), _CERTIFICATE_BATCH):
        batch = guardian_ids[i : i + _CERTIFICATE_BATCH]
        jobs.enqueue(CERTIFICATES, key=f"{CERTIFICATES}:{uuid.uuid4().hex}", district_id=district_id,
                     payload={"guardians": batch, "day": day.isoformat(), "district": district_id})


@transaction.atomic
def revoke(*, source: str, guardian_ids=None, student_ids=None) -> tuple[int, int]:
    """Take back what `source` credited (to the given persons only, if given): (participations, hour rows)
    deleted. A certificate already issued stays: it was earned when it was issued."""
    parts = Participation.objects.system(reason=_BOOKS).filter(source_key=source)
    hours = LearningHours.objects.system(reason=_BOOKS).filter(source_key=source)
    if student_ids is not None or guardian_ids is not None:
        parts = parts.filter(student_id__in=list(student_ids or ()))
        hours = hours.filter(guardian_id__in=list(guardian_ids or ()))
    gone = list(parts.values_list("student_id", "district_id", "day", "source"))
    n_parts = parts.delete()[0] if gone else 0
    n_hours = hours.delete()[0]
    by_day: dict[tuple, list[int]] = {}
    for student_id, district_id, day, channel in gone:
        by_day.setdefault((district_id, day, channel), []).append(student_id)
    for (district_id, day, channel), ids in by_day.items():
        rollup.families_withdrawn(district_id=district_id, day=day, student_ids=ids, source=channel)
    return n_parts, n_hours


# --- Reading hours --------------------------------------------------------------------------------------


def hours_rows(*, user, guardian_id: int, start: dt.date, end: dt.date) -> list[LearningHours]:
    """A guardian's ledger rows in [start, end], as the user may see them (1 query)."""
    return list(
        LearningHours.objects.visible_to(user)
        .filter(guardian_id=guardian_id, earned_on__gte=start, earned_on__lte=end)
        .order_by("-earned_on", "-id")
    )


def hours_total(*, guardian_id: int, start: dt.date, end: dt.date) -> Decimal:
    """A guardian's hours in [start, end], whatever module credited them (1 query)."""
    total = LearningHours.objects.system(reason=_BOOKS).filter(guardian_id=guardian_id, earned_on__gte=start, earned_on__lte=end).aggregate(t=Sum("hours"))["t"]
    return total or Decimal("0")


def guardian_semester_hours(*, guardian_id: int, period: Period) -> Decimal:
    return hours_total(guardian_id=guardian_id, start=period.start, end=period.end)


def took_part(*, sources, student_ids) -> bool:
    """Whether any of these students has a participation row under any of these source keys."""
    return Participation.objects.system(reason=_BOOKS).filter(source_key__in=list(sources), student_id__in=list(student_ids)).exists()


# --- Certificate rules ------------------------------------------------------------------------------------


def school_hours_target(school_id: int) -> Decimal:
    setting = SchoolSetting.objects.filter(school_id=school_id).values_list("hours_target", flat=True).first()
    return setting or DEFAULT_HOURS_TARGET


def school_hours_targets(schools) -> dict[int, Decimal]:
    """The set targets of these schools (a queryset or ids); a school missing has the default."""
    return dict(SchoolSetting.objects.filter(school__in=schools).values_list("school_id", "hours_target"))


def school_hours_targets_under(path: str) -> dict[int, Decimal]:
    return dict(SchoolSetting.objects.filter(school__path__startswith=path).values_list("school_id", "hours_target"))


def school_hours_target_set(*, school_id: int, hours_target: Decimal) -> SchoolSetting:
    setting, _created = SchoolSetting.objects.update_or_create(school_id=school_id, defaults={"hours_target": hours_target})
    return setting


def semester_for(*, district_id: int, day: dt.date) -> Period | None:
    # Semesters are set once a year: a found one is kept for a few minutes (each check-in asks).
    key = f"gy:semester:{district_id}:{day.isoformat()}"
    period = cache.get(key)
    if period is None:
        period = Period.objects.system(reason=_BOOKS).filter(district_id=district_id, kind=PeriodKind.SEMESTER, start__lte=day, end__gte=day).first()
        if period is not None:
            cache.set(key, period, 300)
    return period


def thresholds_for(guardian_ids) -> dict[int, Decimal]:
    """Each guardian's certificate threshold: the lowest target among their children's schools (default 8)."""
    rows = (
        Guardianship.objects.system(reason=_BOOKS).filter(guardian_id__in=guardian_ids, student__is_active=True)
        .values("guardian_id")
        .annotate(target=Min("student__school__parent_school_setting__hours_target"))
    )
    found = {r["guardian_id"]: r["target"] for r in rows}
    return {g: (found.get(g) or DEFAULT_HOURS_TARGET) for g in guardian_ids}


# --- Certificates ----------------------------------------------------------------------------------------


def certificates_issue_due(*, guardian_ids, day: dt.date, district_id: int) -> list[Certificate]:
    """Issue the semester certificate to those whose ledger total reached their threshold (1–2 queries,
    the semester being cached). Idempotent: one certificate per guardian and semester."""
    period = semester_for(district_id=district_id, day=day)
    if period is None:
        return []
    # Each guardian's total and threshold in one query: the threshold is the lowest target among their
    # children's schools (a school without a setting counts as the default).
    target = (
        Guardianship.objects.system(reason=_BOOKS).filter(guardian_id=OuterRef("guardian_id"), student__is_active=True)
        .values("guardian_id")
        .annotate(t=Min(Coalesce("student__school__parent_school_setting__hours_target", Value(DEFAULT_HOURS_TARGET),
                                 output_field=DecimalField(max_digits=4, decimal_places=1))))
        .values("t")[:1]
    )
    rows = list(
        LearningHours.objects.system(reason=_BOOKS).filter(guardian_id__in=guardian_ids, earned_on__gte=period.start, earned_on__lte=period.end)
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
        Certificate.objects.system(reason=_BOOKS).bulk_create(due, ignore_conflicts=True)
    return due


def certificates_sweep(day: dt.date | None = None, chunk: int = 1000) -> int:
    """Issue every certificate due in the semesters running on day (default today); returns how many."""
    day = day or timezone.localdate()
    issued = 0
    for period in Period.objects.system(reason=_BOOKS).filter(kind=PeriodKind.SEMESTER, start__lte=day, end__gte=day):
        waiting = list(
            LearningHours.objects.system(reason=_BOOKS).filter(district_id=period.district_id, earned_on__gte=period.start, earned_on__lte=period.end)
            .exclude(guardian_id__in=Certificate.objects.system(reason=_BOOKS).filter(period=period).values("guardian_id"))
            .order_by("guardian_id").values_list("guardian_id", flat=True).distinct()
        )
        for i in range(0, len(waiting), chunk):
            issued += len(certificates_issue_due(guardian_ids=waiting[i : i + chunk], day=day, district_id=period.district_id))
    return issued


def certificate_for(*, user, guardian_id: int, period_id: int | None) -> Certificate | None:
    if not period_id:
        return None
    return Certificate.objects.visible_to(user).filter(guardian_id=guardian_id, period_id=period_id).first()

