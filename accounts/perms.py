"""The accounts app's permissions (core.perms), with the roles that hold them on their unit's subtree."""

from django.utils.translation import gettext_lazy as _

from core.perms import Perm

ROLES_MANAGE = Perm("roles.manage", _("授予和撤销本范围内的角色"), roles=("district_admin", "school_admin"))
