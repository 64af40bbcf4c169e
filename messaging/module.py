"""The messaging app on the module contract (core.modules): a platform app that other modules call
(messaging.services.notify), and the recipient's list of in-app messages (/messages/, /api/v1/messages)."""

from django.utils.translation import gettext_lazy as _

from core.modules import Card, Module
from messaging import selectors


def _card(user, scope):
    # Families are whom the platform's clients notify in-app today (consultation replies, micro-guides,
    # waitlist promotions): their tile is always there, with the unread count. Staff get it once something
    # has been sent to their account, rather than an empty tile for everyone.
    if scope.guardian_id or (scope.user_id and selectors.has_messages(user)):
        return "messaging:inbox", _("活动、咨询回复等站内消息"), "unread_messages"
    return None


MODULE = Module(
    label="messaging",
    url_prefix="messages/",
    api_prefix="/messages",
    api_router="messaging.api.router",
    # On the family page too: a guardian lands there after log-in, not on the staff workspace.
    cards=(Card("bi-envelope", _("我的消息"), _card, order=15, family=True),),
    counters={"unread_messages": "messaging.selectors.unread_count"},
    object_pages={"messaging:open": ("delivery", "GET")},
    object_api={"api/v1/messages/<int:delivery_id>/read": ("delivery", "POST")},
)
