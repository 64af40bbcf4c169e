"""Notices (通知公告) that are read: one receipt per recipient; pushes are messaging deliveries.

Receipts and deliveries grow with the district (a district-wide notice is ~250,000 receipts), so they
are written set-based by the worker (notices.fanout) and keyed by unique constraints that make every
effect once-only, however often a job is retried.
"""

from __future__ import annotations

import functools
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.tokens import token_statement, user_from_row
from core.rows import Columns, hot_query
from core.scoping import ScopedQuerySet, ancestor_ids, any_q, get_scope, prefix_q, scoped_via, staff_prefixes
from notices import sql
from notices.perms import SEND as SEND_PERM
from people.models import Guardian


class Priority(models.TextChoices):
    NORMAL = "normal", _("普通")
    IMPORTANT = "important", _("重要")
    EMERGENCY = "emergency", _("紧急")


class ReplyKind(models.TextChoices):
    NONE = "none", _("无需回执")
    CONFIRM = "confirm", _("确认收到")
    CONSENT = "consent", _("同意/不同意（可附意见）")


class ReplyChoice(models.TextChoices):
    CONFIRM = "confirm", _("已确认")
    AGREE = "agree", _("同意")
    DISAGREE = "disagree", _("不同意")


class NoticeStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("定时待发")
    PUBLISHING = "publishing", _("发送中")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已撤回")


class NoticeQuerySet(ScopedQuerySet):
    @staticmethod
    def staff_q(scope):
        """Notices sent from the user's units (or by them), or addressed to units they answer for."""
        prefixes = staff_prefixes(scope, SEND_PERM)
        parts = []
        if prefixes:
            parts.append(prefix_q("sender_unit__path", prefixes))
            # Addressed to a unit at or above one of theirs (a district notice reaches a class teacher's
            # class) or below it (a class notice is seen by the school admin).
            covering = NoticeTarget.objects.filter(
                any_q(models.Q(unit_id__in=ancestor_ids(*prefixes)), prefix_q("unit__path", prefixes))
            ).values("notice_id")
            parts.append(models.Q(id__in=covering))
        if scope.user_id:
            parts.append(models.Q(sender_id=scope.user_id))
        return any_q(*parts)

    def scope_q(self, scope):
        parts = [self.staff_q(scope)]
        if scope.user_id:
            parts.append(models.Q(id__in=Receipt.objects.filter(user_id=scope.user_id).values("notice_id")))
        if scope.guardian_id:
            parts.append(
                models.Q(id__in=Receipt.objects.filter(guardian_id=scope.guardian_id).values("notice_id"))
            )
        return any_q(*parts)

    def followed_by(self, user):
        """The staff view: notices the user sent or follows as a sender, not those merely received."""
        scope = get_scope(user)
        if scope.superuser:
            return self.scoped()
        q = self.staff_q(scope)
        return self.filter(q).scoped() if q is not None else self.none()


class Notice(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="notices_sent"
    )
    # The unit the notice is sent in the name of: it decides who else may manage it (its subtree's senders).
    sender_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("发布单位"), on_delete=models.PROTECT, related_name="+"
    )
    sender_label = models.CharField(_("发布人"), max_length=120)
    title = models.CharField(_("标题"), max_length=120)
    body = models.TextField(_("正文"), blank=True)
    priority = models.CharField(
        _("紧急程度"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    reply_kind = models.CharField(_("回执"), max_length=10, choices=ReplyKind.choices, default=ReplyKind.NONE)
    reply_per_household = models.BooleanField(_("每户回执一次即可"), default=True)
    reply_deadline = models.DateTimeField(_("回执截止"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=NoticeStatus.choices, default=NoticeStatus.SCHEDULED
    )
    publish_at = models.DateTimeField(_("发布时间"))
    published_at = models.DateTimeField(null=True, blank=True)
    # Who it went to, as picked (unit ids, staff roles, hand-picked students): for the sender only.
    audience = models.JSONField(default=dict)
    audience_summary = models.CharField(_("发送范围"), max_length=300, blank=True)
    # An internal label for a hand-picked group (e.g. 困难家庭): never shown to recipients.
    audience_note = models.CharField(_("内部备注"), max_length=60, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)
    has_attachments = models.BooleanField(default=False)  # saves the inbox a query per opened notice
    escalate_after_minutes = models.PositiveIntegerField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdraw_reason = models.CharField(_("撤回原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-publish_at", "-id"]
        indexes = [
            models.Index(fields=["status", "publish_at"], name="notice_status_publish_idx"),
            models.Index(fields=["sender", "-publish_at"], name="notice_sender_idx"),
        ]

    def __str__(self):
        return self.title

    def scope_path(self) -> str:
        return self.sender_unit.path

    @property
    def is_withdrawn(self) -> bool:
        return self.status == NoticeStatus.WITHDRAWN

    @property
    def needs_reply(self) -> bool:
        return self.reply_kind != ReplyKind.NONE


class NoticeTarget(models.Model):
    """One addressed unit (or the class of a hand-picked family): lets staff of that unit follow the notice."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="targets")
    unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notice", "unit"], name="notice_target_unique")]
        indexes = [models.Index(fields=["unit", "notice"], name="notice_target_unit_idx")]


class ReceiptQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        parts = []
        if scope.guardian_id:
            parts.append(models.Q(guardian_id=scope.guardian_id))
        if scope.user_id:
            parts.append(models.Q(user_id=scope.user_id))
        prefixes = staff_prefixes(scope, SEND_PERM)
        if prefixes:
            # Senders see the receipts of their notices; class teachers those of their classes' families.
            parts.append(prefix_q("notice__sender_unit__path", prefixes))
            parts.append(prefix_q("school_class__path", prefixes))
            extra = ReceiptClass.objects.filter(prefix_q("school_class__path", prefixes)).values("receipt_id")
            parts.append(models.Q(id__in=extra))
        if scope.user_id:
            parts.append(models.Q(notice__sender_id=scope.user_id))
        return any_q(*parts)

    def own(self, scope):
        """Only the receipts addressed to the user (as a guardian or as staff): the inbox."""
        q = any_q(
            models.Q(guardian_id=scope.guardian_id) if scope.guardian_id else None,
            models.Q(user_id=scope.user_id) if scope.user_id else None,
        )
        return self.filter(q).scoped() if q is not None else self.none()

    def guardian_own(self, user):
        """own(), on the hot path (opening a notice) without computing the scope: the receipts of the user's
        own guardian record, found by a scalar subquery that the database evaluates once, so that the
        (notice, guardian) index serves the lookup."""
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        guardian = Guardian.objects.system(reason="the user's own guardian record").filter(user_id=user.pk, is_active=True).order_by().values("id")[:1]
        return self.filter(guardian_id=models.Subquery(guardian)).scoped()

    def open_guardian_own(self, user, notice_id: int, now):
        """guardian_own().filter(notice_id=…) and marking it read, as one PostgreSQL statement: the busiest
        path of the module (a district's families opening an emergency notice within minutes).

        The same rule as guardian_own() (the receipt of the user's own active guardian record, for an
        active user), written out because the ORM cannot put an UPDATE in a WITH. Returns the receipt (with
        its notice, and `children`: the names of the addressed children who are this guardian's, in the
        receipt's order), or None when the user has no guardian receipt for that notice."""

        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return None

        return self._opened(hot_query(_open_statement(), [notice_id, user.pk, now], using=self.db), 0)

    def open_guardian_own_by_token(self, digest: str, notice_id: int, now):
        """open_guardian_own() for the user of an API token, with the token checked in the same statement
        (accounts.tokens.token_statement, as its WITH part `t`): one round trip for the whole API call.
        Returns (user, receipt): (None, None) when the token is not valid, (user, None) when that user has
        no guardian receipt for the notice."""
        token_sql, width = token_statement()
        row = hot_query(_open_statement(token_sql), [digest, now, notice_id, now], using=self.db)
        user = user_from_row(row, now)
        if user is None:
            return None, None
        return user, self._opened(row, width)

    def _opened(self, row, start: int):
        """The receipt of an _open_statement() row, from column `start` on (None: no receipt)."""
        if row is None or row[start] is None:
            return None
        receipt_cols, notice_cols = _open_columns()
        receipt = receipt_cols.build(row, start, self.db)
        marked_at = row[start + receipt_cols.width]
        if marked_at is not None:
            receipt.read_at = marked_at
        receipt.notice = notice_cols.build(row, start + receipt_cols.width + 1, self.db)
        receipt.children = list(row[-1])
        return receipt

    def staff_own(self, user):
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(user_id=user.pk).scoped()


class Receipt(models.Model):
    """One per recipient and notice. Guardians: guardian set; staff recipients: user set."""

    # No single-column indexes on the foreign keys: the composite ones below lead with them, and every
    # index costs the fan-out time on each of a district's quarter-million rows.
    # No database-level foreign-key constraints either (docs/decisions/0004): each one is a trigger call
    # per inserted row, 40 % of a district fan-out. Django still cascades deletes (on_delete), and the
    # fan-out only writes ids it has just read from the guardian and notice tables in the same statement.
    notice = models.ForeignKey(
        Notice, on_delete=models.CASCADE, related_name="receipts", db_index=False, db_constraint=False
    )
    guardian = models.ForeignKey(
        "people.Guardian",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notice_receipts",
        db_index=False,
        db_constraint=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notice_receipts",
        db_index=False,
        db_constraint=False,
    )
    household_id = models.BigIntegerField(null=True, blank=True)
    # The class of the first addressed child (for per-class statistics); further classes in ReceiptClass.
    # No database constraint: classes are never deleted, and the fan-out should not pay a check per row.
    school_class = models.ForeignKey(
        "org.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    # The addressed children as "/12/34/": names them in the inbox and filters it by child on any database.
    students = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    reply = models.CharField(max_length=10, choices=ReplyChoice.choices, blank=True, default="")
    reply_comment = models.CharField(max_length=200, blank=True, default="")
    # Replied for by another guardian of the same household (reply_per_household notices).
    replied_by_household = models.BooleanField(default=False)
    reminded_at = models.DateTimeField(null=True, blank=True)
    reminder_count = models.PositiveSmallIntegerField(default=0)

    objects = ReceiptQuerySet.as_manager()

    class Meta:
        verbose_name = _("回执")
        verbose_name_plural = _("回执")
        constraints = [
            # Led by the recipient, so that each key is also the inbox's index (a guardian's receipts); the
            # (notice, recipient) lookups of opening and replying use it just as well.
            models.UniqueConstraint(
                fields=["guardian", "notice"],
                condition=models.Q(guardian__isnull=False),
                name="receipt_guardian_notice_uniq",
            ),
            models.UniqueConstraint(
                fields=["user", "notice"],
                condition=models.Q(user__isnull=False),
                name="receipt_user_notice_uniq",
            ),
            models.CheckConstraint(
                condition=models.Q(guardian__isnull=False, user__isnull=True)
                | models.Q(guardian__isnull=True, user__isnull=False),
                name="receipt_guardian_xor_user",
            ),
        ]
        indexes = [
            models.Index(fields=["notice", "school_class"], name="receipt_notice_class_idx"),
            # Per-class figures count only the rows that were read (or replied): 40 % of a district's
            # notice rather than all of it, from these small partial indexes.
            models.Index(
                fields=["notice", "school_class"],
                name="receipt_read_class_idx",
                condition=models.Q(read_at__isnull=False),
            ),
            models.Index(
                fields=["notice", "school_class"],
                name="receipt_replied_class_idx",
                condition=models.Q(replied_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"receipt {self.pk}"

    @property
    def student_ids(self) -> list[int]:
        return [int(x) for x in self.students.strip("/").split("/") if x]

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class ReceiptClass(models.Model):
    """A further class of a guardian whose addressed children sit in several classes (counted in each).

    read_at and replied_at are copies of the receipt's (services.sync_extra_classes keeps them), so that
    per-class figures are plain GROUP BYs over two tables and never a join of a district's receipts."""

    notice = models.ForeignKey(
        Notice, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    receipt = models.ForeignKey(
        Receipt, on_delete=models.CASCADE, related_name="extra_classes", db_index=False, db_constraint=False
    )
    school_class = models.ForeignKey(
        "org.OrgUnit", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    read_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["receipt", "school_class"], name="receipt_class_unique")
        ]
        indexes = [models.Index(fields=["notice", "school_class"], name="receipt_class_notice_idx")]


class NoticeClassCount(models.Model):
    """How many guardian receipts each class has for a notice (families in two classes in both): counted
    once by the fan-out job — it never changes after — so the live figures only count reads."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="+", db_index=False)
    school_class = models.ForeignKey(
        "org.OrgUnit", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    total = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "school_class"], name="notice_class_count_unique")
        ]


class Reply(models.Model):
    """Every reply as given (a permission slip may be changed before the deadline); the receipt holds the latest."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="replies")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    choice = models.CharField(max_length=10, choices=ReplyChoice.choices)
    comment = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    holds_personal_data = True
    objects = scoped_via("receipt")

    class Meta:
        verbose_name = _("回执记录")
        verbose_name_plural = _("回执记录")
        ordering = ["created_at"]


class DeliveryKind(models.TextChoices):
    """The kind of a notice's push: messaging's Delivery.kind for sources "notice:<id>"."""

    NOTICE = "notice", _("发布推送")
    REMINDER = "reminder", _("提醒")
    ESCALATION = "escalation", _("紧急补发短信")


class Reminder(models.Model):
    """One click on 一键提醒: reminds the unread receipts (of some classes, or all) of a notice."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reminders")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    class_ids = models.JSONField(null=True, blank=True)  # None: every unread receipt of the notice
    created_at = models.DateTimeField(auto_now_add=True)
    reminded_count = models.PositiveIntegerField(default=0)

    # Who reminded which classes of a notice: seen exactly by who sees the notice.
    holds_personal_data = True
    objects = scoped_via("notice")

    class Meta:
        ordering = ["-created_at"]


class JobKind(models.TextChoices):
    FANOUT = "fanout", _("生成回执")
    REMIND = "remind", _("提醒未读")
    ESCALATE = "escalate", _("紧急补发")


class JobStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("进行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class NoticeJob(models.Model):
    """What a notice's background work has done (its fan-out cursor, its state for the notice's pages).

    Its execution — claim, heartbeat, attempts, last error, retries, the sweeper — is the jobs outbox's
    (a jobs.Job row keyed "notices.job:<id>", docs/decisions/0007-one-jobs-outbox.md)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=10, choices=JobKind.choices)
    ref = models.PositiveIntegerField(default=0)  # the Reminder id for reminders
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    cursor = models.BigIntegerField(default=0)  # fan-out: guardian ids below this are done
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notice", "kind", "ref"], name="notice_job_unique")]


def attachment_path(instance, filename):  # generated names: the original never reaches the disk

    return f"notices/{instance.notice.district_id}/{uuid.uuid4().hex}"


class NoticeAttachment(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=80)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    # A notice's files are district data (letters to named families, forms): seen exactly by who sees the notice.
    holds_personal_data = True
    objects = scoped_via("notice")

    class Meta:
        ordering = ["id"]


@functools.cache  # the same text every call: built once, and psycopg finds its prepared statement by it
def _open_statement(token_sql: str | None = None) -> str:
    """The statement behind ReceiptQuerySet.open_guardian_own. Parameters: notice id, user id, now.

    With token_sql (accounts.tokens.token_statement) the user is the token's instead, checked in the same
    statement as its WITH part `t`. Parameters: digest, now, notice id, now. Its row starts with t's
    columns, NULLs after them when the user has no such receipt; a bad token gives no row at all."""
    receipt_cols, notice_cols = _open_columns()
    return sql.open_receipt(receipt_cols.sql, notice_cols.sql, token_sql)


@functools.cache  # built once: the models are fixed at run time
def _open_columns():
    """What opening a notice shows, as SELECT lists."""
    return (
        Columns(
            Receipt,
            "r",
            [
                "id",
                "notice",
                "guardian",
                "user",
                "household_id",
                "school_class",
                "students",
                "created_at",
                "read_at",
                "replied_at",
                "reply",
                "reply_comment",
                "replied_by_household",
            ],
        ),
        Columns(
            Notice,
            "n",
            [
                "id",
                "sender_label",
                "title",
                "body",
                "priority",
                "reply_kind",
                "reply_per_household",
                "reply_deadline",
                "status",
                "publish_at",
                "published_at",
                "has_attachments",
                "withdrawn_at",
                "withdraw_reason",
            ],
        ),
    )
