"""The people app on the module contract (core.modules)."""

from core.modules import Module
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
    # The figures and the class roster org's pages show (org imports no people).
    provides={
        "org.student_counts_by_class_path": "people.selectors.student_counts_by_class_path",
        "org.people_headline": "people.selectors.people_headline",
        "org.class_people_subqueries": "people.selectors.class_people_subqueries",
        "org.class_roster_page": "people.views.class_roster_page",
        # The permissions org's class pages ask (core.perms.provided_perm).
        "org.roster_perm": "people.perms.VIEW",
        "org.invite_perm": "people.perms.MANAGE",
    },
    object_pages={"people:student_detail": ("student", "GET")},
    object_api={"api/v1/people/students/<student_id>": ("student", "GET")},
)
