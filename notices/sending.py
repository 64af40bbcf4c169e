"""Notices' words for their pushes (messaging's composer for sources "notice:<id>"). Claiming, heartbeats,
out-ids, quiet hours and caps live in messaging.sending, which notices call directly."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from messaging.channels import OutMessage
from messaging.conf import site_url
from messaging.models import Delivery
from notices.models import DeliveryKind, Notice, Priority, ReplyKind
from notices.sanitize import to_text


def source_of(notice_id: int) -> str:
    """The messaging source label of a notice's deliveries."""
    return f"notice:{notice_id}"


def compose(delivery: Delivery, address: str, cache: dict) -> OutMessage | str:
    notice_id = int(delivery.source.split(":", 1)[1])
    notice = cache.get(notice_id)
    if notice is None:
        notice = cache[notice_id] = Notice.objects.get(pk=notice_id)
    if notice.status == "withdrawn":
        return _("通知已撤回")
    guardian = delivery.guardian
    site = site_url()
    url = f"{site}/notices/r/{notice.pk}/"
    tag = {Priority.EMERGENCY: _("【紧急】"), Priority.IMPORTANT: _("【重要】")}.get(notice.priority, "")
    prefix = _("【提醒】") if delivery.kind == DeliveryKind.REMINDER else ""
    ask = _("，请查看并回执") if notice.reply_kind != ReplyKind.NONE else _("，请查看")
    if delivery.channel == "sms" and guardian is not None and guardian.user_id is None:
        # Not activated yet: the link would only meet a log-in page.
        tail = _("。请用本手机号激活共育平台后查看：%(url)s") % {"url": f"{site}/accounts/activate/"}
    else:
        tail = _("：%(url)s") % {"url": url}
    text = _("%(prefix)s%(tag)s%(sender)s发来通知《%(title)s》%(ask)s%(tail)s") % {
        "prefix": prefix,
        "tag": tag,
        "sender": notice.sender_label,
        "title": notice.title,
        "ask": ask,
        "tail": tail,
    }
    data = {
        "first": {"value": f"{prefix}{tag}{notice.title}"},
        "keyword1": {"value": notice.sender_label},
        "keyword2": {"value": timezone.localtime(notice.published_at or notice.publish_at).strftime("%Y-%m-%d %H:%M")},
        "remark": {"value": to_text(notice.body, limit=60)},
    }
    return OutMessage(
        channel=delivery.channel,
        to=address,
        subject=f"{tag}{notice.title}",
        text=text,
        url=url,
        idempotency_key=delivery.idempotency_key,
        data=data,
    )
