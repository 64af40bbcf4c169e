"""Reads of students and guardians for pages. Every query starts from .visible_to(user); lists prefetch
their guardians so that the query count does not grow with the number of students."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Prefetch, Q

from core.crypto import digest
from core.modules import provider, role_rules
from core.scoping import fetch_for, get_scope, prefix_q
from org.models import SchoolClass
from org.selectors import class_teacher_names
from people.models import Guardian, Guardianship, Student
from people.perms import MANAGE, TEACH_CLASSES, VIEW

ROSTER_PER_PAGE = 50
# Who teaches a class: the holders of people.teach_classes (class and subject teachers).
TEACHING_ROLES = tuple(sorted(TEACH_CLASSES.roles))
CLASS_TEACHER = "class_teacher"  # the role whose holder is the class's 班主任 (accounts.roles.Role)

def guardian_links():
    """Guardianship rows with their guardian, for Prefetch on students taken from Student.visible_to(user).

    Every guardian of a student in scope is in scope (people.models.guardian_scope_q is exactly "guardians
    of the students in scope, and oneself"), so reaching guardians through scoped students needs no
    second scope filter; repeating it would make a district admin's roster scan the whole district.
    """
    return Guardianship.objects.filter(guardian__is_active=True).select_related("guardian").order_by("-is_primary", "id")


def class_stats(user, class_ids) -> dict[int, dict]:
    """Per class: students, guardians, activated guardians, families with an activated guardian. 2 queries."""
    class_ids = list(class_ids)
    stats = {cid: {"students": 0, "guardians": 0, "activated": 0, "families_activated": 0, "pct": 0} for cid in class_ids}
    if not class_ids:
        return stats
    students = Student.objects.visible_to(user).filter(school_class_id__in=class_ids, is_active=True)
    for cid, n in students.values("school_class_id").annotate(n=Count("id")).values_list("school_class_id", "n"):
        stats[cid]["students"] = n
    rows = (
        Guardianship.objects.visible_to(user).filter(student__in=students, guardian__is_active=True)
        .values("student__school_class_id")
        .annotate(
            total=Count("guardian_id", distinct=True),
            activated=Count("guardian_id", filter=Q(guardian__user__isnull=False), distinct=True),
            families=Count("student_id", filter=Q(guardian__user__isnull=False), distinct=True),
        )
        .values_list("student__school_class_id", "total", "activated", "families")
    )
    for cid, total, activated, families in rows:
        s = stats[cid]
        s.update(guardians=total, activated=activated, families_activated=families)
        s["pct"] = round(100 * activated / total) if total else 0
    for s in stats.values():
        s["families_pct"] = round(100 * s["families_activated"] / s["students"]) if s["students"] else 0
    return stats


@dataclass
class Roster:
    page: Page
    stats: dict


def roster_page(user, school_class, *, page=None, query: str = "", per_page: int = ROSTER_PER_PAGE) -> Roster:
    """One page of a class's students with their guardians: count + page + guardians, whatever the size."""
    students = Student.objects.visible_to(user).filter(school_class=school_class, is_active=True)
    if query:
        # The 学籍号 is encrypted: found only when typed in full, through its digest.
        students = students.filter(Q(name__contains=query) | Q(student_no_digest=digest(query)))
    students = students.order_by("name", "id").prefetch_related(
        Prefetch("guardianships", queryset=guardian_links(), to_attr="visible_links")
    )
    page_obj = Paginator(students, per_page).get_page(page)
    return Roster(page=page_obj, stats=class_stats(user, [school_class.id])[school_class.id])


def student_guardian_links(student: Student) -> list[Guardianship]:
    """The guardians of a student the caller fetched with fetch_for (so the student is in scope)."""
    return list(guardian_links().system(reason="the guardians of a student fetched with fetch_for").filter(student=student))


def family_children(user) -> list[Student]:
    """The signed-in guardian's children, wherever they study, each with co-guardians and class teacher."""
    scope = get_scope(user)
    if not scope.guardian_id:
        return []
    children = list(
        Student.objects.visible_to(user)
        .filter(is_active=True, guardianships__guardian_id=scope.guardian_id)
        .select_related("school", "school_class")
        .prefetch_related(Prefetch("guardianships", queryset=guardian_links(), to_attr="visible_links"))
        .order_by("-birth_date", "id")
    )
    teachers = class_teacher_names({c.school_class_id for c in children})
    for child in children:
        child.my_links = [g for g in child.visible_links if g.guardian_id == scope.guardian_id]
        child.co_guardians = [g for g in child.visible_links if g.guardian_id != scope.guardian_id]
        child.class_teachers = teachers.get(child.school_class_id, [])
    return children


def teacher_classes(user) -> list[SchoolClass]:
    """Classes the user teaches (class or subject teacher), with role, subject and activation figures."""
    scope = get_scope(user)
    roles: dict[int, set[str]] = defaultdict(set)
    for role, unit_id, student_id in scope.roles:
        if role in TEACHING_ROLES and student_id is None:
            roles[unit_id].add(role)
    if not roles:
        return []
    titles: dict[int, list[str]] = defaultdict(list)
    # (class id, title) of the user's own teaching assignments: accounts provides them (people imports no accounts).
    own_titles = provider("people.own_role_titles")
    for unit_id, title in own_titles(user, list(roles), TEACHING_ROLES) if own_titles else ():
        titles[unit_id].append(title)
    classes = list(SchoolClass.objects.visible_to(user).filter(id__in=roles, is_active=True).select_related("parent__parent"))
    stats = class_stats(user, [c.id for c in classes])
    for c in classes:
        c.my_roles = sorted(role_rules()[r].label for r in roles[c.id])
        c.is_class_teacher = CLASS_TEACHER in roles[c.id]
        c.titles = titles.get(c.id, [])
        c.stats = stats[c.id]
    classes.sort(key=lambda c: (not c.is_class_teacher, c.parent.parent.name if c.parent and c.parent.parent else "", c.parent.grade_year or 0, c.class_no or 0, c.name))
    return classes


def get_student_for(user, student_id, *, for_write: bool = False) -> Student:
    """The student page's and the API's one way to a student: people.view on them (people.manage with
    for_write), else 404 — a student outside the scope and one the user may not open look the same."""
    return fetch_for(user, Student.objects.select_related("school", "school_class"), student_id, perm=MANAGE if for_write else VIEW)


# --- Figures org's pages show (Module.provides: org names the slots, org imports no people) -----------


def student_counts_by_class_path(user, paths: list[str]):
    """(class path, active students) for the classes under these paths that the user sees."""
    return (
        Student.objects.visible_to(user)
        .filter(prefix_q("school_class__path", paths), is_active=True)
        .values("school_class__path")
        .annotate(n=Count("id"))
        .values_list("school_class__path", "n")
    )


def people_headline(user) -> dict:
    """Active students, guardians and activated guardians in the user's scope: 2 aggregates."""
    students = Student.objects.visible_to(user).filter(is_active=True).count()
    g = Guardian.objects.visible_to(user).filter(is_active=True).aggregate(
        total=Count("id"), activated=Count("id", filter=Q(user__isnull=False))
    )
    return {"students": students, "guardians": g["total"], "activated": g["activated"]}


def class_people_subqueries():
    """Per-class subqueries (correlated on the class's pk): active students, and activated guardians."""
    students = (
        Student.objects.filter(school_class=OuterRef("pk"), is_active=True)
        .order_by()
        .values("school_class")
        .annotate(n=Count("id"))
        .values("n")
    )
    activated = (
        Guardianship.objects.filter(
            student__school_class=OuterRef("pk"), student__is_active=True, guardian__is_active=True, guardian__user__isnull=False
        )
        .order_by()
        .values("student__school_class")
        .annotate(n=Count("guardian", distinct=True))
        .values("n")
    )
    return students, activated
