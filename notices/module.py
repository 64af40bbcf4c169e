"""The notices app on the module contract (core.modules)."""

from django.utils.translation import gettext_lazy as _

from core.modules import Card, DemoStep, Module
from core.perms import can
from notices import perms
from notices.audience import can_send


def _card(user, scope):
    # A sender and a mere recipient are promised different things.
    if can_send(user):
        # The tile opens the sent list: an inbox count would point somewhere else.
        return "notices:index", _("发通知、看谁还没读、一键提醒"), None
    if can(user, perms.RECEIVE):
        return "notices:inbox", _("查看发给我的通知，按要求回执"), "unread_notices"
    return None


MODULE = Module(
    label="notices",
    url_prefix="notices/",
    api_prefix="/notices",
    api_router="notices.api.router",
    perms=(perms.SEND, perms.SEND_TO_SCHOOLS, perms.RECEIVE),
    cards=(Card("bi-megaphone", _("通知公告"), _card, order=10),),
    object_pages={
        "notices:stats": ("notice", "GET"), "notices:stats_partial": ("notice", "GET"),
        "notices:class_report": ("notice", "GET"),  # takes a notice and a class
        "notices:remind": ("notice", "POST"), "notices:withdraw": ("notice", "POST"), "notices:export": ("notice", "GET"),
        "notices:read": ("notice", "GET"), "notices:reply": ("notice", "POST"), "notices:attachment": ("notice_file", "GET"),
    },
    object_api={
        "api/v1/notices/<int:notice_id>": ("notice", "GET"),
        "api/v1/notices/<int:notice_id>/reply": ("notice", "POST"),
        "api/v1/notices/<int:notice_id>/stats": ("notice", "GET"),
        "api/v1/notices/<int:notice_id>/remind": ("notice", "POST"),
        "api/v1/notices/<int:notice_id>/withdraw": ("notice", "POST"),
    },
    # Notices, consultations and guides (homeschool's demo rides along: it needs the notices' senders).
    demo=DemoStep("demo_notices", order=30),
)
