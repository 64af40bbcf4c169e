"""notify(): how any module tells people something (in-app, SMS, e-mail, WeChat), once per key.

    notify([guardian, user], Note(title=…, body=…, link=…, source="consultation:5"),
           urgency="normal", channels=("inapp", "wechat", "sms"), key="consultation-reply:77")

Recipients are people.Guardian or accounts.User rows. A channel the recipient has no address for is
skipped; in-app rows are delivered at once (the recipient's list of messages, selectors.inbox); pushes
wait for the worker, which holds non-emergencies through quiet hours and over the per-number SMS cap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from messaging import conf, selectors
from messaging.models import Channel, Delivery, DeliveryStatus, GuardianChannel, Message, Urgency
from messaging.tasks import send_messages
from people.models import Guardian

# notify() is called by a module for recipients it chose (already scoped): its own rows are bookkeeping.
_NOTIFY = "deliveries of a notify() call"


@dataclass(frozen=True)
class Note:
    title: str
    body: str = ""  # plain text
    link: str = ""  # a path on the site
    source: str = ""  # the caller's label, e.g. "consultation:5": lets it find its deliveries
    kind: str = ""


def notify(recipients: Iterable, message: Note, *, urgency: str = Urgency.NORMAL, channels: Iterable[str] = (Channel.INAPP,),
           key: str) -> int:
    """Queue `message` for each recipient on each channel they can be reached by; returns the new rows.
    Calling again with the same key adds nothing for a (recipient, channel) that already has its row."""
    if urgency not in Urgency.values:
        raise ValueError(f"unknown urgency {urgency!r}")
    channels = [c for c in dict.fromkeys(channels)]
    if any(c not in Channel.values for c in channels):
        raise ValueError(f"unknown channel in {channels!r}")
    user_model = get_user_model()
    people = list(dict.fromkeys(recipients))
    guardians = [p for p in people if isinstance(p, Guardian)]
    users = [p for p in people if isinstance(p, user_model)]
    if len(guardians) + len(users) != len(people):
        raise TypeError("recipients must be people.Guardian or accounts.User rows")
    now = timezone.now()
    with transaction.atomic():
        msg, _created = Message.objects.get_or_create(
            key=key,
            defaults={"source": message.source[:40], "kind": message.kind[:12], "urgency": urgency, "title": message.title[:200],
                      "body": message.body, "link": message.link[:300], "created_at": now},
        )
        bound = set(
            GuardianChannel.objects.system(reason=_NOTIFY).filter(guardian__in=guardians, enabled=True).exclude(address="").values_list("guardian_id", "channel")
        ) if guardians else set()
        not_before = conf.push_not_before(now, urgency)
        rows = []
        for person in people:
            is_guardian = isinstance(person, Guardian)
            for channel in channels:
                if channel == Channel.SMS and not person.phone:
                    continue
                if channel in (Channel.WECHAT, Channel.EMAIL) and (not is_guardian or (person.pk, channel) not in bound):
                    continue
                inapp = channel == Channel.INAPP
                rows.append(Delivery(
                    message=msg, source=msg.source, kind=msg.kind, urgency=msg.urgency, channel=channel,
                    guardian=person if is_guardian else None, user=None if is_guardian else person,
                    status=DeliveryStatus.DELIVERED if inapp else DeliveryStatus.PENDING,
                    sent_at=now if inapp else None, delivered_at=now if inapp else None,
                    not_before=now if inapp else not_before, created_at=now,
                ))
        before = Delivery.objects.system(reason=_NOTIFY).filter(message=msg).count()
        Delivery.objects.system(reason=_NOTIFY).bulk_create(rows, ignore_conflicts=True)
        created = Delivery.objects.system(reason=_NOTIFY).filter(message=msg).count() - before
        if any(r.status == DeliveryStatus.PENDING for r in rows):
            transaction.on_commit(lambda: send_messages(msg.source))
    return created


# --- The recipient's side: reading in-app messages -------------------------------------------------------
# A read mark is a read, not a change of anyone's data: no audit row (as opening a notice or a guide).


def message_open(*, user, delivery_id) -> Delivery:
    """The recipient opened one of their messages: it is read from now on (the first time is kept). Every
    in-app row of the same message that is theirs (to the account and to their guardian record) is read too."""
    delivery = selectors.get_delivery_for(user, delivery_id)
    if delivery.read_at is None:
        now = timezone.now()
        Delivery.objects.own(user).filter(message_id=delivery.message_id, channel=Channel.INAPP, read_at__isnull=True).update(read_at=now)
        delivery.read_at = now
    return delivery


def messages_read_all(*, user) -> int:
    """Mark every unread in-app message of the user read; returns how many were."""
    return (
        Delivery.objects.own(user)
        .filter(channel=Channel.INAPP, status=DeliveryStatus.DELIVERED, read_at__isnull=True)
        .update(read_at=timezone.now())
    )
