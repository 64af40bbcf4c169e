"""Reads of the organisation tree for pages: roots, children with counts, breadcrumbs, headline figures.

Everything starts from OrgUnit/Student/Guardian .visible_to(user); counts are SQL aggregates so that
a page costs the same few queries for a district of 10 classes or of 2,500.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from django.core.cache import cache
from django.db.models import Count, Q

from core.modules import provider
from core.perms import can, perm_paths, provided_perm
from core.scoping import fetch_for, get_scope, prefix_q
from org.models import Kind, OrgUnit
from org.perms import MANAGE, ROSTER_SLOT

# Order of kinds among siblings: the structure first (streets, schools…), then the other bodies.
KIND_RANK = {
    Kind.STREET: 0,
    Kind.COMMUNITY: 1,
    Kind.SCHOOL: 2,
    Kind.GRADE: 3,
    Kind.CLASS: 4,
    Kind.DEPARTMENT: 5,
    Kind.PARTNER: 6,
    Kind.DISTRICT: 7,
}


def sibling_key(unit: OrgUnit):
    return (
        KIND_RANK.get(unit.kind, 9),
        unit.sort_order,
        unit.grade_year if unit.grade_year is not None else 99,
        unit.class_no if unit.class_no is not None else 999,
        unit.name,
    )


def shows_inactive(user) -> bool:
    """Managers need to see switched-off units to switch them back on; everyone else does not."""
    return can(user, MANAGE)


def roster_paths(user_or_scope) -> tuple[str, ...]:
    perm = provided_perm(ROSTER_SLOT)
    return perm_paths(user_or_scope, perm) if perm else ()


def sees_people_counts(user) -> bool:
    """Student and guardian figures are shown to staff who may see students, not to structure-only roles."""
    return bool(roster_paths(user)) or get_scope(user).superuser


def units_for(user):
    qs = OrgUnit.objects.visible_to(user)
    if not shows_inactive(user):
        qs = qs.filter(is_active=True)
    return qs


def tree_roots(user) -> list[OrgUnit]:
    """The tops of the subtrees the user sees whole; if none (a guardian, a carer), the highest units seen."""
    scope = get_scope(user)
    qs = units_for(user)
    if scope.superuser:
        return sorted(qs.filter(parent__isnull=True), key=sibling_key)
    if scope.unit_prefixes:
        roots = list(qs.filter(path__in=scope.unit_prefixes))
    else:
        visible = list(qs.only("id", "parent_id", "path", "depth", "name", "kind"))
        ids = {u.id for u in visible}
        roots = [u for u in visible if u.parent_id not in ids]
        roots = list(qs.filter(id__in=[u.id for u in roots]))
    return sorted(roots, key=lambda u: (u.depth, u.path))


def with_counts(user, units: list[OrgUnit]) -> list[OrgUnit]:
    """Annotate units (siblings, or any list) with .child_count and .student_count in two queries."""
    if not units:
        return units
    ids = [u.id for u in units]
    child_counts = dict(
        units_for(user).filter(parent_id__in=ids).values("parent_id").annotate(n=Count("id")).values_list("parent_id", "n")
    )
    for u in units:
        u.child_count = child_counts.get(u.id, 0)
        u.student_count = None
    if sees_people_counts(user):
        counts = student_counts_by_unit(user, units)
        for u in units:
            u.student_count = counts.get(u.id, 0)
    return units


def _scope_key(user, *parts) -> str:
    """A cache key for figures computed in the user's scope: stable across processes, and different as
    soon as the user's roles or reach change, so nobody is shown figures of a scope they no longer hold."""
    scope = get_scope(user)
    shape = repr(
        (scope.superuser, scope.unit_prefixes, scope.student_prefixes, roster_paths(scope), scope.roles, parts)
    )
    return f"{user.pk}:{hashlib.sha256(shape.encode()).hexdigest()[:24]}"


COUNTS_CACHE_SECONDS = 60


def student_counts_by_unit(user, units: list[OrgUnit]) -> dict[int, int]:
    """Active students under each unit, from one GROUP BY over the classes below them (kept a minute:
    near the top of a large district the GROUP BY covers every student)."""
    if not units:
        return {}
    paths = sorted({u.path for u in units})
    by_path = cache.get_or_set(
        f"gy:students-under:{_scope_key(user, *paths)}", lambda: _student_counts_by_path(user, paths), COUNTS_CACHE_SECONDS
    )
    return {u.id: by_path.get(u.path, 0) for u in units}


def _student_counts_by_path(user, paths: list[str]) -> dict[str, int]:
    # (class path, active students) rows in the user's scope: people provides them (org imports no people).
    class_counts = provider("org.student_counts_by_class_path")
    rows = class_counts(user, paths) if class_counts else ()
    wanted = set(paths)
    totals: dict[str, int] = defaultdict(int)
    for class_path, n in rows:
        # Walk the class's own path: every listed unit on it gets the class's students.
        prefix = "/"
        for part in class_path.strip("/").split("/"):
            prefix = f"{prefix}{part}/"
            if prefix in wanted:
                totals[prefix] += n
    return dict(totals)


def children_of(user, unit: OrgUnit) -> list[OrgUnit]:
    children = sorted(units_for(user).filter(parent=unit), key=sibling_key)
    return with_counts(user, children)


def breadcrumb(user, unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors that the user may see, top first."""
    if not unit.ancestor_ids:
        return []
    return list(OrgUnit.objects.visible_to(user).filter(id__in=unit.ancestor_ids).order_by("depth"))


def subtree_size(unit: OrgUnit) -> int:
    """Units switched off or on together with this one (the unit itself included)."""
    return OrgUnit.objects.system(reason="the size of a subtree the caller may manage").under(unit).count()


def class_teacher_names(class_ids) -> dict[int, list[str]]:
    """Names of the current class teachers of these classes.

    The callers pass only classes already taken from a scoped query: a class teacher's name is what
    the class's own families and colleagues are meant to know, nothing else about the staff is read.
    """
    names: dict[int, list[str]] = defaultdict(list)
    # (class id, name) rows: accounts holds the role assignments and provides them (org imports no accounts).
    teachers = provider("org.class_teacher_rows")
    for unit_id, name in teachers(list(class_ids)) if teachers else ():
        names[unit_id].append(name)
    return dict(names)


def unit_code_taken(*, district_id: int | None, code: str, exclude_pk: int | None = None) -> bool:
    """Is a unit code already used in the district? A uniqueness probe (yes/no), not a read of units."""
    if not code or district_id is None:
        return False
    qs = OrgUnit.objects.system(reason="a uniqueness probe, not a read of units").filter(district_id=district_id, code=code)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def headline_counts(user) -> dict:
    """Units, classes, students, guardians and activated guardians in the user's scope: 3 aggregates,
    kept for a minute (a district's guardian count scans its guardianships; staff reload the home page)."""
    return cache.get_or_set(f"gy:headline:{_scope_key(user)}", lambda: _headline_counts(user), COUNTS_CACHE_SECONDS)


def _headline_counts(user) -> dict:
    units = OrgUnit.objects.visible_to(user).filter(is_active=True)
    scope = get_scope(user)
    if not scope.superuser and scope.unit_prefixes:
        # Ancestors seen only as context (a school admin's street) are not "in scope" for counting.
        units = units.filter(prefix_q("path", scope.unit_prefixes))
    out = units.aggregate(units=Count("id"), classes=Count("id", filter=Q(kind=Kind.CLASS)), schools=Count("id", filter=Q(kind=Kind.SCHOOL)))
    out.update({"students": None, "guardians": None, "activated": None, "activated_pct": None})
    people_counts = provider("org.people_headline")  # people's figures (org imports no people)
    if sees_people_counts(user) and people_counts:
        g = people_counts(user)  # students, guardians, activated
        out.update(g)
        out["activated_pct"] = round(100 * g["activated"] / g["guardians"]) if g["guardians"] else 0
    return out


def get_unit_for(user, unit_id, *, for_write: bool = False) -> OrgUnit:
    """The unit pages' and the API's one way to a unit: any unit the user sees (org.manage on it with
    for_write), else 404."""
    return fetch_for(user, OrgUnit, unit_id, perm=MANAGE if for_write else None)
