"""Roles and what each may see and do. A role is always held in a scope: an org unit, or a student
for carers. This table is the only place that says what a role means; core.scoping applies it."""

from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


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


# How far a role's structural view reaches from the unit it is held in.
SUBTREE = "subtree"  # the unit and everything under it
DISTRICT = "district"  # the whole district the unit belongs to (structure only)


@dataclass(frozen=True)
class RoleRule:
    unit_kinds: frozenset[str]  # kinds of unit the role may be held in
    sees_units: str = SUBTREE
    sees_students: bool = False  # every student under the unit
    student_assignable: bool = False  # may be held for one student (carer)
    perms: frozenset[str] = field(default_factory=frozenset)  # named flags, granted on the unit's subtree
    is_admin: bool = False  # needs a second factor where GONGYU_ADMIN_2FA is on
    staff_session: bool = True  # 30-minute idle timeout


# Permission flags (checked the same way in views, API, templates and exports):
#   org.manage           create/edit/deactivate units in the subtree
#   roles.manage         grant and revoke roles in the subtree
#   people.view          see the students (and their guardians) in the subtree
#   people.manage        edit students, guardians and guardianships in the subtree
#   people.view_contact  see guardians' phone numbers unmasked on request (one student's, or in an export);
#                        each showing writes an access row (people.contact)
#   people.call_families see guardians' phone numbers unmasked without asking (the class teacher: calling
#                        families is their job); each page view that shows them writes an access row
#   people.view_identity see ID numbers unmasked
#   consent.view         see guardians' consent records
#   audit.view           read the audit log
#   activities.manage    organise activities, campaigns and check-ins for audiences in the subtree; see coverage
#   activities.approve   approve off-campus activities before sign-up opens
#   courses.manage       run the parent school: courses, lessons, homework feedback, demand topics
#   notices.send         send notices to audiences in the subtree; follow their read statistics
#   notices.send_to_schools  send notices to the schools (staff, families) in the subtree; follow only one's own
#   homeschool.teach     answer the class's consultations, plan and record home visits, publish micro-guides
#   homeschool.oversee   consultation reply times, home-visit coverage of every class, FAQ and micro-guides
RULES: dict[str, RoleRule] = {
    Role.DISTRICT_ADMIN: RoleRule(
        unit_kinds=frozenset({"district"}),
        sees_students=True,
        perms=frozenset({"org.manage", "roles.manage", "people.view", "people.manage", "consent.view", "audit.view",
                         "activities.manage", "activities.approve", "courses.manage", "notices.send", "homeschool.oversee"}),
        is_admin=True,
    ),
    Role.DEPARTMENT_LIAISON: RoleRule(unit_kinds=frozenset({"department"}), sees_units=DISTRICT),
    # A street workstation reaches its street's schools with notices, but does not oversee the schools' own.
    Role.STREET_STAFF: RoleRule(unit_kinds=frozenset({"street"}), perms=frozenset({"activities.manage", "notices.send_to_schools"})),
    Role.SCHOOL_ADMIN: RoleRule(
        unit_kinds=frozenset({"school"}),
        sees_students=True,
        perms=frozenset(
            {"org.manage", "roles.manage", "people.view", "people.manage", "people.view_contact", "people.view_identity", "consent.view",
             "activities.manage", "activities.approve", "courses.manage", "notices.send", "homeschool.oversee"}
        ),
        is_admin=True,
    ),
    Role.CLASS_TEACHER: RoleRule(
        unit_kinds=frozenset({"class"}),
        sees_students=True,
        perms=frozenset({"people.view", "people.manage", "people.view_contact", "people.call_families", "consent.view", "activities.manage", "notices.send", "homeschool.teach"}),
    ),
    Role.SUBJECT_TEACHER: RoleRule(unit_kinds=frozenset({"class"}), sees_students=True, perms=frozenset({"people.view"})),
    Role.PSYCH_TEACHER: RoleRule(unit_kinds=frozenset({"school"}), sees_students=True, perms=frozenset({"people.view"})),
    Role.HEALTH_VP: RoleRule(unit_kinds=frozenset({"school"}), sees_students=True, perms=frozenset({"people.view"})),
    Role.GRID_WORKER: RoleRule(unit_kinds=frozenset({"community"}), student_assignable=True, perms=frozenset({"activities.manage"})),
    Role.PARTNER_CONTACT: RoleRule(unit_kinds=frozenset({"partner"}), perms=frozenset({"activities.manage"})),
    Role.VOLUNTEER: RoleRule(unit_kinds=frozenset({"district", "street", "community", "school", "partner"})),
    # Guardians are not granted by assignment: their scope is their Guardianship rows (people app),
    # so the family relation has one source of truth. Listed so that the role has a name and rules.
    Role.GUARDIAN: RoleRule(unit_kinds=frozenset(), staff_session=False),
}

# What a carer (a role held for one student) may do with that student.
CARER_STUDENT_PERMS = frozenset({"people.view"})
# What a guardian may do with their own children.
GUARDIAN_STUDENT_PERMS = frozenset({"people.view", "family.view"})

ADMIN_ROLES = frozenset(r for r, rule in RULES.items() if rule.is_admin)
