"""The org app's permissions (core.perms), with the roles that hold them on their unit's subtree."""

from django.utils.translation import gettext_lazy as _

from core.perms import Perm

MANAGE = Perm("org.manage", _("新建、编辑、停用本范围内的单位"), roles=("district_admin", "school_admin"))

# The people app's permissions that org's class pages ask: org sits below people and names none of them.
# People fills these slots in its module.py (Module.provides; asked with core.perms.can_provided /
# provided_perm). Unfilled, nobody holds them.
ROSTER_SLOT = "org.roster_perm"  # sees a class's students and families: the roster, the people figures
INVITE_SLOT = "org.invite_perm"  # hands out and resets a class's invite code
