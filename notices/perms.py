"""The notices app's permissions (core.perms), with the roles that hold them on their unit's subtree."""

from django.utils.translation import gettext_lazy as _

from core.perms import Perm

SEND = Perm("notices.send", _("向本范围内的对象发送通知并查看阅读统计"), roles=("district_admin", "school_admin", "class_teacher"))
# A street workstation reaches its street's schools with notices, but does not oversee the schools' own:
# only the audience checks read it, never the follow/manage rules.
SEND_TO_SCHOOLS = Perm("notices.send_to_schools", _("向本范围内的学校发送通知，只查看自己发的"), roles=("street_staff",))
# The staff a notice can be addressed to (notices.audience.STAFF_ROLE_CHOICES): they have an inbox.
RECEIVE = Perm(
    "notices.receive",
    _("接收发给本岗位的通知"),
    roles=("school_admin", "class_teacher", "subject_teacher", "psych_teacher", "health_vp", "street_staff", "grid_worker"),
)
