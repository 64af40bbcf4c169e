"""The activities app on the module contract (core.modules)."""

from django.utils.translation import gettext_lazy as _

from activities import perms
from core.modules import Card, DemoStep, Module
from core.perms import can


def _card(user, scope):
    if can(user, perms.MANAGE):
        return "activities:list", _("家长会、亲子活动、报名与扫码签到"), None
    return None


MODULE = Module(
    label="activities",
    url_prefix="activities/",
    api_prefix="/activities",
    api_router="activities.api.router",
    perms=(perms.MANAGE, perms.APPROVE),
    cards=(Card("bi-calendar-event", _("协同活动"), _card, order=20),),
    object_pages={
        "activities:detail": ("activity", "GET"), "activities:edit": ("activity", "GET"), "activities:submit": ("activity", "POST"),
        "activities:approve": ("activity", "POST"), "activities:cancel": ("activity", "POST"),
        "activities:session_add": ("activity", "POST"), "activities:rate": ("activity", "POST"),
        "activities:photos": ("activity", "POST"), "activities:minutes": ("activity", "POST"),
        "activities:photo": ("photo", "GET"), "activities:signup": ("session", "POST"), "activities:capacity": ("session", "POST"),
        "activities:qr": ("session", "GET"), "activities:qr_live": ("session", "GET"), "activities:attendance": ("session", "GET"),
        "activities:export": ("session", "GET"), "activities:signup_cancel": ("signup", "POST"),
        "activities:checkin": ("session", "GET"), "activities:campaign": ("campaign", "GET"),
        "activities:campaign_post": ("campaign", "POST"), "activities:post_comment": ("post", "POST"),
        "activities:post_feature": ("post", "POST"), "activities:campaign_photo": ("post_photo", "GET"),
    },
    object_api={
        "api/v1/activities/sessions/<session_id>/signup": ("session", "POST"),
        "api/v1/activities/signups/<signup_id>/cancel": ("signup", "POST"),
        "api/v1/activities/sessions/<session_id>/checkin": ("session", "POST"),
    },
    # Activities, check-ins and the parent school's courses (courses' demo rides along).
    demo=DemoStep("demo_activities", order=20),
    # Organisers see their classes' participation in the ledger (ledger imports no activities).
    provides={"ledger.participation_staff_perm": "activities.perms.MANAGE"},
)
