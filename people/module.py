"""The people app on the module contract (core.modules)."""

from core.modules import DemoStep, Module
from people import kpis, perms

MODULE = Module(
    label="people",
    url_prefix="people/",
    api_prefix="/people",
    api_router="people.api.router",
    perms=(
        perms.VIEW, perms.MANAGE, perms.VIEW_CONTACT, perms.CALL_FAMILIES, perms.VIEW_IDENTITY, perms.CONSENT_VIEW,
        perms.FAMILY_VIEW, perms.TEACH_CLASSES,
    ),
    kpis=(kpis.GUARDIAN_ACTIVATION,),
    object_pages={"people:student_detail": ("student", "GET")},
    object_api={"api/v1/people/students/<student_id>": ("student", "GET")},
    # The district itself (units, students, families, staff): every other module's demo builds on it.
    demo=DemoStep("build_demo", options=("students", "seed", "if_empty"), order=10),
)
