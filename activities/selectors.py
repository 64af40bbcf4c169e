"""Coverage: the one query layer for participation figures (R3.6, R4.4) that pages, the cockpit and
later modules share. Every figure is an SQL aggregate over indexed tables with a fixed number of
queries, whatever the size of the unit. Figures are counts, never names; a caller may ask for a unit
only where the user may manage activities there (activities.perms.MANAGE: require_coverage_scope).

A family is counted through each child: the family of a student "took part" in a period when any
participation row (an activity check-in of the child or of one of its guardians, or a home check-in
post for the child) falls in the period. Coverage of a class = such students ÷ its active students.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.http import Http404
from django.utils import timezone

from activities import services
from activities.models import (
    Activity,
    ActivitySession,
    ActivityStatus,
    Audience,
    CheckIn,
    SignUpPerson,
    SignUpStatus,
)
from activities.perms import MANAGE
from activities.sources import CAMPAIGN_SOURCE
from core.perms import can
from core.scoping import fetch_for
from ledger import registry as ledger_registry
from ledger import rollup as period_rollup
from ledger import services as ledger
from ledger.models import DEFAULT_HOURS_TARGET, FamilyPeriod, Participation
from org.models import Kind, OrgUnit
from people.models import Student
from periods.models import Period, PeriodKind


@dataclass
class Window:
    start: dt.date
    end: dt.date
    name: str = ""
    period_id: int | None = None


def semester_window(*, district_id: int, period_id: int | None = None, on: dt.date | None = None) -> Window:
    """The chosen period, else the district's current semester, else the calendar half-year containing today."""
    qs = Period.objects.filter(district_id=district_id)
    period = qs.filter(pk=period_id).first() if period_id else None
    if period is None:
        period = qs.current(district=district_id, kind=PeriodKind.SEMESTER, on=on)
    if period is not None:
        return Window(period.start, period.end, period.label, period.pk)
    day = on or timezone.localdate()
    if day.month >= 9:
        return Window(dt.date(day.year, 9, 1), dt.date(day.year + 1, 1, 31))
    if day.month == 1:
        return Window(dt.date(day.year - 1, 9, 1), dt.date(day.year, 1, 31))
    return Window(dt.date(day.year, 2, 1), dt.date(day.year, 8, 31))


def require_coverage_scope(user, unit: OrgUnit) -> None:
    if not can(user, MANAGE, unit):
        raise PermissionDenied


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


@dataclass
class CoverageRow:
    unit_id: int
    name: str
    kind: str
    path: str
    students: int = 0
    took_part: int = 0
    children: list = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return _rate(self.took_part, self.students)


def class_coverage(*, unit: OrgUnit, window: Window, source: str | None = None) -> list[CoverageRow]:
    """Per class under unit: active students, and those whose family took part in the window. 4 queries
    for a calendar period (roll-up check, students, families who took part, classes), 3 for any other window.

    Two aggregates rather than one with FILTER: "took part" as a WHERE EXISTS is planned as a semi-join,
    which stays fast (and spills to disk gracefully) however many rows match, and is costed honestly,
    so PostgreSQL does not switch on JIT compilation for it."""
    if window.period_id:
        # A calendar period: read the roll-up (at most one row per family and source), not every participation.
        period_rollup.ensure(window.period_id)
        part = FamilyPeriod.objects.filter(period_id=window.period_id, student_id=OuterRef("pk"))
    else:
        part = Participation.objects.filter(student_id=OuterRef("pk"), day__gte=window.start, day__lte=window.end)
    if source:
        part = part.filter(source=source)
    students = Student.objects.system(reason="coverage under a unit the caller may see").under(unit).filter(is_active=True)
    totals = dict(students.values("school_class_id").annotate(n=Count("id")).order_by().values_list("school_class_id", "n"))
    took = dict(
        students.filter(Exists(part)).values("school_class_id").annotate(n=Count("id")).order_by().values_list("school_class_id", "n")
    )
    classes = OrgUnit.objects.system(reason="coverage under a unit the caller may see").filter(path__startswith=unit.path, kind=Kind.CLASS, is_active=True).values("id", "name", "kind", "path")
    rows = [CoverageRow(c["id"], c["name"], c["kind"], c["path"], totals.get(c["id"], 0), took.get(c["id"], 0)) for c in classes]
    rows.sort(key=lambda r: r.path)
    return rows


def rollup(*, unit: OrgUnit, rows: list[CoverageRow], kind: str) -> list[CoverageRow]:
    """Sum class rows into the units of `kind` (school, grade, street) under unit. 1 query."""
    parents = OrgUnit.objects.system(reason="coverage under a unit the caller may see").filter(path__startswith=unit.path, kind=kind).values("id", "name", "kind", "path").order_by("path")
    out = [CoverageRow(p["id"], p["name"], p["kind"], p["path"]) for p in parents]
    # Paths nest, so each class belongs to the one parent whose path prefixes its own.
    by_path = {r.path: r for r in out}
    for row in rows:
        parts = row.path.strip("/").split("/")
        for i in range(len(parts), 0, -1):
            parent = by_path.get("/" + "/".join(parts[:i]) + "/")
            if parent is not None:
                parent.students += row.students
                parent.took_part += row.took_part
                parent.children.append(row)
                break
    return out


def total(rows: list[CoverageRow]) -> tuple[int, int, float | None]:
    s = sum(r.students for r in rows)
    t = sum(r.took_part for r in rows)
    return s, t, _rate(t, s)


@dataclass
class HoursRow:
    school_id: int
    name: str
    delivered: Decimal
    target: Decimal
    sessions: int

    @property
    def reached(self) -> bool:
        return self.delivered >= self.target

    @property
    def percent(self) -> float:
        return min(100.0, float(100 * self.delivered / self.target)) if self.target else 100.0


def training_hours_by_school(*, unit: OrgUnit, window: Window, now: dt.datetime | None = None) -> list[HoursRow]:
    """Parent-training hours each school delivered in the window (sessions held of its activities and
    offline/live lessons that credit guardian hours) against its per-semester target. 3 queries."""
    now = now or timezone.now()
    if unit.kind in (Kind.GRADE, Kind.CLASS):
        unit = OrgUnit.objects.system(reason="the school of a unit the caller may see").get(id__in=unit.ancestor_ids, kind=Kind.SCHOOL)
    schools = list(OrgUnit.objects.system(reason="hours under a unit the caller may see").filter(path__startswith=unit.path, kind=Kind.SCHOOL, is_active=True).values("id", "name", "path"))
    start = timezone.make_aware(dt.datetime.combine(window.start, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(window.end, dt.time.max))
    held = (
        ActivitySession.objects.system(reason="hours under a unit the caller may see").filter(
            activity__owner_unit__path__startswith=unit.path, activity__status=ActivityStatus.PUBLISHED, activity__credited_hours__gt=0,
            starts_at__gte=start, starts_at__lte=end, ends_at__lte=now,
        )
        .exclude(activity__audience=Audience.STUDENTS)
        .values("activity__owner_unit__path")
        .annotate(hours=Sum("activity__credited_hours"), n=Count("id"))
        .order_by()
    )
    targets = ledger.school_hours_targets_under(unit.path)
    rows = {s["id"]: HoursRow(s["id"], s["name"], Decimal("0"), targets.get(s["id"], DEFAULT_HOURS_TARGET), 0) for s in schools}
    school_by_path = {s["path"]: s["id"] for s in schools}
    for h in held:
        path = h["activity__owner_unit__path"]
        school_id = next((sid for p, sid in school_by_path.items() if path.startswith(p)), None)
        if school_id is not None:
            rows[school_id].delivered += h["hours"] or 0
            rows[school_id].sessions += h["n"]
    return sorted(rows.values(), key=lambda r: r.name)


@dataclass
class AttendanceFigures:
    signed_up: int
    attended: int

    @property
    def rate(self) -> float | None:
        return _rate(self.attended, self.signed_up)


def signup_attendance(*, unit: OrgUnit, window: Window) -> AttendanceFigures:
    """Of the people with a confirmed place in sessions of activities run under unit in the window,
    how many were checked in. 1 query."""
    start = timezone.make_aware(dt.datetime.combine(window.start, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(window.end, dt.time.max))
    came = CheckIn.objects.filter(session_id=OuterRef("session_id")).filter(
        Q(guardian_id=OuterRef("guardian_id"), guardian_id__isnull=False) | Q(student_id=OuterRef("student_id"), student_id__isnull=False)
    )
    agg = (
        SignUpPerson.objects.system(reason="the figures of an activity the caller may see").filter(
            active=True, signup__status=SignUpStatus.CONFIRMED, session__activity__owner_unit__path__startswith=unit.path,
            session__starts_at__gte=start, session__starts_at__lte=end,
        )
        .annotate(came=Exists(came))
        .aggregate(signed=Count("id"), attended=Count("id", filter=Q(came=True)))
    )
    return AttendanceFigures(agg["signed"] or 0, agg["attended"] or 0)


def activity_summary(*, activity) -> list[dict]:
    """Per session of one activity: places, confirmed and waitlisted people, check-ins (of whom signed up). 2 queries."""
    sessions = list(activity.sessions.all())
    people = (
        SignUpPerson.objects.system(reason="the figures of an activity the caller may see").filter(session__activity=activity, active=True)
        .values("session_id", "signup__status")
        .annotate(n=Count("id"))
        .order_by()
    )
    checked = CheckIn.objects.system(reason="the figures of an activity the caller may see").filter(activity=activity).values("session_id").annotate(
        n=Count("id"),
        signed=Count("id", filter=Q(
            Exists(SignUpPerson.objects.filter(session_id=OuterRef("session_id"), active=True, signup__status=SignUpStatus.CONFIRMED).filter(
                Q(guardian_id=OuterRef("guardian_id"), guardian_id__isnull=False) | Q(student_id=OuterRef("student_id"), student_id__isnull=False)
            ))
        )),
    ).order_by()
    by_session = {s.pk: {"session": s, "confirmed": 0, "waitlisted": 0, "checked_in": 0, "checked_in_signed": 0} for s in sessions}
    for p in people:
        key = "confirmed" if p["signup__status"] == SignUpStatus.CONFIRMED else "waitlisted"
        by_session[p["session_id"]][key] += p["n"]
    for c in checked:
        by_session[c["session_id"]]["checked_in"] = c["n"]
        by_session[c["session_id"]]["checked_in_signed"] = c["signed"]
    out = list(by_session.values())
    for row in out:
        row["rate"] = _rate(row["checked_in_signed"], row["confirmed"])
    return out


def campaign_class_participation(*, campaign, unit: OrgUnit) -> list[CoverageRow]:
    """Per class under unit (within the campaign's audience): students, and those with ≥ 1 post. 2 queries."""
    part = Participation.objects.filter(student_id=OuterRef("pk"), source_key=ledger_registry.key(CAMPAIGN_SOURCE, campaign.pk))
    counts = (
        Student.objects.system(reason="a campaign's figures under a unit the caller may see").under(*campaign.audience_units.all()).under(unit).filter(is_active=True)
        .annotate(took=Exists(part))
        .values("school_class_id", "school_class__name", "school_class__path")
        .annotate(students=Count("id"), took_part=Count("id", filter=Q(took=True)))
        .order_by("school_class__path")
    )
    return [
        CoverageRow(r["school_class_id"], r["school_class__name"], Kind.CLASS, r["school_class__path"], r["students"], r["took_part"])
        for r in counts
    ]


def get_activity_for(user, activity_id, *, for_write: bool = False) -> Activity:
    """The activity pages' one way to an activity the user sees; with for_write, one the user organises
    (activities.manage on its owner or a co-organiser, services.can_manage), else 404."""
    activity = fetch_for(user, Activity, activity_id)
    if for_write and not services.can_manage(user, activity):
        raise Http404
    return activity


def get_session_for(user, session_id, *, for_write: bool = False) -> ActivitySession:
    """The session pages' and the API's one way to a session the user sees; with for_write, one of an
    activity the user organises, else 404."""
    session = fetch_for(user, ActivitySession.objects.select_related("activity__owner_unit"), session_id)
    if for_write and not services.can_manage(user, session.activity):
        raise Http404
    return session
