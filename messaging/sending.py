"""Sending due deliveries: claim a batch (pending → handing over), send, record the result.

The claim is one UPDATE on rows locked with SKIP LOCKED (PostgreSQL), so two workers never take the same
row. A claimed row is "handing over" (status sending): the worker may have passed it to the gateway
already. The worker beats the claim's heartbeat while it sends; a claim whose heartbeat is older than
GONGYU_MESSAGING_CLAIM_STALE_SECONDS (30 s) is released, and the next worker asks the gateway whether it
has that row's out-id before handing it over again — under the same out-id, which the gateway drops if it
has it. So a killed worker costs at most half a minute, and nothing the gateway accepted is sent twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.crypto import digest
from messaging import conf
from messaging.channels import OutMessage, SendResult, backend_for
from messaging.models import Channel, Delivery, DeliveryStatus, GuardianChannel, SmsDay, Urgency
from messaging.registry import composer_for

_WORKER = "the send loop acts for no user"

log = logging.getLogger(__name__)

# Tests (and the bench) set this to a callable(delivery) run right after the gateway took a row, to stop a
# worker there as a kill would: before the result is recorded.
after_handover = None


def claim(now: dt.datetime, source: str | None, batch: int) -> list[int]:
    """Take up to `batch` due rows for this worker (of one source, or all). In quiet hours only emergencies."""
    with transaction.atomic():
        qs = Delivery.objects.system(reason=_WORKER).filter(status=DeliveryStatus.PENDING, not_before__lte=now)
        if source is not None:
            qs = qs.filter(source=source)
        if conf.in_quiet_hours(now):
            qs = qs.filter(urgency=Urgency.EMERGENCY)
        ids = list(qs.select_for_update(skip_locked=True).order_by("id").values_list("id", flat=True)[:batch])
        if ids:
            Delivery.objects.system(reason=_WORKER).filter(id__in=ids, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.SENDING, claimed_at=now, heartbeat_at=now, attempts=F("attempts") + 1
            )
    return ids


def beat(ids) -> int:
    """Renew this worker's claim on rows it still holds."""
    return Delivery.objects.system(reason=_WORKER).filter(id__in=ids, status=DeliveryStatus.SENDING).update(heartbeat_at=timezone.now())


def release_stale_claims(now: dt.datetime | None = None) -> int:
    """Rows whose worker stopped beating are put back (same row, same out-id: see the module docstring)."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=conf.claim_stale_seconds())
    return Delivery.objects.system(reason=_WORKER).filter(status=DeliveryStatus.SENDING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, claimed_at__lt=cutoff)
    ).update(status=DeliveryStatus.PENDING)


def default_compose(delivery: Delivery, address: str, cache: dict) -> OutMessage:
    message = delivery.message
    url = f"{conf.site_url()}{message.link}" if message.link else ""
    tag = _("【紧急】") if delivery.urgency == Urgency.EMERGENCY else ""
    text = f"{tag}{message.title}" + (f"：{message.body}" if message.body else "") + (f" {url}" if url else "")
    return OutMessage(
        channel=delivery.channel,
        to=address,
        subject=f"{tag}{message.title}",
        text=text,
        url=url,
        idempotency_key=delivery.idempotency_key,
        data={"first": {"value": f"{tag}{message.title}"}, "remark": {"value": message.body[:60]}},
    )


def _next_day(now: dt.datetime) -> dt.datetime:
    """The start of tomorrow's sending (local midnight, moved past quiet hours)."""
    local = timezone.localtime(now)
    midnight = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return conf.push_not_before(midnight, Urgency.NORMAL)


def _address(d: Delivery, addresses: dict) -> str:
    if d.channel == Channel.SMS:
        person = d.guardian or d.user
        return getattr(person, "phone", "") or ""
    if d.guardian_id:
        return addresses.get((d.guardian_id, d.channel), "")
    return ""


def _sms_counts(numbers: list[str], today: dt.date) -> dict[str, int]:
    digests = {digest(n) for n in numbers if n}
    if not digests:
        return {}
    return dict(SmsDay.objects.filter(day=today, number_digest__in=digests).values_list("number_digest", "sent"))


def _count_sms(counted: dict[str, int], today: dt.date) -> None:
    for number_digest, n in counted.items():
        SmsDay.objects.get_or_create(number_digest=number_digest, day=today)
        SmsDay.objects.filter(number_digest=number_digest, day=today).update(sent=F("sent") + n)


def send_due(*, source: str | None = None, max_batches: int | None = None) -> int:
    """Send every due pending row (of one source, or all); returns how many the gateways took."""
    sent = 0
    batches = 0
    backends = {}
    cap = conf.sms_daily_cap()
    while max_batches is None or batches < max_batches:
        now = timezone.now()
        release_stale_claims(now)
        ids = claim(now, source, conf.send_batch())
        if not ids:
            break
        batches += 1
        last_beat = time.monotonic()
        rows = list(Delivery.objects.system(reason=_WORKER).filter(id__in=ids).select_related("message", "guardian", "user").order_by("id"))
        guardian_ids = {d.guardian_id for d in rows if d.guardian_id and d.channel != Channel.SMS}
        addresses = (
            {
                (c.guardian_id, c.channel): c.address
                for c in GuardianChannel.objects.system(reason=_WORKER).filter(guardian_id__in=guardian_ids, enabled=True).exclude(channel=Channel.SMS)
            }
            if guardian_ids
            else {}
        )
        today = timezone.localtime(now).date()
        capped = [d for d in rows if cap and d.channel == Channel.SMS and d.urgency != Urgency.EMERGENCY]
        capped_ids = {d.pk for d in capped}
        sms_today = _sms_counts([_address(d, addresses) for d in capped], today) if capped else {}
        counted: dict[str, int] = {}
        cache: dict = {}
        for d in rows:
            address = _address(d, addresses)
            compose = composer_for(d.source) or default_compose
            try:
                out = compose(d, address, cache)
            except Exception as exc:  # a client's composer must not keep the batch claimed, retried forever
                log.exception("composer for %s failed: %s", d.source, type(exc).__name__)
                d.status, d.error = DeliveryStatus.FAILED, _("消息内容无法生成")
                continue
            if isinstance(out, str):
                d.status, d.error = DeliveryStatus.CANCELLED, out[:200]
                continue
            if not address:
                d.status, d.error = DeliveryStatus.FAILED, _("没有可用的联系方式")
                continue
            number = digest(address) if d.pk in capped_ids else ""
            if number and sms_today.get(number, 0) + counted.get(number, 0) >= cap:
                # Over the number's daily cap: delayed to tomorrow, never dropped (the claim is not an attempt).
                d.status, d.not_before, d.attempts = DeliveryStatus.PENDING, _next_day(now), max(0, d.attempts - 1)
                d.error = _("已达当日短信上限，次日发送")
                continue
            backend = backends.get(d.channel) or backends.setdefault(d.channel, backend_for(d.channel))
            try:
                # Handed over before (a worker died, or the gateway timed out): ask the gateway first.
                result = backend.lookup(d.idempotency_key) if d.attempts > 1 else None
                if result is None:
                    result = backend.send(out)
            except Exception as exc:  # a broken backend must not leave the batch claimed until it goes stale
                log.exception("delivery backend error on %s: %s", d.channel, type(exc).__name__)
                result = SendResult(ok=False, error=_("发送程序出错"), retry=True)
            if after_handover is not None:
                after_handover(d)
            if result.ok:
                d.status, d.sent_at, d.provider_ref, d.error = DeliveryStatus.SENT, timezone.now(), result.provider_ref, ""
                sent += 1
                if number:
                    counted[number] = counted.get(number, 0) + 1
            elif result.retry and d.attempts < conf.max_attempts():
                d.status, d.error = DeliveryStatus.PENDING, result.error
                d.not_before = timezone.now() + dt.timedelta(minutes=2 ** d.attempts)
            else:
                d.status, d.error = DeliveryStatus.FAILED, result.error
            if time.monotonic() - last_beat > conf.heartbeat_seconds():
                beat(ids)
                last_beat = time.monotonic()
        with transaction.atomic():
            Delivery.objects.system(reason=_WORKER).bulk_update(rows, ["status", "sent_at", "provider_ref", "error", "not_before", "attempts"])
            if counted:
                _count_sms(counted, today)
    return sent


def mark_delivered(idempotency_key: str, *, at: dt.datetime | None = None) -> int:
    """A gateway's delivery report for one out-id (gy-<id>): the row becomes delivered."""
    if not idempotency_key.startswith("gy-") or not idempotency_key[3:].isdigit():
        return 0
    return Delivery.objects.system(reason=_WORKER).filter(pk=int(idempotency_key[3:]), status=DeliveryStatus.SENT).update(
        status=DeliveryStatus.DELIVERED, delivered_at=at or timezone.now()
    )
