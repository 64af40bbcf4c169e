"""Sending due push rows: claim a batch (status pending → sending), send, record the result.

The claim is one UPDATE on rows locked with SKIP LOCKED (PostgreSQL), so two workers never take the
same row; a row left in "sending" by a killed worker is put back by the sweeper and re-sent with the
same idempotency key, which gateways use to drop a duplicate.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from notices import conf
from notices.channels import OutMessage, backend_for
from notices.models import Delivery, DeliveryKind, DeliveryStatus, GuardianChannel, Priority, ReplyKind
from notices.sanitize import to_text

log = logging.getLogger(__name__)


def _claim(now: dt.datetime, notice_id: int | None, batch: int) -> list[int]:
    with transaction.atomic():
        qs = Delivery.objects.filter(status=DeliveryStatus.PENDING, not_before__lte=now)
        if notice_id is not None:
            qs = qs.filter(notice_id=notice_id)
        ids = list(qs.select_for_update(skip_locked=True).order_by("id").values_list("id", flat=True)[:batch])
        if ids:
            Delivery.objects.filter(id__in=ids, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
            )
    return ids


def _compose(delivery: Delivery, address: str) -> OutMessage:
    notice = delivery.notice
    guardian = delivery.receipt.guardian
    site = conf.site_url()
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


def send_due(*, notice_id: int | None = None, max_batches: int | None = None) -> int:
    """Send every due pending row (of one notice, or all); returns how many were sent."""
    sent = 0
    batches = 0
    backends = {}
    while max_batches is None or batches < max_batches:
        now = timezone.now()
        ids = _claim(now, notice_id, conf.send_batch())
        if not ids:
            break
        batches += 1
        rows = list(Delivery.objects.filter(id__in=ids).select_related("notice", "receipt__guardian"))
        guardian_ids = {d.receipt.guardian_id for d in rows if d.receipt.guardian_id}
        addresses = {
            (c.guardian_id, c.channel): c.address
            for c in GuardianChannel.objects.filter(guardian_id__in=guardian_ids, enabled=True).exclude(channel="sms")
        }
        for d in rows:
            guardian = d.receipt.guardian
            address = ""
            if guardian is not None:
                address = guardian.phone if d.channel == "sms" else addresses.get((guardian.pk, d.channel), "")
            if d.notice.status == "withdrawn":
                d.status, d.error = DeliveryStatus.CANCELLED, _("通知已撤回")
                continue
            if not address:
                d.status, d.error = DeliveryStatus.FAILED, _("没有可用的联系方式")
                continue
            backend = backends.get(d.channel) or backends.setdefault(d.channel, backend_for(d.channel))
            try:
                result = backend.send(_compose(d, address))
            except Exception as exc:  # a broken backend must not leave the batch claimed forever
                log.exception("delivery backend error on %s: %s", d.channel, type(exc).__name__)
                from notices.channels import SendResult

                result = SendResult(ok=False, error=_("发送程序出错"), retry=True)
            if result.ok:
                d.status, d.sent_at, d.provider_ref, d.error = DeliveryStatus.SENT, timezone.now(), result.provider_ref, ""
                sent += 1
            elif result.retry and d.attempts < conf.max_attempts():
                d.status, d.error = DeliveryStatus.PENDING, result.error
                d.not_before = timezone.now() + dt.timedelta(minutes=2 ** d.attempts)
            else:
                d.status, d.error = DeliveryStatus.FAILED, result.error
        Delivery.objects.bulk_update(rows, ["status", "sent_at", "provider_ref", "error", "not_before"])
    return sent


def release_stale_claims() -> int:
    """Rows claimed by a worker that died are put back (same row, same key: the gateway deduplicates)."""
    cutoff = timezone.now() - dt.timedelta(minutes=conf.stale_minutes())
    return Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff).update(status=DeliveryStatus.PENDING)
