"""Reads for the roster pages, all through the scoping layer."""

from __future__ import annotations

from django.core.paginator import Paginator

from core.perms import can, perm_paths
from core.scoping import get_scope
from org.models import Kind, OrgUnit
from people.perms import VIEW as PEOPLE_VIEW
from roster.models import ImportJob

PROBLEMS_PER_PAGE = 50


def jobs_for(user):
    return ImportJob.objects.visible_to(user).select_related("district", "school")


def problems_page(job: ImportJob, *, sheet: str = "", column: str = "", code: str = "", page=1):
    """One page of a job's problems, filtered by sheet / column / code, with the filter choices."""
    qs = job.problems.all()  # through the job the caller fetched: scoped as the job is
    facets = {
        "sheets": sorted(set(qs.values_list("sheet", flat=True))),
        "columns": sorted(set(qs.values_list("column", flat=True)) - {""}),
        "codes": sorted(set(qs.values_list("code", flat=True))),
    }
    if sheet:
        qs = qs.filter(sheet=sheet)
    if column:
        qs = qs.filter(column=column)
    if code:
        qs = qs.filter(code=code)
    paginator = Paginator(qs.order_by("sheet", "row", "id"), PROBLEMS_PER_PAGE)
    return paginator.get_page(page), facets


def export_roots(user) -> list[OrgUnit]:
    """The units a user may export: where they hold people.view, plus the schools of a district they see."""
    scope = get_scope(user)
    visible = OrgUnit.objects.visible_to(user).filter(is_active=True)
    if scope.superuser:
        roots = list(visible.filter(kind=Kind.DISTRICT).order_by("name"))
    else:
        paths = perm_paths(scope, PEOPLE_VIEW)
        roots = list(visible.filter(path__in=paths).order_by("path"))
    out: list[OrgUnit] = []
    for unit in roots:
        out.append(unit)
        if unit.kind in (Kind.DISTRICT, Kind.STREET):
            out.extend(visible.filter(kind=Kind.SCHOOL, path__startswith=unit.path).order_by("name"))
    return [u for u in out if can(user, PEOPLE_VIEW, u)]


def export_parts(user, unit: OrgUnit) -> list[OrgUnit]:
    """Grades and classes under a school (or grade) that the user may export."""
    if unit.kind not in (Kind.SCHOOL, Kind.GRADE):
        return []
    units = [
        u for u in OrgUnit.objects.visible_to(user)
        .filter(kind__in=[Kind.GRADE, Kind.CLASS], path__startswith=unit.path, is_active=True)
        .exclude(pk=unit.pk)
        if can(user, PEOPLE_VIEW, u)
    ]
    grades = sorted((u for u in units if u.kind == Kind.GRADE), key=lambda g: (g.grade_year is None, g.grade_year or 0, g.name))
    classes = sorted((u for u in units if u.kind == Kind.CLASS), key=lambda c: (c.class_no is None, c.class_no or 0, c.name))
    out: list[OrgUnit] = []
    placed = set()
    for grade in grades:
        out.append(grade)
        for c in classes:
            if c.parent_id == grade.pk:
                out.append(c)
                placed.add(c.pk)
    out.extend(c for c in classes if c.pk not in placed)
    return out
