from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from core.scoping import get_scope
from org.models import OrgUnit
from org.selectors import headline_counts
from people.models import Student
from people.selectors import TEACHING_ROLES


def healthz(request):
    """For load balancers: the process answers and the database is reachable. Reveals nothing else."""
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# Cards for the other modules on the staff workspace: (url name, icon, title, description, who sees it).
# A module that is not installed (its URL name does not resolve) simply has no card.
_STAFF = "staff"
_ADMIN = frozenset({Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN})
MODULE_CARDS = [
    ("notices:index", "bi-megaphone", _("通知公告"), _("发通知、看谁还没读、一键提醒"), _STAFF),
    ("activities:list", "bi-calendar-event", _("协同活动"), _("家长会、亲子活动、报名与扫码签到"), _STAFF),
    ("courses:catalogue", "bi-book", _("家长学校"), _("课程、学时与结业证书"), _STAFF),
    ("homeschool:consultations", "bi-chat-heart", _("家校沟通"), _("问题咨询、微指南、家访"), "people"),
    ("roster:home", "bi-file-earmark-spreadsheet", _("花名册导入导出"), _("用Excel导入或导出学生和家长"), _ADMIN),
]


def _module_cards(scope, staff_roles) -> list[dict]:
    cards = []
    for name, icon, title, text, who in MODULE_CARDS:
        if who == "people" and not (scope.superuser or scope.perm_prefixes.get("people.view")):
            continue
        if isinstance(who, frozenset) and not (scope.superuser or staff_roles & who):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        cards.append({"url": url, "icon": icon, "title": title, "text": text, "name": name.split(":")[0]})
    return cards


def _role_rows(user, scope) -> list[dict]:
    """The user's staff roles with the names of the units (and carer children) they are held in."""
    staff = [(r, u, s) for r, u, s in scope.roles if r != Role.GUARDIAN]
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
            }
        )
    return rows


@login_required
def home(request):
    user = request.user
    scope = get_scope(user)
    staff_roles = scope.role_names - {Role.GUARDIAN}
    if scope.guardian_id and not staff_roles and not scope.superuser:
        return redirect("people:family")
    context = {"scope": scope, "no_role": not staff_roles and not scope.superuser}
    if not context["no_role"]:
        context.update(
            {
                "roles": _role_rows(user, scope),
                "counts": headline_counts(user),
                "can_tree": scope.superuser or bool(scope.unit_prefixes),
                "can_manage_org": scope.has_perm_anywhere("org.manage"),
                "teaches": bool(staff_roles & set(TEACHING_ROLES)),
                "is_guardian": bool(scope.guardian_id),
                "modules": _module_cards(scope, staff_roles),
            }
        )
    return render(request, "home.html", context)
