"""The org app on the module contract (core.modules)."""

from core.modules import Module
from org import perms

MODULE = Module(
    label="org",
    url_prefix="org/",
    api_prefix="/org",
    api_router="org.api.router",
    perms=(perms.MANAGE,),
    object_pages={
        "org:unit_detail": ("unit", "GET"),
        "org:unit_children": ("unit", "GET"),
        "org:unit_add": ("unit", "GET"),  # pk = the parent of the unit to add; also POSTed by the walk
        "org:unit_edit": ("unit", "GET"),  # also POSTed by the walk
        "org:unit_toggle": ("unit", "POST"),
        "org:class_roster": ("unit", "GET"),
        "org:class_invite_reset": ("unit", "POST"),
    },
    object_api={"api/v1/org/units/<unit_id>": ("unit", "GET")},
)
