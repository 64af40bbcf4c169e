"""The audit app's permissions (core.perms), with the roles that hold them on their unit's subtree."""

from django.utils.translation import gettext_lazy as _

from core.perms import Perm

VIEW = Perm("audit.view", _("查看审计日志"), roles=("district_admin",))
