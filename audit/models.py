"""Append-only, HMAC-chained audit rows. Database triggers refuse DELETE, and UPDATE except the one seal of a row."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised on an attempt to change or remove an audit row through the ORM (the database refuses too)."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit rows are append-only")

    def delete(self):
        raise AppendOnlyError("audit rows are append-only")


class ChainedEvent(models.Model):
    at = models.DateTimeField(_("时间"), db_index=True)
    actor_id = models.BigIntegerField(_("操作人ID"), null=True, blank=True)  # no FK: rows outlive accounts
    actor_label = models.CharField(_("操作人"), max_length=80, blank=True)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    # Indexed together in the concrete Meta (an object's history): each index costs every audited write.
    model = models.CharField(_("对象类型"), max_length=60)
    object_id = models.CharField(_("对象ID"), max_length=40)
    # Sealed after commit by one sealer (audit.services.seal, decision 0009): empty/NULL until then.
    # seq is the row's place in the chain (commit order); hash = HMAC(key key_id, row, seq, prev_hash).
    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    key_id = models.CharField(max_length=16, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    # Not unique: seq orders the chain and verification recomputes every hash; the sealer finds its work
    # through the partial index of unsealed rows (Meta.indexes), which stays as small as the backlog.
    hash = models.CharField(max_length=64, null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["id"]

    def save(self, *args, **kwargs):
        # The first line of defence; the database triggers (migration 0002) are the one that holds.
        if not self._state.adding:
            raise AppendOnlyError("audit rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit rows are append-only")


def chain_indexes(prefix: str) -> list[models.Index]:
    return [
        models.Index(fields=["model", "object_id"], name=f"{prefix}_object_idx"),
        models.Index(fields=["id"], condition=models.Q(hash__isnull=True), name=f"{prefix}_unsealed_idx"),
    ]


class AuditEvent(ChainedEvent):
    action = models.CharField(_("操作"), max_length=60)
    changes = models.JSONField(_("变更"), default=dict, blank=True)

    class Meta(ChainedEvent.Meta):
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        indexes = [*chain_indexes("audit_event"), models.Index(fields=["action"], name="audit_event_action_idx")]

    def __str__(self):
        return f"#{self.pk} {self.action} {self.model}:{self.object_id}"


class AccessEvent(ChainedEvent):
    """A read of a sensitive record, with the reason the reader stated."""

    reason = models.CharField(_("查阅事由"), max_length=200, blank=True)

    class Meta(ChainedEvent.Meta):
        verbose_name = _("敏感信息查阅记录")
        verbose_name_plural = _("敏感信息查阅记录")
        indexes = chain_indexes("audit_access")

    def __str__(self):
        return f"#{self.pk} read {self.model}:{self.object_id}"
