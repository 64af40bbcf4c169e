"""Who a notice may go to: units, staff roles and hand-picked families inside the sender's scope.

Everything a sender picks is checked against core.scoping (OrgUnit/Student .visible_to) and
core.perms (can(user, SEND, …)); the fan-out later only reads the ids that passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import RoleAssignment
from accounts.roles import Role
from core.crypto import digest
from core.ids import parse_id
from core.perms import can, perm_paths
from core.scoping import get_scope, prefix_q
from notices.perms import SEND as SEND_PERM
from notices.perms import SEND_TO_SCHOOLS as SEND_TO_SCHOOLS_PERM
from org.models import Kind, OrgUnit
from people.models import Guardianship, Student

ADDRESSABLE_KINDS = (Kind.DISTRICT, Kind.STREET, Kind.SCHOOL, Kind.GRADE, Kind.CLASS)
STAFF_ROLE_CHOICES = [
    (r.value, r.label)
    for r in (
        Role.SCHOOL_ADMIN,
        Role.CLASS_TEACHER,
        Role.SUBJECT_TEACHER,
        Role.PSYCH_TEACHER,
        Role.HEALTH_VP,
        Role.STREET_STAFF,
        Role.GRID_WORKER,
    )
]
MAX_PICKED = 500


@dataclass
class Audience:
    units: list[OrgUnit] = field(default_factory=list)
    include_guardians: bool = True
    staff_roles: list[str] = field(default_factory=list)
    students: list[Student] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "unit_ids": [u.id for u in self.units],
            "unit_paths": [u.path for u in self.units],
            "include_guardians": self.include_guardians,
            "staff_roles": list(self.staff_roles),
            "student_ids": [s.id for s in self.students],
        }

    def summary(self) -> str:
        parts = []
        names = "、".join(u.name for u in self.units[:5]) + (_("等%(n)d个单位") % {"n": len(self.units)} if len(self.units) > 5 else "")
        if self.units and self.include_guardians:
            parts.append(_("%(units)s的全体家长") % {"units": names})
        if self.units and self.staff_roles:
            roles = "、".join(str(dict(STAFF_ROLE_CHOICES).get(r, r)) for r in self.staff_roles)
            parts.append(_("%(units)s的%(roles)s") % {"units": names, "roles": roles})
        if self.students:
            parts.append(_("指定的%(n)d户家庭") % {"n": len(self.students)})
        return "；".join(parts)[:300]


def sendable_units(user):
    """Units the user may address: visible to them and inside a subtree where they hold notices.send."""
    scope = get_scope(user)
    qs = OrgUnit.objects.visible_to(user).filter(kind__in=ADDRESSABLE_KINDS, is_active=True)
    if scope.superuser:
        return qs
    q = prefix_q("path", send_prefixes(scope))
    return qs.filter(q) if q is not None else qs.none()


def send_prefixes(scope) -> tuple[str, ...]:
    """The subtrees the user may address: notices.send, and notices.send_to_schools (street staff)."""
    return perm_paths(scope, SEND_PERM, SEND_TO_SCHOOLS_PERM)


def can_send(user) -> bool:
    """May compose notices at all (the 发通知 button, the home tile's wording)."""
    scope = get_scope(user)
    return can(scope, SEND_PERM) or can(scope, SEND_TO_SCHOOLS_PERM)


def resolve(user, *, unit_ids, include_guardians: bool, staff_roles, student_nos, student_ids=()) -> Audience:
    """Turn what the sender picked into checked objects, or raise ValidationError saying what to fix.

    student_nos: 学籍号 typed by the sender (matched by digest); student_ids: the picker's ticks."""
    scope = get_scope(user)
    errors = []
    clean_ids = set()
    for raw in unit_ids or ():
        unit_id = parse_id(raw)  # "abc" or a 20-digit id: a message, not the database's overflow
        if unit_id is None:
            errors.append(_("发送范围中有无效的单位，请重新选择。"))
        else:
            clean_ids.add(unit_id)
    units = list(sendable_units(user).filter(id__in=clean_ids).order_by("path"))
    if len(units) != len(clean_ids):
        errors.append(_("所选单位中有您无权发送通知的单位，请只选择您负责的学校、年级或班级。"))
    # A unit inside another picked unit adds nobody: keep the outer one so the summary stays short.
    kept: list[OrgUnit] = []
    for unit in units:
        if not any(unit.path.startswith(k.path) for k in kept):
            kept.append(unit)
    roles = [r for r in (staff_roles or []) if r]
    allowed_roles = {r for r, _label in STAFF_ROLE_CHOICES}
    if any(r not in allowed_roles for r in roles):
        errors.append(_("所选教职工角色无效，请重新选择。"))
    nos = list(dict.fromkeys(n.strip().upper() for n in (student_nos or []) if n and n.strip()))
    picked_ids = set()
    for raw in student_ids or ():
        student_id = parse_id(raw)
        if student_id is None:
            errors.append(_("指定的家庭中有无效的选项，请重新选择。"))
        else:
            picked_ids.add(student_id)
    if len(nos) + len(picked_ids) > MAX_PICKED:
        errors.append(_("一次最多指定 %(n)d 户家庭，请分批发送或改为按班级发送。") % {"n": MAX_PICKED})
        nos, picked_ids = [], set()
    visible = Student.objects.visible_to(user).active().select_related("school_class")
    by_no = {s.student_no_digest: s for s in visible.with_student_no(*nos)} if nos else {}
    by_id = {s.pk: s for s in visible.filter(id__in=picked_ids)} if picked_ids else {}
    missing = [n for n in nos if digest(n) not in by_no]
    if missing:
        errors.append(_("找不到以下学籍号的学生（或不在您负责的范围内）：%(nos)s。请核对后重试。") % {"nos": "、".join(missing[:10])})
    if len(by_id) != len(picked_ids):
        errors.append(_("所选家庭中有已离校或不在您负责范围内的学生，请重新选择。"))
    students = list({s.pk: s for s in [*by_no.values(), *by_id.values()]}.values())
    refused = [s for s in students if not can(scope, SEND_PERM, s)]
    if refused:
        errors.append(_("您无权给以下学生的家庭发送通知：%(names)s。") % {"names": "、".join(s.name for s in refused[:10])})
    if not kept and not students:
        errors.append(_("请至少选择一个发送单位，或指定要通知的家庭。"))
    elif kept and not include_guardians and not roles:
        errors.append(_("请选择通知家长，或选择要通知的教职工角色。"))
    if errors:
        raise ValidationError(errors)
    return Audience(units=kept, include_guardians=include_guardians, staff_roles=roles, students=students)


def common_unit(user, audience: Audience) -> OrgUnit:
    """The unit a notice is sent in the name of: the deepest unit holding every target."""
    paths = [u.path for u in audience.units] + [s.school_class.path for s in audience.students]
    first = paths[0].strip("/").split("/")
    common: list[str] = []
    for i, part in enumerate(first):
        if all(len(p.strip("/").split("/")) > i and p.strip("/").split("/")[i] == part for p in paths):
            common.append(part)
        else:
            break
    unit_id = int(common[-1])
    return OrgUnit.objects.system(reason="the common ancestor of an audience's units").get(pk=unit_id)


def recipient_count(audience: Audience, *, at=None) -> tuple[int, int]:
    """(families' guardians, staff) that a notice to this audience reaches now: the fan-out's own rules
    (active guardians of active students in the addressed classes or picked; active staff holding one of
    the roles in an addressed unit), counted rather than written. For the composer's 发给 N 位家长？"""
    at = at or timezone.now()
    paths = [u.path for u in audience.units]
    addressed = Q(student_id__in=[st.pk for st in audience.students])
    if audience.include_guardians and paths:
        addressed |= prefix_q("student__school_class__path", paths)
    families = (
        Guardianship.objects.system(reason="an audience reaches families beyond the sender's own scope").filter(addressed, student__is_active=True, guardian__is_active=True)
        .values("guardian_id")
        .distinct()
        .count()
    )
    staff = 0
    if audience.staff_roles and paths:
        staff = (
            RoleAssignment.objects.system(reason="an audience reaches staff beyond the sender's own scope").filter(
                prefix_q("unit__path", paths),
                is_active=True,
                user__is_active=True,
                student__isnull=True,
                role__in=audience.staff_roles,
            )
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
            .values("user_id")
            .distinct()
            .count()
        )
    return families, staff
