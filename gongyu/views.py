from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render

from accounts.roles import Role
from core.modules import card_tiles
from core.perms import GUARDIAN_ROLE, can, has_staff_role, perm_paths
from core.scoping import get_scope
from gongyu.todo import todo_for
from org.models import OrgUnit
from org.perms import MANAGE as ORG_MANAGE
from org.selectors import headline_counts
from people.models import Student
from people.perms import TEACH_CLASSES


def healthz(request):
    """For load balancers: the process answers and the database is reachable. Reveals nothing else."""
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _role_rows(user, scope) -> list[dict]:
    """The user's staff roles with the names of the units (and carer children) they are held in."""
    staff = [(r, u, s) for r, u, s in scope.roles if r != GUARDIAN_ROLE]
    unit_ids = {u for _r, u, _s in staff if u}
    student_ids = {s for _r, _u, s in staff if s}
    units = {u.id: u for u in OrgUnit.objects.visible_to(user).filter(id__in=unit_ids).select_related("parent__parent")} if unit_ids else {}
    students = {s.id: s for s in Student.objects.visible_to(user).filter(id__in=student_ids)} if student_ids else {}
    rows = []
    for role, unit_id, student_id in staff:
        unit = units.get(unit_id)
        rows.append(
            {
                "role": Role(role).label if role in Role.values else role,
                "unit": unit.full_name if unit else "",
                "unit_id": unit.id if unit else None,
                "student": students[student_id].name if student_id in students else "",
                # A carer's row leads to the child cared for (people.view on that one student), not the unit.
                "student_id": student_id if student_id in students else None,
            }
        )
    return rows


@login_required
def home(request):
    user = request.user
    scope = get_scope(user)
    staff = has_staff_role(scope)
    if scope.guardian_id and not staff:
        return redirect("people:family")
    context = {"scope": scope, "no_role": not staff}
    if not context["no_role"]:
        context.update(
            {
                "roles": _role_rows(user, scope),
                "counts": headline_counts(user),
                "can_tree": scope.superuser or bool(scope.unit_prefixes),
                "can_manage_org": can(user, ORG_MANAGE),
                # Held in a class (not a superuser's everything): the 我的班级 link.
                "teaches": bool(perm_paths(scope, TEACH_CLASSES)),
                "is_guardian": bool(scope.guardian_id),
                "modules": card_tiles(user, scope, todo_for(request)),
            }
        )
    return render(request, "home.html", context)
