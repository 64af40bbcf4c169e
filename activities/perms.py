"""The activities app's permissions (core.perms), with the roles that hold them on their unit's subtree."""

from django.utils.translation import gettext_lazy as _

from core.perms import Perm

MANAGE = Perm(
    "activities.manage",
    _("为本范围内的对象组织活动、征集与签到，查看覆盖情况"),
    roles=("district_admin", "street_staff", "school_admin", "class_teacher", "grid_worker", "partner_contact"),
)
APPROVE = Perm("activities.approve", _("审批校外活动"), roles=("district_admin", "school_admin"))
