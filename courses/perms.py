"""The courses app's permissions (core.perms), with the roles that hold them on their unit's subtree."""

from django.utils.translation import gettext_lazy as _

from core.perms import Perm

MANAGE = Perm("courses.manage", _("开办家长学校：课程、课时、作业反馈与需求话题"), roles=("district_admin", "school_admin"))
