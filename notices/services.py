"""Writes of the notices module: compose and publish, open (= read), reply, remind, withdraw, and the
background jobs behind them. Each action is atomic; jobs are queued with ids only after commit."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import DateTimeField, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from core.perms import can, perm_paths
from core.scoping import get_scope, prefix_q
from jobs import services as jobs
from messaging import sending as outbox
from messaging.models import Delivery, DeliveryStatus, GuardianChannel
from notices import conf, fanout, sql
from notices.audience import Audience, can_send, common_unit
from notices.files import safe_original_name
from notices.models import (
    SEND_PERM,
    DeliveryKind,
    JobKind,
    JobStatus,
    Notice,
    NoticeAttachment,
    NoticeJob,
    NoticeStatus,
    NoticeTarget,
    Priority,
    Receipt,
    ReceiptClass,
    Reminder,
    Reply,
    ReplyChoice,
    ReplyKind,
)
from notices.sanitize import clean_html
from notices.sending import source_of
from org.models import Kind, OrgUnit
from people.models import Guardian

log = logging.getLogger(__name__)
JOB_KIND = "notices.job"  # the jobs outbox's handler (notices/tasks.py) for every NoticeJob


def job_key(notice_job_id: int) -> str:
    return f"{JOB_KIND}:{notice_job_id}"


def _new_job(notice: Notice, kind: str, ref: int = 0) -> NoticeJob:
    """The notice's record of the work and its outbox row, both in the caller's transaction."""
    job, _created = NoticeJob.objects.get_or_create(notice=notice, kind=kind, ref=ref)
    district_id = notice.district_id or Notice.objects.filter(pk=notice.pk).values_list("district_id", flat=True).first()
    jobs.enqueue(JOB_KIND, key=job_key(job.pk), payload={"notice_job": job.pk}, district_id=district_id)
    return job


# --- compose and publish -----------------------------------------------------------------------------


@transaction.atomic
def notice_create(
    *,
    actor,
    title: str,
    body: str,
    audience: Audience,
    priority: str = Priority.NORMAL,
    reply_kind: str = ReplyKind.NONE,
    reply_per_household: bool = True,
    reply_deadline: dt.datetime | None = None,
    publish_at: dt.datetime | None = None,
    audience_note: str = "",
    escalate_after_minutes: int | None = None,
    attachments: list[tuple[str, bytes, str]] = (),
) -> Notice:
    """Save a notice and queue its fan-out (now, or at publish_at). attachments: (name, data, content type)."""
    if not can_send(actor):
        raise PermissionDenied(_("您没有发送通知的权限。"))
    now = timezone.now()
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("请填写通知标题。")})
    if publish_at is not None and publish_at < now - dt.timedelta(minutes=5):
        raise ValidationError({"publish_at": _("定时发布时间已经过去，请选择以后的时间，或留空立即发布。")})
    if reply_deadline is not None and reply_deadline < (publish_at or now):
        raise ValidationError({"reply_deadline": _("回执截止时间应晚于发布时间。")})
    if len(attachments) > conf.attachments_per_item():
        raise ValidationError(
            {"attachments": _("一条通知最多 %(n)d 个附件。") % {"n": conf.attachments_per_item()}}
        )
    if priority not in Priority.values or reply_kind not in ReplyKind.values:
        raise ValidationError(_("紧急程度或回执方式无效，请重新选择。"))
    unit = common_unit(actor, audience)
    scheduled = publish_at is not None and publish_at > now + dt.timedelta(seconds=30)
    notice = Notice.objects.create(
        district_id=unit.district_id or unit.pk,
        sender=actor,
        sender_unit=unit,
        sender_label=f"{unit.full_name} · {actor.name}"[:120],
        title=title[:120],
        body=clean_html(body),
        priority=priority,
        reply_kind=reply_kind,
        reply_per_household=reply_per_household,
        reply_deadline=reply_deadline,
        status=NoticeStatus.SCHEDULED if scheduled else NoticeStatus.PUBLISHING,
        publish_at=publish_at if scheduled else now,
        published_at=None if scheduled else now,
        audience=audience.as_json(),
        audience_summary=audience.summary(),
        audience_note=(audience_note or "").strip()[:60],
        escalate_after_minutes=(escalate_after_minutes or conf.escalate_minutes())
        if priority == Priority.EMERGENCY
        else None,
    )
    target_ids = {u.pk for u in audience.units} | {s.school_class_id for s in audience.students}
    NoticeTarget.objects.bulk_create(
        [NoticeTarget(notice=notice, unit_id=i) for i in sorted(target_ids)], ignore_conflicts=True
    )
    for name, data, content_type in attachments:
        att = NoticeAttachment(
            notice=notice, original_name=safe_original_name(name), content_type=content_type, size=len(data)
        )
        att.file.save("upload", ContentFile(data), save=False)
        att.save()
    if attachments:
        Notice.objects.system(reason="the notice the actor has just created").filter(pk=notice.pk).update(has_attachments=True)
        notice.has_attachments = True
    record(
        "notice.schedule" if scheduled else "notice.publish",
        actor=actor,
        model="notices.notice",
        object_id=notice.pk,
        changes={
            "title": notice.title,
            "priority": priority,
            "audience": notice.audience_summary,
            "publish_at": notice.publish_at.isoformat(),
        },
    )
    if not scheduled:
        _new_job(notice, JobKind.FANOUT)
    return notice


def publish_due(now: dt.datetime | None = None) -> int:
    """Scheduled notices whose time has come: mark them publishing and queue their fan-out."""
    now = now or timezone.now()
    started = 0
    for pk in Notice.objects.filter(status=NoticeStatus.SCHEDULED, publish_at__lte=now).values_list(
        "pk", flat=True
    )[:100]:
        with transaction.atomic():
            if Notice.objects.filter(pk=pk, status=NoticeStatus.SCHEDULED).update(
                status=NoticeStatus.PUBLISHING, published_at=now
            ):
                _new_job(Notice(pk=pk), JobKind.FANOUT)
                started += 1
    return started


# --- recipients: open, reply ----------------------------------------------------------------------------


def receipt_for(user, notice_id) -> Receipt:
    """The user's own receipt for a notice (as guardian or staff recipient), or 404."""
    try:
        notice_id = int(notice_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    # A user who is both a guardian and a staff recipient: the family receipt first. At most one row each
    # (unique keys), so a plain [:1] — no ORDER BY — on this, the busiest path of the module.
    for qs in (Receipt.objects.guardian_own(user), Receipt.objects.staff_own(user)):
        found = list(qs.filter(notice_id=notice_id).select_related("notice")[:1])
        if found:
            return found[0]
    raise Http404


def sync_extra_classes(receipt_ids) -> None:
    """Copy read_at / replied_at of these receipts to their further-class rows (families in two classes)."""
    source = Receipt.objects.filter(pk=OuterRef("receipt_id"))
    ReceiptClass.objects.filter(receipt_id__in=list(receipt_ids)).update(
        read_at=Subquery(source.values("read_at")[:1]), replied_at=Subquery(source.values("replied_at")[:1])
    )


_NOT_TRIED = object()


def notice_open(*, user, notice_id, opened=_NOT_TRIED) -> Receipt:
    """Opening is reading: one idempotent UPDATE … WHERE read_at IS NULL. opened: what the caller's own
    statement found and marked (ReceiptQuerySet.open_guardian_own_by_token): the guardian's receipt, or
    None for a user with none there (a staff recipient), so that the guardian lookup is not run again."""
    try:
        notice_id = int(notice_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    if opened is _NOT_TRIED:
        opened = None
        if connection.vendor == "postgresql":
            # A guardian's receipt (nearly every open): found and marked read in one statement.
            opened = Receipt.objects.open_guardian_own(user, notice_id, timezone.now())
    if opened is not None:
        if opened.read_at is None:  # another request marked it between the snapshot and the update
            opened.refresh_from_db(fields=["read_at"])
        return opened
    receipt = receipt_for(user, notice_id)
    if receipt.read_at is None:
        now = timezone.now()
        if len(receipt.student_ids) > 1:  # children in two classes: the second class counts the read too
            with transaction.atomic():
                marked = Receipt.objects.system(reason="the user's own receipt (receipt_for)").filter(pk=receipt.pk, read_at__isnull=True).update(read_at=now)
                if marked:
                    ReceiptClass.objects.filter(receipt_id=receipt.pk, read_at__isnull=True).update(
                        read_at=now
                    )
        else:  # the common case: one statement, its own commit
            marked = Receipt.objects.system(reason="the user's own receipt (receipt_for)").filter(pk=receipt.pk, read_at__isnull=True).update(read_at=now)
        if marked:
            receipt.read_at = now
        else:
            receipt.refresh_from_db(fields=["read_at"])
    return receipt


def allowed_choices(notice: Notice) -> list[str]:
    if notice.reply_kind == ReplyKind.CONFIRM:
        return [ReplyChoice.CONFIRM]
    if notice.reply_kind == ReplyKind.CONSENT:
        return [ReplyChoice.AGREE, ReplyChoice.DISAGREE]
    return []


@transaction.atomic
def notice_reply(*, user, notice_id, choice: str, comment: str = "") -> Receipt:
    receipt = receipt_for(user, notice_id)
    notice = receipt.notice
    if notice.is_withdrawn:
        raise ValidationError(_("该通知已撤回，无需回执。"))
    choices = allowed_choices(notice)
    if not choices:
        raise ValidationError(_("该通知不需要回执。"))
    if choice not in choices:
        raise ValidationError(
            _("请选择“%(options)s”中的一项后再提交。")
            % {"options": "”或“".join(str(ReplyChoice(c).label) for c in choices)}
        )
    comment = (comment or "").strip()
    if len(comment) > 200:
        raise ValidationError(_("意见请控制在200字以内。"))
    now = timezone.now()
    if notice.reply_deadline and now > notice.reply_deadline:
        raise ValidationError(
            _("回执已于 %(at)s 截止，如有需要请直接联系老师。")
            % {"at": timezone.localtime(notice.reply_deadline).strftime("%m月%d日 %H:%M")}
        )
    Receipt.objects.system(reason="the user's own receipt (receipt_for)").filter(pk=receipt.pk).update(
        replied_at=now,
        reply=choice,
        reply_comment=comment,
        replied_by_household=False,
        read_at=receipt.read_at or now,
    )
    Reply.objects.create(receipt=receipt, user=user, choice=choice, comment=comment)
    touched = [receipt.pk]
    if notice.reply_per_household and receipt.household_id:
        # One reply per household: the other guardians' receipts count as answered by the family.
        # Through the household's guardians, so that the (notice, guardian) index finds the few rows: a
        # filter on household alone reads every receipt of a district-wide notice (27 ms at 189,000).
        members = Guardian.objects.system(reason="a reply answers for the household").filter(household_id=receipt.household_id).values("id")
        family = (
            Receipt.objects.system(reason="a reply answers for the household").filter(notice=notice, guardian_id__in=members, household_id=receipt.household_id)
            .exclude(pk=receipt.pk)
            .filter(Q(replied_at__isnull=True) | Q(replied_by_household=True))
        )
        touched += list(family.values_list("pk", flat=True))
        # The family has answered, so it has read the notice: a reply implies a read, and the other
        # guardians are neither listed as unread nor reminded (the notice asks one reply per household).
        family.update(
            replied_at=now,
            reply=choice,
            reply_comment="",
            replied_by_household=True,
            read_at=Coalesce("read_at", Value(now, output_field=DateTimeField())),
        )
    sync_extra_classes(touched)
    record(
        "notice.reply",
        actor=user,
        model="notices.receipt",
        object_id=receipt.pk,
        changes={"notice": notice.pk, "reply": choice},
    )
    receipt.refresh_from_db()
    return receipt


# --- senders: remind, withdraw --------------------------------------------------------------------------


def manages(user, notice: Notice) -> bool:
    """May act on the whole notice (remind everyone, withdraw): the sender or a sender above its unit."""
    scope = get_scope(user)
    return scope.superuser or notice.sender_id == user.pk or can(scope, SEND_PERM, notice)


def followed_class_ids(user, notice: Notice) -> list[int] | None:
    """Classes whose figures the user may follow on this notice: None = all (a manager)."""
    if manages(user, notice):
        return None

    q = prefix_q("path", perm_paths(user, SEND_PERM))
    if q is None:
        return []
    return list(OrgUnit.objects.visible_to(user).filter(q, kind=Kind.CLASS).values_list("id", flat=True))


@transaction.atomic
def notice_remind(*, actor, notice: Notice, class_ids: list[int] | None = None) -> Reminder:
    """一键提醒: queue a reminder to every unread recipient (of the given classes, or all the actor may follow)."""
    if notice.status != NoticeStatus.PUBLISHED:
        raise ValidationError(_("通知尚未发布完成或已撤回，不能提醒。"))
    allowed = followed_class_ids(actor, notice)
    if allowed is not None:
        if not allowed:
            raise PermissionDenied(_("您无权提醒该通知的收件人。"))
        class_ids = sorted(set(class_ids or allowed) & set(allowed))
        if not class_ids:
            raise PermissionDenied(_("您只能提醒自己负责班级的家长。"))
    elif class_ids is not None:
        class_ids = sorted({int(c) for c in class_ids})
    gap = dt.timedelta(minutes=conf.reminder_gap_minutes())
    recent = notice.reminders.filter(created_at__gt=timezone.now() - gap)  # the notice the caller fetched
    if (
        class_ids is None
        and recent.filter(class_ids__isnull=True).exists()
        or (class_ids is not None and any(set(class_ids) <= set(r.class_ids or class_ids) for r in recent))
    ):
        raise ValidationError(
            _("刚刚已经提醒过，请 %(m)d 分钟后再提醒，以免打扰家长。") % {"m": conf.reminder_gap_minutes()}
        )
    reminder = Reminder.objects.create(notice=notice, created_by=actor, class_ids=class_ids)
    # The log says at once how many the job will remind (the same set the job takes), not 0 until it ran.
    reminder.reminded_count = reminder_targets(notice, class_ids=class_ids, created_at=reminder.created_at).count()
    Reminder.objects.system(reason="the reminder just created").filter(pk=reminder.pk).update(reminded_count=reminder.reminded_count)
    record(
        "notice.remind",
        actor=actor,
        model="notices.notice",
        object_id=notice.pk,
        changes={"reminder": reminder.pk, "classes": class_ids or "all", "queued": reminder.reminded_count},
    )
    _new_job(notice, JobKind.REMIND, ref=reminder.pk)
    return reminder


@transaction.atomic
def notice_withdraw(*, actor, notice: Notice, reason: str) -> Notice:
    if not manages(actor, notice):
        raise PermissionDenied(_("只有发布人或其上级单位可以撤回该通知。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写撤回原因，家长会看到这条说明。")})
    if len(reason) > 200:
        raise ValidationError({"reason": _("撤回原因请控制在200字以内。")})
    if notice.is_withdrawn:
        raise ValidationError(_("该通知已经撤回。"))
    now = timezone.now()
    Notice.objects.system(reason="a notice the actor may withdraw, checked above").filter(pk=notice.pk).update(
        status=NoticeStatus.WITHDRAWN, withdrawn_at=now, withdrawn_by=actor, withdraw_reason=reason
    )
    Delivery.objects.system(reason="a notice the actor may withdraw, checked above").filter(source=source_of(notice.pk), status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED, error=_("通知已撤回")
    )
    record("notice.withdraw", actor=actor, model="notices.notice", object_id=notice.pk, changes={"reason": reason})
    notice.refresh_from_db()
    return notice


# --- push preferences ---------------------------------------------------------------------------------


@transaction.atomic
def guardian_channels_set(
    *, actor, guardian, email: str, email_enabled: bool, sms_enabled: bool, wechat_enabled: bool
) -> None:
    GuardianChannel.objects.system(reason="the guardian's own push channels").update_or_create(
        guardian=guardian, channel="email", defaults={"address": email or "", "enabled": email_enabled}
    )
    GuardianChannel.objects.system(reason="the guardian's own push channels").update_or_create(
        guardian=guardian, channel="sms", defaults={"enabled": sms_enabled}
    )
    GuardianChannel.objects.system(reason="the guardian's own push channels").filter(guardian=guardian, channel="wechat").update(enabled=wechat_enabled)
    record(
        "notice.channels",
        actor=actor,
        model="people.guardian",
        object_id=guardian.pk,
        changes={"email": "***" if email else "", "sms": sms_enabled, "wechat": wechat_enabled},
    )


@transaction.atomic
def guardian_wechat_bind(*, actor, guardian, openid: str) -> None:
    """Called by the WeChat mini program after its own log-in: remember the openid for template messages."""
    openid = (openid or "").strip()
    if not (10 <= len(openid) <= 64) or not openid.replace("-", "").replace("_", "").isalnum():
        raise ValidationError(_("微信标识无效，请在微信中重新打开小程序后再试。"))
    GuardianChannel.objects.system(reason="the guardian's own push channels").update_or_create(
        guardian=guardian, channel="wechat", defaults={"address": openid, "enabled": True}
    )
    record("notice.wechat_bind", actor=actor, model="people.guardian", object_id=guardian.pk, changes={"wechat": "***"})


# --- background jobs --------------------------------------------------------------------------------------


def _class_filter_sql(class_ids: list[int]) -> tuple[str, list]:
    return sql.receipt_in_classes(len(class_ids)), [*class_ids, *class_ids]


def reminder_targets(notice: Notice, *, class_ids: list[int] | None, created_at: dt.datetime):
    """The receipts one reminder reminds: unread (a household's reply marks the family read), not reminded
    within the gap, of the given classes. The one definition behind the queued count and the job."""
    cutoff = created_at - dt.timedelta(minutes=conf.reminder_gap_minutes())
    q = Q(reminded_at__isnull=True) | Q(reminded_at__lt=cutoff)
    if class_ids is not None:
        q &= Q(school_class_id__in=class_ids) | Q(
            id__in=ReceiptClass.objects.filter(notice=notice, school_class_id__in=class_ids).values("receipt_id")
        )
    return Receipt.objects.system(reason="a reminder reaches every unread family of the notice").filter(notice=notice, read_at__isnull=True).filter(q)


def run_reminder(job: NoticeJob) -> None:
    reminder = Reminder.objects.system(reason="the reminder the job was queued for").select_related("notice").get(pk=job.ref)
    notice = reminder.notice
    if notice.status != NoticeStatus.PUBLISHED:
        return
    cutoff = reminder.created_at - dt.timedelta(minutes=conf.reminder_gap_minutes())
    receipt_filter = sql.REMINDER_DUE
    params: list = [cutoff]
    if reminder.class_ids is not None:
        class_sql, class_params = _class_filter_sql(reminder.class_ids)
        receipt_filter += f" AND ({class_sql})"
        params += class_params
    targets = reminder_targets(notice, class_ids=reminder.class_ids, created_at=reminder.created_at)
    with transaction.atomic():
        # Push rows first, then mark the receipts: both or neither, so a rerun finds the same set.
        fanout.insert_deliveries(
            notice,
            kind=DeliveryKind.REMINDER,
            round_=reminder.pk,
            now=timezone.now(),
            only_unread=True,
            receipt_filter=receipt_filter,
            filter_params=params,
        )
        count = targets.update(reminded_at=reminder.created_at, reminder_count=F("reminder_count") + 1)
        # Those who read since the click need no reminder: the log then says how many were reminded. A
        # rerun after a lost finish finds nobody left (all marked) and keeps the count it had.
        if count:
            Reminder.objects.system(reason="the reminder the job was queued for").filter(pk=reminder.pk).update(reminded_count=count)


def run_escalation(job: NoticeJob) -> None:
    notice = Notice.objects.get(pk=job.notice_id)
    if notice.status != NoticeStatus.PUBLISHED or notice.priority != Priority.EMERGENCY:
        return
    now = timezone.now()
    with transaction.atomic():
        fanout.insert_deliveries(
            notice, kind=DeliveryKind.ESCALATION, round_=0, now=now, only_unread=True, sms_for_all=True
        )
        Notice.objects.filter(pk=notice.pk, escalated_at__isnull=True).update(escalated_at=now)


def escalate_due(now: dt.datetime | None = None) -> int:
    """Emergency notices still unread after their time: queue the SMS re-send (once per notice)."""
    now = now or timezone.now()
    count = 0
    candidates = Notice.objects.filter(
        status=NoticeStatus.PUBLISHED,
        priority=Priority.EMERGENCY,
        escalated_at__isnull=True,
        published_at__isnull=False,
    ).values_list("pk", "published_at", "escalate_after_minutes")
    for pk, published_at, minutes in candidates[:200]:
        if published_at + dt.timedelta(minutes=minutes or conf.escalate_minutes()) <= now:
            with transaction.atomic():
                if not NoticeJob.objects.filter(notice_id=pk, kind=JobKind.ESCALATE).exists():
                    _new_job(Notice(pk=pk), JobKind.ESCALATE)
                    count += 1
    return count


def run_pending_jobs(notice: Notice) -> None:
    """Run the notice's queued jobs now, in this process, as the worker would (a job already run is
    skipped): for the demo data and the tests, which need the outcome at once."""
    keys = [job_key(pk) for pk in NoticeJob.objects.filter(notice=notice).values_list("pk", flat=True)]
    jobs.run_pending(keys=keys)


RUNNERS = {JobKind.FANOUT: fanout.run_fanout, JobKind.REMIND: run_reminder, JobKind.ESCALATE: run_escalation}


def job_run(notice_job_id: int) -> str:
    """The outbox handler's body: run one notice job to the end. The jobs runner has claimed its row, so
    no other worker runs it now; a rerun (after a killed worker) resumes from the job's cursor."""
    job = NoticeJob.objects.select_related("notice").get(pk=notice_job_id)
    if job.status in (JobStatus.DONE, JobStatus.FAILED):
        return "skipped"
    NoticeJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    RUNNERS[job.kind](job)
    NoticeJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, finished_at=timezone.now())
    outbox.send_due(source=source_of(job.notice_id))
    return "done"


def job_gave_up(notice_job_id: int) -> None:
    """The outbox ran out of attempts: the notice's record says so (the reason is on the jobs row)."""
    NoticeJob.objects.filter(pk=notice_job_id).exclude(status=JobStatus.DONE).update(
        status=JobStatus.FAILED, finished_at=timezone.now()
    )


def tick() -> dict:
    """Once a minute in the worker: scheduled notices and emergency escalation (messaging's own tick sends
    every module's due pushes and releases stale claims)."""
    return {"published": publish_due(), "escalated": escalate_due()}
