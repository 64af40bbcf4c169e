"""The people app's permissions (core.perms), with the roles that hold them: on their unit's subtree
(roles), on the one student a carer looks after (carer), on a guardian's own children (guardian)."""

from django.utils.translation import gettext_lazy as _

from core.perms import Perm

_STUDENT_STAFF = ("district_admin", "school_admin", "class_teacher", "subject_teacher", "psych_teacher", "health_vp")

VIEW = Perm("people.view", _("查看本范围内的学生及其家长"), roles=_STUDENT_STAFF, carer=True, guardian=True)
MANAGE = Perm("people.manage", _("编辑学生、家长及监护关系"), roles=("district_admin", "school_admin", "class_teacher"))
# Each showing writes an access row (people.contact).
VIEW_CONTACT = Perm("people.view_contact", _("按需查看家长完整手机号"), roles=("school_admin", "class_teacher"))
# The class teacher: calling families is their job; each page view that shows them writes an access row.
CALL_FAMILIES = Perm("people.call_families", _("直接查看家长完整手机号以便联系"), roles=("class_teacher",))
VIEW_IDENTITY = Perm("people.view_identity", _("查看完整身份证号"), roles=("school_admin",))
CONSENT_VIEW = Perm("consent.view", _("查看家长的授权同意记录"), roles=("district_admin", "school_admin", "class_teacher"))
FAMILY_VIEW = Perm("family.view", _("查看自己孩子的家庭信息"), guardian=True)
# The teachers of a class (the workspace's 我的班级): replaces a test of their role names.
TEACH_CLASSES = Perm("people.teach_classes", _("查看我任教的班级"), roles=("class_teacher", "subject_teacher"))
