"""The permission vocabulary (docs/decisions/0012): the apps' Perm declarations give each role exactly the
flags the hand-written role table gave it; require(), @requires and {% can %} answer from a neighbouring
scope as the rules say; and no view, template, form, selector or API function tests a role's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from accounts import roles
from accounts.models import RoleAssignment
from core import modules as registry
from core.modules import Module, all_perms
from core.perms import Perm, can, can_provided, provided_perm, require, requires
from notices import perms as notice_perms
from notices.audience import STAFF_ROLE_CHOICES
from org import perms as org_perms
from org.models import Kind
from org.selectors import get_unit_for
from people import perms as people_perms
from people.selectors import TEACHING_ROLES, get_student_for
from tests.world import make_user

# --- 1. The role table, before and after ----------------------------------------------------------
# accounts/roles.py as it stood before the apps declared their permissions (issue 13), copied here by
# hand: the discovered sets must hold every one of these flags, and nothing more but the flags that
# replaced a test of role names (NEW_FLAGS, each given to exactly the roles the old test named).
OLD_PERMS = {
    "district_admin": {"org.manage", "roles.manage", "people.view", "people.manage", "consent.view", "audit.view",
                       "activities.manage", "activities.approve", "courses.manage", "notices.send", "homeschool.oversee"},
    "department_liaison": set(),
    "street_staff": {"activities.manage", "notices.send_to_schools"},
    "school_admin": {"org.manage", "roles.manage", "people.view", "people.manage", "people.view_contact", "people.view_identity",
                     "consent.view", "activities.manage", "activities.approve", "courses.manage", "notices.send", "homeschool.oversee"},
    "class_teacher": {"people.view", "people.manage", "people.view_contact", "people.call_families", "consent.view",
                      "activities.manage", "notices.send", "homeschool.teach"},
    "subject_teacher": {"people.view"},
    "psych_teacher": {"people.view"},
    "health_vp": {"people.view"},
    "grid_worker": {"activities.manage"},
    "partner_contact": {"activities.manage"},
    "volunteer": set(),
    "guardian": set(),
}
OLD_CARER = {"people.view"}
OLD_GUARDIAN = {"people.view", "family.view"}
# Flags that replace a test of role names in a view, with the roles that test named.
NEW_FLAGS = {
    # gongyu/views.py: `staff_roles & {DISTRICT_ADMIN, SCHOOL_ADMIN}` for the roster tile
    "roster.use": {"district_admin", "school_admin"},
    # gongyu/views.py: `staff_roles & notices.audience.STAFF_ROLE_CHOICES` for the inbox tile
    "notices.receive": {"school_admin", "class_teacher", "subject_teacher", "psych_teacher", "health_vp", "street_staff", "grid_worker"},
    # homeschool/views.py: `any(r == "district_admin" for r in scope.role_names)`
    "homeschool.manage_pool": {"district_admin"},
    # gongyu/views.py: `staff_roles & people.selectors.TEACHING_ROLES` for 我的班级
    "people.teach_classes": {"class_teacher", "subject_teacher"},
}


def test_discovered_role_perms_equal_the_old_table_plus_the_flags_that_replaced_role_names():
    for role, old in OLD_PERMS.items():
        added = {flag for flag, holders in NEW_FLAGS.items() if role in holders}
        assert set(roles.RULES[role].perms) == old | added, role
    assert set(roles.CARER_STUDENT_PERMS) == OLD_CARER
    assert set(roles.GUARDIAN_STUDENT_PERMS) == OLD_GUARDIAN
    assert set(roles.RULES) == set(OLD_PERMS)


def test_the_replacing_flags_are_held_by_the_roles_that_the_code_named():
    assert NEW_FLAGS["notices.receive"] == {r for r, _label in STAFF_ROLE_CHOICES}
    assert NEW_FLAGS["people.teach_classes"] == set(TEACHING_ROLES)
    assert NEW_FLAGS["roster.use"] == set(roles.ADMIN_ROLES)


def test_every_perm_is_declared_once_by_the_app_its_code_names():
    codes = [p.code for p in all_perms()]
    assert len(codes) == len(set(codes))
    owner = {p.code: m.label for m in registry.modules() for p in m.perms}
    # "roles.*" belongs to accounts, "consent.*"/"family.*" to people: the codes predate the apps' names.
    aliases = {"roles": "accounts", "consent": "people", "family": "people"}
    for code, label in owner.items():
        prefix = code.split(".")[0]
        assert aliases.get(prefix, prefix) == label, code
    assert all(str(p.label) for p in all_perms())


def test_a_perm_granted_to_an_unknown_role_is_refused(monkeypatch):
    bogus = Module(label="bogus", perms=(Perm("bogus.do", "x", roles=("headmaster",)),))
    real = registry.modules()
    monkeypatch.setattr(registry, "modules", lambda: (*real, bogus))
    roles.role_perms.cache_clear()
    try:
        with pytest.raises(ImproperlyConfigured, match="headmaster"):
            roles.role_perms()
    finally:
        monkeypatch.undo()
        roles.role_perms.cache_clear()


def test_a_perm_is_its_code():
    assert notice_perms.SEND == "notices.send" and {notice_perms.SEND: 1}["notices.send"] == 1
    assert notice_perms.SEND.code == "notices.send" and repr(notice_perms.SEND) == "Perm('notices.send')"
    with pytest.raises(ValueError):
        Perm("nodot", "x")


# --- 2. require / @requires / {% can %} from a neighbouring scope ---------------------------------------

# For a role held in a unit of this kind: units of the same kind side by side (the other one is next door).
NEIGHBOUR = {
    "district": ("district", "other_district"), "street": ("street_1", "street_2"), "school": ("school_a", "school_b"),
    "class": ("class_a2", "class_b1"), "community": ("community_1", "community_2"), "partner": ("partner", "partner_2"),
    "department": ("department", "department_2"),
}


def _holders(world):
    """(perm, user key, own unit key) for every declared unit perm and every world user holding it."""

    key_of_user = {u.pk: k for k, u in world.users.items()}
    key_of_unit = {u.pk: k for k, u in world.units.items()}
    rows = RoleAssignment.objects.filter(student__isnull=True, user_id__in=key_of_user).values_list("user_id", "role", "unit_id")
    for perm in all_perms():
        for user_id, role, unit_id in rows:
            if role in perm.roles:
                yield perm, key_of_user[user_id], key_of_unit[unit_id]


def test_every_unit_perm_is_refused_one_scope_over(world):
    seen = set()
    for perm, user_key, unit_key in _holders(world):
        user, own = world.users[user_key], world.units[unit_key]
        pair = NEIGHBOUR[own.kind]
        other_key = pair[1] if unit_key != pair[1] else pair[0]
        other = world.units[other_key]
        assert can(user, perm, own), (perm, user_key)
        require(user, perm, own)
        assert not can(user, perm, other), (perm, user_key, other_key)
        # Visible next door (a school's structure is seen district-wide by some roles) answers 403;
        # not even visible answers 404.
        with pytest.raises((PermissionDenied, Http404)):
            require(user, perm, other)
        seen.add(perm.code)
    unit_perms = {p.code for p in all_perms() if p.roles}
    assert seen == unit_perms, unit_perms - seen


def test_require_answers_404_for_what_the_user_cannot_see_and_403_for_what_they_can(world):
    teacher = world.teacher_a1
    with pytest.raises(Http404):
        require(teacher, "people.manage", world.class_b1)  # another school's class: not visible
    with pytest.raises(PermissionDenied):
        require(teacher, "people.manage", world.grade_a3)  # an ancestor: visible, but not theirs to manage
    with pytest.raises(PermissionDenied):
        require(world.liaison, "org.manage")  # nowhere
    require(teacher, "people.manage", world.class_a1)


def test_carer_and_guardian_perms_reach_only_their_own_child(world):
    assert can(world.grid_worker_1, "people.view", world.child_a2)
    assert not can(world.grid_worker_1, "people.view", world.child_a1)
    assert can(world.parent_a1, "family.view", world.child_a1)
    assert not can(world.parent_a1, "family.view", world.child_a2)
    with pytest.raises(Http404):
        require(world.parent_a1, "people.view", world.child_b1)


def test_the_view_decorator_refuses_without_the_perm_anywhere(world):
    @requires("notices.send", "notices.send_to_schools")
    def view(request):
        return HttpResponse("ok")

    rf = RequestFactory()
    for key, allowed in [("teacher_a1", True), ("street_staff_1", True), ("subject_teacher_a1", False), ("parent_a1", False)]:
        request = rf.get("/")
        request.user = world.users[key]
        if allowed:
            assert view(request).status_code == 200, key
        else:
            with pytest.raises(PermissionDenied):
                view(request)
    assert view.required_perms == ("notices.send", "notices.send_to_schools")


def test_the_template_tag_asks_for_the_requests_user(world):
    tpl = Template('{% load perms %}{% can perm unit %}yes{% else %}no{% endcan %}|{% can "org.manage" %}m{% endcan %}')
    for key, unit, out in [
        ("teacher_a1", "class_a1", "yes|"), ("teacher_a1", "class_a2", "no|"),
        ("school_admin_a", "class_a2", "yes|m"), ("school_admin_b", "class_a2", "no|m"),
    ]:
        rendered = tpl.render(Context({"user": world.users[key], "perm": "people.manage", "unit": world.units[unit]}))
        assert rendered == out, (key, unit)


def test_the_student_page_links_the_class_roster_only_for_people_view_on_the_class(client, world):
    roster = reverse("org:class_roster", args=[world.class_a2.pk])
    client.force_login(world.teacher_a2)
    assert roster in client.get(reverse("people:student_detail", args=[world.child_a2.pk])).content.decode()
    client.force_login(world.grid_worker_1)  # the carer sees the child, not the class's roster
    page = client.get(reverse("people:student_detail", args=[world.child_a2.pk])).content.decode()
    assert world.child_a2.name in page and roster not in page


# --- 3. Nobody asks by role name, nobody names a permission by its code ------------------------------

ROLE_NAMES = "|".join(sorted(roles.RULES))
PERM_CODES = "|".join(sorted(re.escape(p.code) for p in all_perms()))
FORBIDDEN = [
    (re.compile(r"\bperm_prefixes\b"), "reads scope.perm_prefixes (use core.perms.can/require, or perm_paths for a filter)"),
    (re.compile(r"\bhas_perm_anywhere\b"), "asks has_perm_anywhere (use core.perms.can(user, perm))"),
    (re.compile(r"\bscope\.can\(|\bget_scope\([^)]*\)\.can\("), "asks Scope.can (use core.perms.can/require)"),
    (re.compile(r"\brole_names\b"), "tests role names (declare a permission)"),
    (re.compile(r"\bRole\.[A-Z_]+\b"), "names a role (declare a permission)"),
    (re.compile(rf"""["']({ROLE_NAMES})["']\s*(==|!=|in\b)|(==|!=|\bin)\s*["']({ROLE_NAMES})["']"""), "tests a role's name"),
    (re.compile(rf"""{{%\s*if[^%]*["']({ROLE_NAMES})["']"""), "tests a role's name in a template"),
]
# A permission is its app's constant: a code in a string is a typo waiting to happen, and in a lower app it
# is knowledge of a higher one (ask core.perms.provided_perm(slot) / can_provided instead). Templates name
# codes ({% can "people.view" obj %}): they cannot import.
PERM_CODE = (re.compile(rf"""["']({PERM_CODES})["']"""), "names a permission by its code (import it from <app>/perms.py)")
FORBIDDEN.append(PERM_CODE)
# Where a permission and a role may be named: the declarations (each app's perms.py and module.py), the
# role table (accounts/roles.py), the scoping layer that defines Scope.can and its flag tables
# (core/scoping.py; core/perms.py is a perms.py) and the demo builders (demo.py: they grant roles to the
# demo accounts). Every other file of every app — models and services too — asks through core.perms.
EXEMPT_NAMES = {"perms.py", "module.py", "demo.py"}
EXEMPT_PATHS = {"accounts/roles.py", "core/scoping.py"}
NOT_APP_CODE = {"tests", "bench", "migrations", "locale", "static"}


# Lines that name a role as data, not to decide anything: which job a person holds, shown as such.
ALLOWED = {
    # My classes: the jobs I hold in each class as badges (班主任 first); what I may do there is asked by perm.
    "people/selectors.py": ('CLASS_TEACHER = "class_teacher"', "c.is_class_teacher = CLASS_TEACHER in"),
    # A class's 班主任 names, shown to its families (org's page asks for them through this slot).
    "accounts/provided.py": (".filter(role=Role.CLASS_TEACHER, unit_id__in=class_ids",),
    # The role being granted in the admin, not the user's: a guardian's role comes from a guardianship.
    "accounts/admin.py": ("if role == Role.GUARDIAN:",),
    # A notice's staff audience is chosen by job ("all class teachers"): roles as the audience, not a test.
    "notices/audience.py": tuple(f"    Role.{r},"
                                 for r in ("SCHOOL_ADMIN", "CLASS_TEACHER", "SUBJECT_TEACHER", "PSYCH_TEACHER", "HEALTH_VP", "STREET_STAFF", "GRID_WORKER")),
    # A sign-up row's kind (a guardian or a student), not a role.
    "activities/services.py": ('out["guardians" if kind == "guardian" else "students"]',
                               # the audit log's action names, which happen to read like the perms' codes
                               'record("activities.approve" if approve else "activities.reject"'),
    "gongyu/templates/activities/attendance.html": ("{% if r.kind == 'guardian' %}",),
}


def _checked_files():
    root = Path(settings.BASE_DIR)
    packages = sorted({p.parent for p in root.glob("*/apps.py")} | {root / "gongyu"})
    for package in packages:
        for path in sorted(package.rglob("*.py")):
            rel = path.relative_to(root)
            if NOT_APP_CODE & set(rel.parts) or path.name in EXEMPT_NAMES or rel.as_posix() in EXEMPT_PATHS:
                continue
            yield path
    yield from sorted((root / "gongyu" / "templates").rglob("*.html"))


def test_no_app_file_tests_a_role_name_or_names_a_permission_code():
    found = []
    for path in _checked_files():
        allowed = ALLOWED.get(path.relative_to(settings.BASE_DIR).as_posix(), ())
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(a in line for a in allowed):
                continue
            for pattern, why in FORBIDDEN:
                if path.suffix == ".html" and (pattern, why) == PERM_CODE:
                    continue
                if pattern.search(line):
                    found.append(f"{path.relative_to(settings.BASE_DIR)}:{n}: {why}: {line.strip()}")
    assert not found, "Ask through core.perms (require / @requires / {% can %} / perm_paths):\n" + "\n".join(found)


def test_the_role_name_grep_catches_each_form():
    planted = [
        "if scope.perm_prefixes.get('x'):",
        "if get_scope(u).has_perm_anywhere('x'):",
        "if scope.can('x', obj):",
        "if get_scope(request.user).can(MANAGE, unit):",
        "if 'district_admin' in scope.role_names:",
        "if r == Role.SCHOOL_ADMIN:",
        "if role == 'class_teacher':",
        "{% if role == \"guardian\" %}",
        'PARTICIPATION_STAFF_PERM = "activities.manage"',
        "fetch_for(user, SchoolClass, pk, perm='people.view')",
    ]
    for line in planted:
        assert any(p.search(line) for p, _why in FORBIDDEN), line
    assert not any(p.search("return can(user, perms.SEND, unit)") for p, _why in FORBIDDEN)
    checked = {p.relative_to(settings.BASE_DIR).as_posix() for p in _checked_files()}
    assert {"ledger/models.py", "notices/services.py", "roster/management/commands/import_roster.py", "gongyu/views.py"} <= checked
    assert not {"ledger/perms.py", "notices/module.py", "accounts/roles.py"} & checked
    assert not any("/migrations/" in p for p in checked)


def test_a_lower_app_asks_a_higher_apps_permission_by_slot(world, monkeypatch):
    """org's class pages ask people's permissions, the ledger activities' and courses', through slots the
    higher app fills (Module.provides); a slot nobody fills is held by nobody, not even a superuser."""
    assert provided_perm(org_perms.ROSTER_SLOT) is people_perms.VIEW
    assert provided_perm(org_perms.INVITE_SLOT) is people_perms.MANAGE
    assert can_provided(world.teacher_a1, org_perms.INVITE_SLOT, world.class_a1)
    assert not can_provided(world.teacher_a1, org_perms.INVITE_SLOT, world.class_a2)  # the class next door
    assert not can_provided(world.subject_teacher_a1, org_perms.INVITE_SLOT, world.class_a1)
    assert can_provided(world.subject_teacher_a1, org_perms.ROSTER_SLOT, world.class_a1)
    superuser = make_user("平台运维", is_superuser=True)
    assert provided_perm("nobody.fills_this") is None and not can_provided(superuser, "nobody.fills_this")
    monkeypatch.setattr(registry, "_slots", lambda: {"org.roster_perm": "people.selectors.people_headline"})
    with pytest.raises(ImproperlyConfigured):
        provided_perm(org_perms.ROSTER_SLOT)


def test_world_has_a_neighbour_for_every_unit_kind_a_role_is_held_in(world):
    kinds = {k for rule in roles.RULES.values() for k in rule.unit_kinds}
    assert kinds <= set(NEIGHBOUR) | {Kind.GRADE}


def test_the_allow_list_names_lines_that_still_exist():
    root = Path(settings.BASE_DIR)
    for rel, fragments in ALLOWED.items():
        text = (root / rel).read_text(encoding="utf-8")
        for fragment in fragments:
            assert fragment in text, (rel, fragment)  # gone: drop it from ALLOWED


# --- 4. One get_<entity>_for per entity, for pages and API -------------------------------------------------


def test_get_entity_for_reads_in_scope_and_writes_only_with_the_manage_perm(world):
    # Read: what the user sees; the class next door is 404.
    assert get_unit_for(world.teacher_a1, world.class_a1.pk) == world.class_a1
    assert get_student_for(world.subject_teacher_a1, world.child_a1.pk) == world.child_a1
    with pytest.raises(Http404):
        get_student_for(world.teacher_a1, world.child_a2.pk)
    with pytest.raises(Http404):
        get_unit_for(world.teacher_a1, world.class_a2.pk)
    # Write: the subject teacher sees the child but may not edit them; the class teacher may.
    assert get_student_for(world.teacher_a1, world.child_a1.pk, for_write=True) == world.child_a1
    with pytest.raises(Http404):
        get_student_for(world.subject_teacher_a1, world.child_a1.pk, for_write=True)
    # A school admin manages their school's units, not the street above it they see; nor school B.
    assert get_unit_for(world.school_admin_a, world.class_a2.pk, for_write=True) == world.class_a2
    for unit in (world.street_1, world.school_b):
        with pytest.raises(Http404):
            get_unit_for(world.school_admin_a, unit.pk, for_write=True)
    for bad in ("abc", "99999999999999999999", 0):
        with pytest.raises(Http404):
            get_unit_for(world.district_admin, bad)


def test_the_page_and_the_api_share_the_getter():
    """The duplicated preambles are gone: each getter is the one both callers use."""
    root = Path(settings.BASE_DIR)
    for app, getter in [("people", "get_student_for"), ("org", "get_unit_for"), ("homeschool", "get_consultation_for"),
                        ("homeschool", "get_guide_for"), ("courses", "get_lesson_for"), ("courses", "get_topic_for"),
                        ("notices", "get_notice_for"), ("activities", "get_session_for")]:
        for caller in ("views.py", "api.py"):
            assert f"selectors.{getter}(" in (root / app / caller).read_text(encoding="utf-8"), (app, caller, getter)
    assert "def _staff_notice" not in (root / "notices" / "views.py").read_text(encoding="utf-8")
    assert "def _staff_notice" not in (root / "notices" / "api.py").read_text(encoding="utf-8")
    assert "def _managed_session" not in (root / "activities" / "views.py").read_text(encoding="utf-8")
