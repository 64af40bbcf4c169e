from functools import partial

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from core.scoping import get_scope
from gongyu.todo import todo_for
from homeschool.models import OVERSEE, TEACH
from notices.audience import STAFF_ROLE_CHOICES, can_send
from org.models import OrgUnit
from org.selectors import headline_counts
from people.models import Student
from people.selectors import TEACHING_ROLES


def healthz(request):
    """For load balancers: the process answers and the database is reachable. Reveals nothing else."""
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# Cards for the other modules on the staff workspace. Each card asks the scope whether the role uses the
# module and how (a sender and a mere recipient of notices are promised different things); None: no card.
# A module that is not installed (its URL name does not resolve) simply has no card.
_ADMIN = frozenset({Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN})
# Staff roles a notice can be addressed to (notices.audience.STAFF_ROLE_CHOICES): they have an inbox.
_NOTICE_RECIPIENTS = frozenset(r for r, _label in STAFF_ROLE_CHOICES)


def _notices_card(user, scope, staff_roles):
    if can_send(user):
        # The tile opens the sent list: an inbox count would point somewhere else.
        return "notices:index", _("发通知、看谁还没读、一键提醒"), None
    if staff_roles & _NOTICE_RECIPIENTS:
        return "notices:inbox", _("查看发给我的通知，按要求回执"), "unread_notices"
    return None


def _activities_card(user, scope, staff_roles):
    if scope.has_perm_anywhere("activities.manage"):
        return "activities:list", _("家长会、亲子活动、报名与扫码签到"), None
    return None


def _courses_card(user, scope, staff_roles):
    if scope.has_perm_anywhere("courses.manage"):
        return "courses:catalogue", _("开设课程，学时与结业证书"), None
    if scope.unit_prefixes:
        return "courses:catalogue", _("浏览家长学校的课程"), None
    return None


def _homeschool_card(user, scope, staff_roles):
    teach, oversee = scope.has_perm_anywhere(TEACH), scope.has_perm_anywhere(OVERSEE)
    if teach:
        return "homeschool:consultations", _("答复家长咨询，安排和记录家访，发布微指南"), "consultations_waiting"
    if oversee:
        return "homeschool:consultations", _("咨询答复时效、家访覆盖、常见问题与微指南"), "consultations_waiting"
    if scope.perm_prefixes.get("people.view"):
        # Subject, psychology and health staff: the guides and FAQ, and the questions sent to them as experts.
        return "homeschool:consultations", _("家庭教育微指南、常见问题与专家答疑"), "consultations_waiting"
    return None


def _roster_card(user, scope, staff_roles):
    return ("roster:home", _("用Excel导入或导出学生和家长"), None) if staff_roles & _ADMIN else None


MODULE_CARDS = [
    ("notices", "bi-megaphone", _("通知公告"), _notices_card),
    ("activities", "bi-calendar-event", _("协同活动"), _activities_card),
    ("courses", "bi-book", _("家长学校"), _courses_card),
    ("homeschool", "bi-chat-heart", _("家校沟通"), _homeschool_card),
    ("roster", "bi-file-earmark-spreadsheet", _("花名册导入导出"), _roster_card),
]


def _module_cards(user, scope, staff_roles, todo) -> list[dict]:
    """The cards, each with its to-do count as a callable on the request's ToDo (lazy: the count's one
    query runs when the template shows the card's dot, and the navigation reuses it)."""
    cards = []
    if scope.superuser:
        staff_roles = staff_roles | _ADMIN
    for name, icon, title, decide in MODULE_CARDS:
        choice = decide(user, scope, staff_roles)
        if choice is None:
            continue
        url_name, text, count = choice
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        # A callable: the template calls it only when it shows the card's dot.
        counter = partial(getattr, todo, count) if count else None
        cards.append({"url": url, "icon": icon, "title": title, "text": text, "name": name, "count": counter})
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
                # A carer's row leads to the child cared for (people.view on that one student), not the unit.
                "student_id": student_id if student_id in students else None,
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
                "modules": _module_cards(user, scope, staff_roles, todo_for(request)),
            }
        )
    return render(request, "home.html", context)
