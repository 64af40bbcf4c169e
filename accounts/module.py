"""The accounts app on the module contract (core.modules)."""

from accounts import perms
from accounts.roles import RULES
from core.modules import Module

MODULE = Module(
    label="accounts",
    url_prefix="accounts/",
    api_prefix="/auth",
    api_router="accounts.api.router",
    perms=(perms.ROLES_MANAGE,),
    roles=RULES,
    housekeeping=("accounts.tasks.delete_expired",),
)
