"""The platform's delivery outbox: one Message per once-only key, one Delivery per recipient and channel.

Any module sends through messaging.services.notify() (or, on a hot path, messaging.bulk); a module finds
its deliveries by their source label ("notice:12"). Recipients are people the platform can reach: a
guardian (people.Guardian: phone, WeChat, e-mail) or an account (accounts.User: phone, in-app).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.crypto import EncryptedCharField
from core.scoping import ScopedQuerySet, any_q, get_scope


class Channel(models.TextChoices):
    INAPP = "inapp", _("站内")
    SMS = "sms", _("短信")
    EMAIL = "email", _("电子邮件")
    WECHAT = "wechat", _("微信模板消息")


PUSH_CHANNELS = (Channel.SMS, Channel.WECHAT, Channel.EMAIL)


class Urgency(models.TextChoices):
    NORMAL = "normal", _("普通")
    IMPORTANT = "important", _("重要")
    EMERGENCY = "emergency", _("紧急")  # the only urgency that goes out in quiet hours and past the caps


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")  # queued
    # Handing over: claimed by a worker that may already have passed it to the gateway. Such a row is
    # never sent under a new out-id; after a dead worker it is looked up at the gateway first.
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已发送")
    DELIVERED = "delivered", _("已送达")
    FAILED = "failed", _("发送失败")
    CANCELLED = "cancelled", _("已取消")


class Message(models.Model):
    """What is said, once per caller's key: the deliveries of one notify() call share it."""

    key = models.CharField(max_length=120, unique=True)
    source = models.CharField(max_length=40)  # the caller's label, e.g. "notice:12", "consultation:5"
    kind = models.CharField(max_length=12, blank=True, default="")  # the caller's sub-label (notice, reminder…)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")  # plain text
    link = models.CharField(max_length=300, blank=True, default="")  # a path on the site, e.g. /notices/r/12/
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")

    def __str__(self):
        return self.key


def _own_q(scope):
    """The recipient's own rows: to the account, or to the guardian record linked to it (one per account)."""
    guardian = models.Q(guardian_id=scope.guardian_id) if scope.guardian_id else None
    own = models.Q(user_id=scope.user_id) if scope.user_id else None
    return any_q(guardian, own)


class DeliveryQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        """A recipient sees their own deliveries; staff see a module's deliveries through that module."""
        return _own_q(scope)

    def own(self, user):
        """The user's own deliveries, and no one else's even for a superuser (visible_to widens for one):
        a list of messages is a person's own mail, not an operator's view of the outbox."""
        q = _own_q(get_scope(user))
        return (self.filter(q) if q is not None else self.none()).scoped("own")


class Delivery(models.Model):
    """One push of one message to one recipient over one channel; the unique keys make a retried call
    write it once. The row id is the gateway's idempotency key (SMS OutId): see idempotency_key."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries", db_index=False, db_constraint=False)
    # Copied from the message so that a client counts its rows, and the worker caps and holds them, without a join.
    source = models.CharField(max_length=40)
    kind = models.CharField(max_length=12, blank=True, default="")
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    ref = models.BigIntegerField(null=True, blank=True)  # the caller's row (notices: the receipt id)
    # No database-level constraints (docs/decisions/0004): the fan-out writes 100,000 rows in one statement.
    guardian = models.ForeignKey(
        "people.Guardian", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    # Held back until then (quiet hours, caps, retries); pending rows whose time has come are sent by the worker.
    not_before = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the claiming worker is alive
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # In-app rows: when the recipient opened the message (DELIVERED says it reached the list, not that it was read).
    read_at = models.DateTimeField(null=True, blank=True)
    provider_ref = models.CharField(max_length=64, blank=True, default="")
    error = models.CharField(max_length=200, blank=True, default="")  # never the address
    created_at = models.DateTimeField()

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("推送记录")
        verbose_name_plural = _("推送记录")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "guardian", "channel"], condition=models.Q(guardian__isnull=False), name="delivery_once_per_guardian"
            ),
            models.UniqueConstraint(
                fields=["message", "user", "channel"], condition=models.Q(user__isnull=False), name="delivery_once_per_user"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "not_before"], name="msg_delivery_due_idx"),
            models.Index(fields=["source", "status"], name="msg_delivery_source_idx"),
            models.Index(fields=["ref"], name="msg_delivery_ref_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="msg_delivery_claim_idx"),
            # A recipient's list of messages and its unread count. Partial: the fan-out's push rows (100,000
            # in one statement) never enter these indexes.
            models.Index(fields=["guardian", "created_at"], condition=models.Q(channel="inapp", guardian__isnull=False),
                         name="msg_inapp_guardian_idx"),
            models.Index(fields=["user", "created_at"], condition=models.Q(channel="inapp", user__isnull=False),
                         name="msg_inapp_user_idx"),
        ]

    @property
    def idempotency_key(self) -> str:
        # The gateway's idempotency key (an SMS provider's OutId): the same on every attempt of this row.
        return f"gy-{self.pk}"


class SmsDay(models.Model):
    """How many non-emergency SMS went to one number on one local day (the per-number cap)."""

    number_digest = models.CharField(max_length=64)
    day = models.DateField()
    sent = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["number_digest", "day"], name="sms_day_unique")]


class GuardianChannelQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        """A guardian sees their own addresses; no one else reads them in a request (the send loop is a system read)."""
        return models.Q(guardian_id=scope.guardian_id) if scope.guardian_id else None


class GuardianChannel(models.Model):
    """A guardian's address and choice for one push channel (SMS uses the registered phone)."""

    holds_personal_data = True  # e-mail addresses and WeChat openids (core.checks: a scoped manager is required)

    guardian = models.ForeignKey("people.Guardian", on_delete=models.CASCADE, related_name="push_channels")
    channel = models.CharField(max_length=8, choices=[(c.value, c.label) for c in PUSH_CHANNELS])
    address = EncryptedCharField(blank=True, default="")  # e-mail address or WeChat openid
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GuardianChannelQuerySet.as_manager()

    class Meta:
        verbose_name = _("推送方式")
        verbose_name_plural = _("推送方式")
        constraints = [models.UniqueConstraint(fields=["guardian", "channel"], name="messaging_guardian_channel_unique")]
