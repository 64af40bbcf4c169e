"""Writes of the homeschool module: consultations and their FAQ, micro-guides, home visits, the expert pool.

Each function takes the acting user, checks the scope again (a view's check is not trusted alone),
is atomic and writes one audit row.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import record
from core.perms import can, perm_paths
from core.scoping import get_scope
from core.uploads import safe_original_name
from homeschool.models import (
    FAQ,
    OVERSEE,
    TEACH,
    Consultation,
    ConsultationMessage,
    ConsultStatus,
    Expert,
    GuideRead,
    HomeVisit,
    MicroGuide,
    Stage,
    Target,
    Topic,
    VisitMode,
    VisitStatus,
    stage_for_grade_year,
)
from messaging.models import Channel
from messaging.services import Note, notify
from notices.sanitize import clean_html
from org.models import OrgUnit
from people.models import Guardian, Student
from periods.models import Period, PeriodKind

# --- school-day clock ---------------------------------------------------------------------------------------


def school_hours(start: dt.datetime, end: dt.datetime) -> float:
    """Hours between two moments that fall on school days (Monday–Friday, Asia/Shanghai)."""
    if end <= start:
        return 0.0
    start, end = timezone.localtime(start), timezone.localtime(end)
    total = 0.0
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        nxt = day + dt.timedelta(days=1)
        if day.weekday() < 5:
            total += (min(end, nxt) - max(start, day)).total_seconds()
        day = nxt
    return round(total / 3600, 2)


def school_hours_before(now: dt.datetime, hours: float) -> dt.datetime:
    """The moment `hours` school-day hours before now: anything older and still unanswered is overdue."""
    remaining = hours * 3600
    cursor = timezone.localtime(now)
    while remaining > 0:
        day_start = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
        if day_start == cursor:  # at midnight: step into the previous day
            day_start -= dt.timedelta(days=1)
        if day_start.weekday() < 5:
            span = (cursor - day_start).total_seconds()
            if span >= remaining:
                return cursor - dt.timedelta(seconds=remaining)
            remaining -= span
        cursor = day_start
    return cursor


# --- expert pool --------------------------------------------------------------------------------------------


def is_expert(user, district_id=None) -> bool:
    qs = Expert.objects.system(reason="the user's own memberships of expert pools").filter(user_id=user.pk, is_active=True)
    if district_id:
        qs = qs.filter(district_id=district_id)
    return qs.exists()


def _district_admin_of(user, district) -> bool:
    scope = get_scope(user)
    return scope.superuser or can(scope, OVERSEE, district) and district.kind == "district"


@transaction.atomic
def expert_add(*, actor, district, phone: str, title: str = "") -> Expert:
    if not _district_admin_of(actor, district):
        raise PermissionDenied(_("只有区级管理员可以管理专家库。"))
    user = User.objects.filter(phone=(phone or "").strip(), is_active=True).first()
    if user is None:
        raise ValidationError({"phone": _("找不到使用该手机号的账号，请先为专家开通账号。")})
    expert, _created = Expert.objects.system(reason="the district admin's own pool, checked above").update_or_create(district=district, user=user, defaults={"title": title.strip()[:60], "is_active": True})
    record("homeschool.expert_add", actor=actor, model="homeschool.expert", object_id=expert.pk, changes={"user": user.pk})
    return expert


@transaction.atomic
def expert_remove(*, actor, expert: Expert) -> None:
    if not _district_admin_of(actor, expert.district):
        raise PermissionDenied(_("只有区级管理员可以管理专家库。"))
    Expert.objects.system(reason="the district admin's own pool, checked above").filter(pk=expert.pk).update(is_active=False)
    record("homeschool.expert_remove", actor=actor, model="homeschool.expert", object_id=expert.pk)


# --- consultations ------------------------------------------------------------------------------------------


def _save_attachment(message: ConsultationMessage, attachment) -> None:
    if attachment is None:
        return
    name, data, content_type = attachment
    message.attachment_name = safe_original_name(name)
    message.attachment_type = content_type
    message.attachment_size = len(data)
    message.attachment.save("upload", ContentFile(data), save=False)


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("请填写内容。")})
    if len(body) > 4000:
        raise ValidationError({"body": _("内容请控制在4000字以内，可分几条发送。")})
    return body


def staff_label(user, consultation: Consultation) -> str:
    if consultation.target == Target.EXPERT:
        return _("%(name)s（区家庭教育专家）") % {"name": user.name}
    return _("%(name)s（班主任）") % {"name": user.name}


@transaction.atomic
def consultation_ask(*, actor, student: Student, target: str, subject: str, body: str, topic: str = Topic.OTHER, attachment=None) -> Consultation:
    """A guardian asks about one of their own children; the class teacher or the expert pool answers."""
    scope = get_scope(actor)
    if not scope.guardian_id or not Student.objects.visible_to(actor).filter(pk=student.pk, guardianships__guardian_id=scope.guardian_id).exists():
        raise PermissionDenied(_("只能就自己的孩子提问。"))
    if target not in Target.values:
        raise ValidationError({"target": _("请选择向班主任还是区家庭教育专家咨询。")})
    if topic not in Topic.values:
        topic = Topic.OTHER
    subject = (subject or "").strip()
    if not subject:
        raise ValidationError({"subject": _("请用一句话写下您想问的问题。")})
    body = _clean_body(body)
    now = timezone.now()
    consultation = Consultation.objects.create(
        district_id=student.district_id,
        guardian_id=scope.guardian_id,
        asked_by=actor,
        student=student,
        school_class_id=student.school_class_id,
        target=target,
        topic=topic,
        subject=subject[:80],
        last_message_at=now,
    )
    message = ConsultationMessage(consultation=consultation, author=actor, from_family=True, author_label=_("家长"), body=body)
    _save_attachment(message, attachment)
    message.save()
    record("homeschool.consult_ask", actor=actor, model="homeschool.consultation", object_id=consultation.pk, changes={"target": target, "topic": topic})
    return consultation


def is_family_side(user, consultation: Consultation) -> bool:
    return get_scope(user).guardian_id == consultation.guardian_id


@transaction.atomic
def consultation_reply(*, actor, consultation: Consultation, body: str, attachment=None) -> ConsultationMessage:
    """Add to the thread. The caller fetched the consultation through visible_to; the role decides the side."""
    consultation = Consultation.objects.system(reason="a consultation the caller fetched through visible_to").select_for_update().get(pk=consultation.pk)
    if not Consultation.objects.visible_to(actor).filter(pk=consultation.pk).exists():
        raise PermissionDenied(_("您无权回复该咨询。"))
    if consultation.status == ConsultStatus.CLOSED:
        raise ValidationError(_("该咨询已关闭。如有新问题，请重新提问。"))
    body = _clean_body(body)
    now = timezone.now()
    family = is_family_side(actor, consultation)
    message = ConsultationMessage(
        consultation=consultation, author=actor, from_family=family, author_label=_("家长") if family else staff_label(actor, consultation), body=body
    )
    _save_attachment(message, attachment)
    message.save()
    updates = {"last_message_at": now}
    if family:
        updates["status"] = ConsultStatus.OPEN
    else:
        updates["status"] = ConsultStatus.ANSWERED
        if consultation.first_reply_at is None:
            updates.update(
                first_reply_at=now, first_reply_by=actor, first_reply_hours=school_hours(consultation.created_at, now)
            )
    Consultation.objects.system(reason="a consultation the caller fetched through visible_to").filter(pk=consultation.pk).update(**updates)
    record("homeschool.consult_reply", actor=actor, model="homeschool.consultation", object_id=consultation.pk, changes={"from_family": family})
    if not family:
        _notify_asker(consultation, message)
    return message


def _notify_asker(consultation: Consultation, message: ConsultationMessage) -> None:
    """The asking guardian hears of a reply (in-app, WeChat, or SMS); the text never quotes the thread."""
    notify(
        [consultation.guardian],
        Note(title=(_("您的咨询有了新回复：%(subject)s") % {"subject": consultation.subject})[:120],
             link=f"/homeschool/consultations/{consultation.pk}/", source=f"consultation:{consultation.pk}", kind="reply"),
        channels=(Channel.INAPP, Channel.WECHAT, Channel.SMS),
        key=f"consultation-reply:{message.pk}",
    )


@transaction.atomic
def consultation_close(*, actor, consultation: Consultation) -> None:
    if not Consultation.objects.visible_to(actor).filter(pk=consultation.pk).exists():
        raise PermissionDenied(_("您无权关闭该咨询。"))
    Consultation.objects.system(reason="a consultation the actor may close, checked above").filter(pk=consultation.pk).exclude(status=ConsultStatus.CLOSED).update(status=ConsultStatus.CLOSED, closed_at=timezone.now())
    record("homeschool.consult_close", actor=actor, model="homeschool.consultation", object_id=consultation.pk)


PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
STUDENT_NO = re.compile(r"(?<![A-Za-z\d])[GLJ]\d{10,20}(?!\d)")


def anonymise(text: str, *, names=(), places=()) -> str:
    """Remove what identifies a family: names (full, and given name alone), places, phone and ID numbers."""
    out = text or ""
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        out = out.replace(name, "孩子" if name == names[0] else "家长")
        if len(name) >= 3:
            out = out.replace(name[1:], "孩子" if name == names[0] else "家长")
    for place in sorted({p for p in places if p}, key=len, reverse=True):
        out = out.replace(place, "某校" if "学" in place or "校" in place else "某班")
    out = PHONE.sub("***", out)
    out = ID_NUMBER.sub("***", out)
    return STUDENT_NO.sub("***", out)


def faq_draft(consultation: Consultation) -> dict:
    """A first anonymised draft of an FAQ entry from a consultation, for staff to edit before publishing."""
    messages = list(consultation.messages.all())
    question = "\n".join(m.body for m in messages if m.from_family)[:2000]
    answer = "\n\n".join(m.body for m in messages if not m.from_family)[:6000]
    student = consultation.student
    school_class = consultation.school_class
    school = school_class.parent.parent if school_class.parent_id and school_class.parent.parent_id else None
    names = [student.name, consultation.guardian.name]
    places = [school_class.name, school.name if school else ""]
    grade = school_class.parent.grade_year if school_class.parent_id else None

    return {
        "question": anonymise(f"{consultation.subject}\n{question}", names=names, places=places),
        "answer": anonymise(answer, names=names, places=places),
        "stage": stage_for_grade_year(grade),
        "topic": consultation.topic,
    }


def can_write_faq(user, district_id) -> bool:
    scope = get_scope(user)
    if scope.superuser or is_expert(user, district_id):
        return True
    prefixes = perm_paths(scope, TEACH, OVERSEE)
    return any(p.startswith(f"/{district_id}/") for p in prefixes)


@transaction.atomic
def faq_create(*, actor, district_id: int, question: str, answer: str, stage: str = "", topic: str = Topic.OTHER,
               source: Consultation | None = None, publish: bool = True) -> FAQ:
    if not can_write_faq(actor, district_id):
        raise PermissionDenied(_("您无权发布常见问题。"))
    if source is not None and not Consultation.objects.visible_to(actor).filter(pk=source.pk).exists():
        raise PermissionDenied(_("您无权引用该咨询。"))
    question, answer = (question or "").strip(), (answer or "").strip()
    if not question or not answer:
        raise ValidationError(_("请填写问题和解答。"))
    if stage and stage not in Stage.values:
        raise ValidationError({"stage": _("学段无效，请重新选择。")})
    faq = FAQ.objects.create(
        district_id=district_id, stage=stage, topic=topic if topic in Topic.values else Topic.OTHER, question=question[:2000],
        answer=answer[:6000], source=source, created_by=actor, is_published=publish,
    )
    record("homeschool.faq_create", actor=actor, model="homeschool.faq", object_id=faq.pk, changes={"source": source.pk if source else None})
    return faq


# --- micro-guides -------------------------------------------------------------------------------------------


def guide_units(user):
    """Units a user may publish a guide in the name of: the units they teach or oversee; experts: the district."""
    scope = get_scope(user)
    prefixes = set(perm_paths(scope, TEACH, OVERSEE))
    ids = {int(p.strip("/").split("/")[-1]) for p in prefixes}
    ids |= set(Expert.objects.system(reason="the user's own memberships of expert pools").filter(user_id=user.pk, is_active=True).values_list("district_id", flat=True))
    return OrgUnit.objects.system(reason="the units the user teaches or oversees, or their expert districts").filter(id__in=ids, is_active=True).order_by("depth", "path")


@transaction.atomic
def guide_publish(*, actor, author_unit, title: str, body: str, topic: str, stage: str = "", summary: str = "") -> MicroGuide:
    if not guide_units(actor).filter(pk=author_unit.pk).exists():
        raise PermissionDenied(_("您无权以该单位的名义发布微指南。"))
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("请填写标题。")})
    body = clean_html(body)
    if not body:
        raise ValidationError({"body": _("请填写正文。")})
    if topic not in Topic.values:
        raise ValidationError({"topic": _("请选择话题。")})
    if stage and stage not in Stage.values:
        raise ValidationError({"stage": _("学段无效，请重新选择。")})
    guide = MicroGuide.objects.create(
        district_id=author_unit.district_id or author_unit.pk,
        author=actor,
        author_label=f"{author_unit.full_name} · {actor.name}"[:80],
        author_unit=author_unit,
        title=title[:80],
        summary=(summary or "").strip()[:120],
        body=body,
        stage=stage,
        topic=topic,
        published_at=timezone.now(),
    )
    record("homeschool.guide_publish", actor=actor, model="homeschool.microguide", object_id=guide.pk, changes={"stage": stage, "topic": topic})
    transaction.on_commit(lambda: push_guide(guide.pk))
    return guide


GRADE_YEARS = range(-3, 13)  # 幼儿园 to 高三


def guide_families(guide: MicroGuide):
    """The guardians a guide is for: of active children in classes under its unit, in its stage (any when blank)."""
    students = Student.objects.filter(is_active=True, school_class__path__startswith=guide.author_unit.path)
    if guide.stage:
        students = students.filter(
            school_class__parent__grade_year__in=[y for y in GRADE_YEARS if stage_for_grade_year(y) == guide.stage]
        )
    return Guardian.objects.filter(is_active=True, guardianships__student__in=students).distinct()


def push_guide(guide_id: int) -> int:
    """Tell the guide's families (in-app and WeChat: a guide is never worth an SMS), once per guide."""
    guide = MicroGuide.objects.select_related("author_unit").get(pk=guide_id)
    if not guide.is_published:
        return 0
    return notify(
        guide_families(guide),
        Note(title=(_("新的家庭教育微指南：%(title)s") % {"title": guide.title})[:120], body=guide.summary,
             link=f"/homeschool/guides/{guide.pk}/", source=f"guide:{guide.pk}", kind="guide"),
        channels=(Channel.INAPP, Channel.WECHAT),
        key=f"guide:{guide.pk}",
    )


def guide_mark_read(*, actor, guide: MicroGuide) -> GuideRead | None:
    """A family member opened the guide: counted once per guardian (no audit row: a read, not a change)."""
    guardian_id = get_scope(actor).guardian_id
    if not guardian_id:
        return None
    GuideRead.objects.bulk_create([GuideRead(guide=guide, guardian_id=guardian_id)], ignore_conflicts=True)
    return GuideRead.objects.system(reason="the actor's own read, by their guardian id").filter(guide=guide, guardian_id=guardian_id).first()


@transaction.atomic
def guide_rate(*, actor, guide: MicroGuide, rating) -> GuideRead:
    guardian_id = get_scope(actor).guardian_id
    if not guardian_id:
        raise PermissionDenied(_("只有家长可以评分。"))
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ValidationError(_("请选择 1 到 5 颗星。"))
    try:
        read, _created = GuideRead.objects.system(reason="the actor's own read, by their guardian id").get_or_create(guide=guide, guardian_id=guardian_id)
    except IntegrityError:
        read = GuideRead.objects.system(reason="the actor's own read, by their guardian id").get(guide=guide, guardian_id=guardian_id)
    GuideRead.objects.system(reason="the actor's own read, fetched above").filter(pk=read.pk).update(rating=rating, rated_at=timezone.now())
    read.rating = rating
    return read


# --- home visits --------------------------------------------------------------------------------------------


def _require_teach(actor, student_or_class):
    if not can(actor, TEACH, student_or_class):
        raise PermissionDenied(_("只有本班班主任可以安排和记录家访。"))


@transaction.atomic
def visit_plan(*, actor, student: Student, planned_for: dt.date, mode: str = VisitMode.HOME) -> HomeVisit:
    _require_teach(actor, student)
    if mode not in VisitMode.values:
        raise ValidationError({"mode": _("请选择家访方式。")})
    if planned_for is None:
        raise ValidationError({"planned_for": _("请选择计划日期。")})
    visit = HomeVisit.objects.create(
        district_id=student.district_id, school_class_id=student.school_class_id, student=student, planned_for=planned_for, mode=mode,
        created_by=actor,
    )
    record("homeschool.visit_plan", actor=actor, model="homeschool.homevisit", object_id=visit.pk, changes={"student": student.pk, "planned_for": planned_for})
    return visit


@transaction.atomic
def visit_record(*, actor, visit: HomeVisit, status: str, visited_on: dt.date | None, participants: str = "", topics: str = "",
                 follow_ups: str = "", follow_up_due: dt.date | None = None, mode: str | None = None) -> HomeVisit:
    _require_teach(actor, visit)
    if status not in VisitStatus.values:
        raise ValidationError({"status": _("请选择家访状态。")})
    if status == VisitStatus.DONE:
        if visited_on is None:
            raise ValidationError({"visited_on": _("请填写家访日期。")})
        if visited_on > timezone.localdate():
            raise ValidationError({"visited_on": _("家访日期不能晚于今天；尚未进行的家访请保持“计划中”。")})
        if not (participants or "").strip() or not (topics or "").strip():
            raise ValidationError(_("请填写参加人员和交流内容。"))
    if follow_up_due and visited_on and follow_up_due < visited_on:
        raise ValidationError({"follow_up_due": _("后续事项期限应晚于家访日期。")})
    before = {"status": visit.status, "visited_on": visit.visited_on}
    visit.status = status
    visit.visited_on = visited_on if status == VisitStatus.DONE else None
    visit.participants = (participants or "").strip()[:200]
    visit.topics = (topics or "").strip()[:2000]
    visit.follow_ups = (follow_ups or "").strip()[:1000]
    visit.follow_up_due = follow_up_due
    if mode in VisitMode.values:
        visit.mode = mode
    visit.recorded_by = actor
    visit.save()
    record("homeschool.visit_record", actor=actor, model="homeschool.homevisit", object_id=visit.pk, changes={"before": before, "status": status})
    return visit


def current_semester(district_id: int, on: dt.date | None = None) -> tuple[dt.date, dt.date, str]:
    """The district's current semester from periods; without one, the default calendar (1 Sep / 1 Feb)."""
    day = on or timezone.localdate()
    period = Period.objects.current(district=district_id, kind=PeriodKind.SEMESTER, on=day)
    if period is not None:
        return period.start, period.end, period.name
    if day.month >= 9 or day.month == 1:
        year = day.year if day.month >= 9 else day.year - 1
        return dt.date(year, 9, 1), dt.date(year + 1, 1, 31), _("%(y)d—%(n)d学年第一学期") % {"y": year, "n": year + 1}
    return dt.date(day.year, 2, 1), dt.date(day.year, 8, 31), _("%(y)d—%(n)d学年第二学期") % {"y": day.year - 1, "n": day.year}


