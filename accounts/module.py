"""The accounts app on the module contract (core.modules)."""

from accounts import perms
from accounts.roles import RULES
from core.modules import DemoStep, Module

MODULE = Module(
    label="accounts",
    url_prefix="accounts/",
    api_prefix="/auth",
    api_router="accounts.api.router",
    perms=(perms.ROLES_MANAGE,),
    roles=RULES,
    # The district itself (units, students, families, staff accounts): every other module's demo builds on it.
    # Here, not in people, because it makes accounts and roles (people imports no accounts).
    demo=DemoStep("build_demo", options=("students", "seed", "if_empty"), order=10),
    housekeeping=("accounts.tasks.delete_expired",),
    provides={
        "org.class_teacher_rows": "accounts.provided.class_teacher_rows",
        "people.own_role_titles": "accounts.provided.own_role_titles",
    },
)
