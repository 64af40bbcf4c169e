"""Who sees guardians' full phone numbers, and the access-log row each showing writes (docs/security.md).

- By default: the class teacher (people.call_families, held on the class), on the pages and answers about
  their own class, because calling families is their job. Each page view, API answer or export that shows
  full numbers writes one access row (REASON_DEFAULT), whatever the number of phones on it.
- On request: other holders of people.view_contact (the school admin) and platform operators see masked
  numbers and may ask to see one student's ("显示号码"); each showing writes one access row (REASON_REVEAL).
  A file export shows full numbers only to holders of people.view_contact and writes one access row.
- Everyone else who sees guardians (subject and psychology teachers, health vice-principal, district admin,
  carers): masked, with nothing to ask for; a guardian sees co-guardians without numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.services import record_access
from core.perms import can, perm_paths
from core.scoping import get_scope
from people.perms import CALL_FAMILIES, VIEW, VIEW_CONTACT

FULL = "full"
ON_REQUEST = "on_request"  # masked until the viewer asks for one student's numbers
MASKED = "masked"
HIDDEN = "none"

# Stored with each access row; audit data, so not translated.
REASON_DEFAULT = "班主任联系家长"
REASON_REVEAL = "查看家长手机号"
REASON_EXPORT = "导出家长手机号"


@dataclass(frozen=True)
class Contact:
    level: str  # FULL, ON_REQUEST, MASKED or HIDDEN, as shown on this page
    revealed: bool = False  # FULL because the viewer asked (the page offers to hide them again)

    @property
    def full(self) -> bool:
        return self.level == FULL


def rule(user, target) -> str:
    """How the guardians' numbers of target (a student, or a class for its roster) are shown by default."""
    scope = get_scope(user)
    if not scope.superuser and can(scope, CALL_FAMILIES, target):
        return FULL
    if can(scope, VIEW_CONTACT, target):
        return ON_REQUEST
    path = target.scope_path() if hasattr(target, "scope_path") else target.path
    if any(path.startswith(p) for p in perm_paths(scope, VIEW)):
        return MASKED
    student_id = getattr(target, "scope_student_id", None)
    if student_id in scope.student_perms.get(VIEW, frozenset()) and student_id not in scope.family_student_ids:
        return MASKED  # a carer assigned to this child
    return HIDDEN  # a guardian looking at their own child sees co-guardians without numbers


def show(user, target, *, reveal: bool = False, where: str, any_phone: bool = True) -> Contact:
    """The numbers to show on one page view (or API answer) about target, with its access row written.

    reveal is the viewer's request to see them; it changes nothing for those who may not ask. A page with
    no phone number on it (any_phone false) shows nothing and writes nothing."""
    level = rule(user, target)
    if level == FULL:
        if any_phone:
            record_access(user=user, obj=target, reason=f"{REASON_DEFAULT}：{where}")
        return Contact(FULL)
    if level == ON_REQUEST and reveal and any_phone:
        record_access(user=user, obj=target, reason=f"{REASON_REVEAL}：{where}")
        return Contact(FULL, revealed=True)
    return Contact(level)


def log_export(user, target, *, where: str) -> None:
    """One access row for a file that holds full numbers (a roster or notice export)."""
    record_access(user=user, obj=target, reason=f"{REASON_EXPORT}：{where}")
