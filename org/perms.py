"""The org app's permissions (core.perms), with the roles that hold them on their unit's subtree."""

from django.utils.translation import gettext_lazy as _

from core.perms import Perm

MANAGE = Perm("org.manage", _("新建、编辑、停用本范围内的单位"), roles=("district_admin", "school_admin"))

# The people app's permissions (people.perms) are named here by their codes, "people.view" and
# "people.manage": org sits below people, so it does not import people's module.
