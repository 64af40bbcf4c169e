"""Reads of the homeschool module: reply-time figures, visit coverage and the family's guide feed,
each a fixed number of SQL aggregates whatever the size of the school or district."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Exists, OuterRef, Q
from django.utils import timezone

from core.perms import holds_any_perm, perm_paths
from core.scoping import fetch_for, get_scope, prefix_q
from homeschool.models import (
    OVERSEE,
    TEACH,
    Consultation,
    ConsultStatus,
    GuideRead,
    HomeVisit,
    MicroGuide,
    Target,
    VisitStatus,
    stage_for_grade_year,
)
from homeschool.services import current_semester, school_hours_before
from notices import conf
from org.models import Kind, OrgUnit
from people.models import Student

# --- consultations -------------------------------------------------------------------------------------------


@dataclass
class ReplyRow:
    unit: OrgUnit | None
    total: int = 0
    answered: int = 0
    on_time: int = 0
    overdue: int = 0
    avg_hours: float | None = None

    @property
    def on_time_pct(self) -> int:
        return round(100 * self.on_time / self.answered) if self.answered else 0


def reply_times(user, *, since: dt.date, now: dt.datetime | None = None) -> dict:
    """First-reply times per class (teacher target) and for the expert pool, against the target."""
    now = now or timezone.now()
    target = conf.consult_target_hours()
    cutoff = school_hours_before(now, target)
    qs = Consultation.objects.overseen_by(user).filter(created_at__date__gte=since)
    figures = dict(
        total=Count("id"),
        answered=Count("first_reply_at"),
        on_time=Count("id", filter=Q(first_reply_hours__lte=target)),
        overdue=Count("id", filter=Q(first_reply_at__isnull=True, created_at__lt=cutoff) & ~Q(status=ConsultStatus.CLOSED)),
        avg_hours=Avg("first_reply_hours"),
    )
    rows = {r["school_class_id"]: r for r in qs.filter(target=Target.TEACHER).values("school_class_id").annotate(**figures)}
    units = {u.id: u for u in OrgUnit.objects.system(reason="the classes of the figures the caller may see").filter(id__in=list(rows)).select_related("parent__parent")}
    classes = []
    for cid, r in rows.items():
        classes.append(ReplyRow(units.get(cid), r["total"], r["answered"], r["on_time"], r["overdue"], r["avg_hours"]))
    classes.sort(key=lambda r: (r.unit.parent.parent.name if r.unit and r.unit.parent_id else "", r.unit.path if r.unit else ""))
    pool = qs.filter(target=Target.EXPERT).aggregate(**figures)
    totals = qs.aggregate(**figures)
    return {
        "classes": classes,
        "experts": ReplyRow(None, **pool),
        "totals": ReplyRow(None, **totals),
        "target_hours": target,
    }


# --- home visits ---------------------------------------------------------------------------------------------


@dataclass
class CoverageRow:
    unit: OrgUnit
    students: int = 0
    visited: int = 0
    planned: int = 0

    @property
    def pct(self) -> int:
        return round(100 * self.visited / self.students) if self.students else 0


@dataclass
class Coverage:
    start: dt.date
    end: dt.date
    name: str
    classes: list[CoverageRow] = field(default_factory=list)

    @property
    def students(self) -> int:
        return sum(r.students for r in self.classes)

    @property
    def visited(self) -> int:
        return sum(r.visited for r in self.classes)

    @property
    def pct(self) -> int:
        return round(100 * self.visited / self.students) if self.students else 0


def visit_classes(user):
    """Classes whose visits the user plans (class teacher) or follows (school and district admins)."""
    scope = get_scope(user)
    qs = OrgUnit.objects.visible_to(user).filter(kind=Kind.CLASS, is_active=True)
    if scope.superuser:
        return qs
    q = prefix_q("path", perm_paths(scope, TEACH, OVERSEE))
    return qs.filter(q) if q is not None else qs.none()


def visit_coverage(user, *, school_id: int | None = None, on: dt.date | None = None) -> Coverage | None:
    """Per class: students, students visited this semester (at least one visit done), visits planned."""
    classes_qs = visit_classes(user)
    if school_id:
        classes_qs = classes_qs.filter(path__contains=f"/{int(school_id)}/")
    classes = list(classes_qs.select_related("parent__parent").order_by("path"))
    if not classes:
        return None
    start, end, name = current_semester(classes[0].district_id, on=on)
    ids = [c.id for c in classes]
    students = dict(
        Student.objects.system(reason="visit coverage of the caller's classes").filter(school_class_id__in=ids, is_active=True).values("school_class_id").annotate(n=Count("id")).values_list("school_class_id", "n")
    )
    visits = {
        r["school_class_id"]: r
        for r in HomeVisit.objects.system(reason="visit coverage of the caller's classes").filter(school_class_id__in=ids, student__is_active=True)
        .values("school_class_id")
        .annotate(
            visited=Count("student", distinct=True, filter=Q(status=VisitStatus.DONE, visited_on__gte=start, visited_on__lte=end)),
            planned=Count("id", filter=Q(status=VisitStatus.PLANNED, planned_for__gte=start, planned_for__lte=end)),
        )
    }
    rows = [CoverageRow(c, students.get(c.id, 0), visits.get(c.id, {}).get("visited", 0), visits.get(c.id, {}).get("planned", 0)) for c in classes]
    return Coverage(start, end, name, rows)


def class_visits(user, school_class: OrgUnit, *, on: dt.date | None = None) -> dict:
    """Every student of a class with this semester's visits: who is covered, who is planned, who is left."""
    start, end, name = current_semester(school_class.district_id, on=on)
    students = list(Student.objects.visible_to(user).filter(school_class=school_class, is_active=True).only("id", "name").order_by("name"))
    visits: dict[int, list[HomeVisit]] = {}
    for v in HomeVisit.objects.visible_to(user).filter(school_class=school_class).filter(
        Q(planned_for__gte=start, planned_for__lte=end) | Q(visited_on__gte=start, visited_on__lte=end)
    ).order_by("planned_for"):
        visits.setdefault(v.student_id, []).append(v)
    rows = []
    for s in students:
        mine = visits.get(s.id, [])
        rows.append({"student": s, "visits": mine, "done": any(v.status == VisitStatus.DONE for v in mine)})
    rows.sort(key=lambda r: (r["done"], r["student"].name))
    return {"rows": rows, "start": start, "end": end, "semester": name, "done": sum(1 for r in rows if r["done"])}


# --- micro-guides --------------------------------------------------------------------------------------------


def family_stages(user) -> set[str]:
    scope = get_scope(user)
    if not scope.guardian_id:
        return set()
    years = Student.objects.visible_to(user).filter(guardianships__guardian_id=scope.guardian_id, is_active=True).values_list(
        "school_class__parent__grade_year", flat=True
    )
    return {stage_for_grade_year(y) for y in years} - {""}


def guides_for(user, *, stage: str = "", topic: str = ""):
    """The guide feed: for families, published guides of their children's units and stages; for staff, what they see."""
    scope = get_scope(user)
    qs = MicroGuide.objects.visible_to(user).filter(is_published=True).select_related("author_unit")
    if scope.guardian_id:
        stages = family_stages(user)
        if not holds_any_perm(scope):
            qs = qs.filter(Q(stage="") | Q(stage__in=stages))
        qs = qs.annotate(is_read=Exists(GuideRead.objects.filter(guide=OuterRef("pk"), guardian_id=scope.guardian_id)))
    if stage:
        qs = qs.filter(Q(stage=stage) | Q(stage=""))
    if topic:
        qs = qs.filter(topic=topic)
    return qs.order_by("-published_at", "-id")


def guide_figures(guide_ids) -> dict[int, dict]:
    """Reads and ratings per guide, one aggregate."""
    rows = GuideRead.objects.system(reason="counts of reads and ratings of guides the caller lists").filter(guide_id__in=list(guide_ids)).values("guide_id").annotate(
        reads=Count("id"), ratings=Count("rating"), avg=Avg("rating")
    )
    return {r["guide_id"]: r for r in rows}


def get_consultation_for(user, consultation_id) -> Consultation:
    """The consultation page's and the API's one way to a consultation the user sees (its family, its
    class's teachers, those who oversee, the expert asked), else 404. Who may write what on it — the
    family's follow-up or the teacher's reply — is the service's decision (services.is_family_side)."""
    return fetch_for(user, Consultation.objects.select_related("student", "school_class__parent__parent", "guardian"), consultation_id)


def get_guide_for(user, guide_id) -> MicroGuide:
    """The guide page's and the API's one way to a micro-guide the user sees, else 404."""
    return fetch_for(user, MicroGuide.objects.select_related("author_unit"), guide_id)
