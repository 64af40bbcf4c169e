"""The roster app's permissions (core.perms), with the roles that hold them on their unit's subtree."""

from django.utils.translation import gettext_lazy as _

from core.perms import Perm

# The workspace's 花名册 tile (was a test of the admin roles' names); the import itself needs people.manage.
USE = Perm("roster.use", _("用Excel导入或导出学生和家长"), roles=("district_admin", "school_admin"))
