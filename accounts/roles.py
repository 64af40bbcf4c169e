"""Roles and how far each reaches. A role is always held in a scope: an org unit, or a student for
carers. What each role may do is declared by the apps beside their permissions (core.perms.Perm's
holders, collected by role_perms()); this table says where a role is held and what it sees, and
core.scoping applies both."""

from dataclasses import dataclass, replace
from functools import cache

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.modules import all_perms, on_forget, student_perms
from core.scoping import DISTRICT, SUBTREE  # noqa: F401 — where a role's view reaches, named by core.scoping


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("区教育局管理员")
    DEPARTMENT_LIAISON = "department_liaison", _("部门联络员")
    STREET_STAFF = "street_staff", _("街道工作站人员")
    SCHOOL_ADMIN = "school_admin", _("学校管理员")
    CLASS_TEACHER = "class_teacher", _("班主任")
    SUBJECT_TEACHER = "subject_teacher", _("任课教师")
    PSYCH_TEACHER = "psych_teacher", _("心理教师")
    HEALTH_VP = "health_vp", _("健康副校长")
    GUARDIAN = "guardian", _("家长")
    GRID_WORKER = "grid_worker", _("社区/网格员")
    PARTNER_CONTACT = "partner_contact", _("合作单位联系人")
    VOLUNTEER = "volunteer", _("志愿者/讲师")


@dataclass(frozen=True)
class RoleRule:
    unit_kinds: frozenset[str]  # kinds of unit the role may be held in
    sees_units: str = SUBTREE
    sees_students: bool = False  # every student under the unit
    student_assignable: bool = False  # may be held for one student (carer)
    is_admin: bool = False  # needs a second factor where GONGYU_ADMIN_2FA is on
    staff_session: bool = True  # 30-minute idle timeout
    role: str = ""  # filled in from RULES' key
    label: str = ""  # the role's name as shown (Role's label), for apps that read the table through core.modules

    @property
    def perms(self) -> frozenset[str]:
        """Named flags, granted on the unit's subtree: what the modules' Perm declarations give this role."""
        return role_perms().get(self.role, frozenset())


# What each role may do is declared by the apps, each beside its permissions (<app>/perms.py, listed in
# its module.py; core.perms.Perm says which roles hold it); role_perms() collects them. This table says
# only how far each role reaches.
_RULES: dict[str, RoleRule] = {
    Role.DISTRICT_ADMIN: RoleRule(unit_kinds=frozenset({"district"}), sees_students=True, is_admin=True),
    Role.DEPARTMENT_LIAISON: RoleRule(unit_kinds=frozenset({"department"}), sees_units=DISTRICT),
    Role.STREET_STAFF: RoleRule(unit_kinds=frozenset({"street"})),
    Role.SCHOOL_ADMIN: RoleRule(unit_kinds=frozenset({"school"}), sees_students=True, is_admin=True),
    Role.CLASS_TEACHER: RoleRule(unit_kinds=frozenset({"class"}), sees_students=True),
    Role.SUBJECT_TEACHER: RoleRule(unit_kinds=frozenset({"class"}), sees_students=True),
    Role.PSYCH_TEACHER: RoleRule(unit_kinds=frozenset({"school"}), sees_students=True),
    Role.HEALTH_VP: RoleRule(unit_kinds=frozenset({"school"}), sees_students=True),
    Role.GRID_WORKER: RoleRule(unit_kinds=frozenset({"community"}), student_assignable=True),
    Role.PARTNER_CONTACT: RoleRule(unit_kinds=frozenset({"partner"})),
    Role.VOLUNTEER: RoleRule(unit_kinds=frozenset({"district", "street", "community", "school", "partner"})),
    # Guardians are not granted by assignment: their scope is their Guardianship rows (people app),
    # so the family relation has one source of truth. Listed so that the role has a name and rules.
    Role.GUARDIAN: RoleRule(unit_kinds=frozenset(), staff_session=False),
}
RULES: dict[str, RoleRule] = {role: replace(rule, role=str(role), label=role.label) for role, rule in _RULES.items()}

ADMIN_ROLES = frozenset(r for r, rule in RULES.items() if rule.is_admin)
# Every role but the family's: whoever holds one works in the staff workspace.
STAFF_ROLES = frozenset(r for r in RULES if r != Role.GUARDIAN)


# What a session and a log-in demand follows from the roles held (their rules here), not from a permission:
# the middleware asks these, so that only the role table reads role names.
def holds_staff_session_role(scope) -> bool:
    """Holds a role with the staff idle timeout (any but the guardian's)."""
    return any(RULES[r].staff_session for r in scope.role_names if r in RULES)


def holds_admin_role(scope) -> bool:
    """Holds a role that needs a second factor (district or school admin)."""
    return bool(scope.role_names & ADMIN_ROLES)


@cache
def role_perms() -> dict[str, frozenset[str]]:
    """Role -> the permission codes it holds on its unit's subtree, from every installed module's Perms."""
    held: dict[str, set[str]] = {str(r): set() for r in RULES}
    for perm in all_perms():
        for role in perm.roles:
            if role not in held:
                raise ImproperlyConfigured(f"{perm!r} is granted to {role!r}, which is not a role (accounts.roles.Role)")
            held[role].add(perm.code)
    return {r: frozenset(p) for r, p in held.items()}


@on_forget
def _forget() -> None:
    role_perms.cache_clear()


def __getattr__(name: str):
    # CARER_STUDENT_PERMS: what a carer (a role held for one student) may do with that student;
    # GUARDIAN_STUDENT_PERMS: what a guardian may do with their own children. Built from the modules'
    # declarations on first use (apps must be loaded), hence module attributes computed lazily.
    if name == "CARER_STUDENT_PERMS":
        return student_perms()["carer"]
    if name == "GUARDIAN_STUDENT_PERMS":
        return student_perms()["guardian"]
    raise AttributeError(name)
