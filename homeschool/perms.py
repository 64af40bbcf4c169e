"""The homeschool app's permissions (core.perms), with the roles that hold them on their unit's subtree."""

from django.utils.translation import gettext_lazy as _

from core.perms import Perm

TEACH = Perm("homeschool.teach", _("答复本班咨询，安排和记录家访，发布微指南"), roles=("class_teacher",))
OVERSEE = Perm("homeschool.oversee", _("查看咨询答复时效、各班家访覆盖，管理常见问题与微指南"), roles=("district_admin", "school_admin"))
# The district's pool of experts who answer questions sent to them (was a test of the role's name).
MANAGE_POOL = Perm("homeschool.manage_pool", _("管理区级专家库"), roles=("district_admin",))
