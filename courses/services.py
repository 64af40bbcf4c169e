"""Writes for the parent school. Each service takes the acting user and checks the scope itself; errors
are ValidationError with a Chinese message and a stable code."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from activities import services as activity_services
from activities.models import ActivityKind, Audience
from activities.uploads import stored_name, video_check
from audit.services import record
from core.errors import refusal as _err
from core.perms import can
from core.scoping import get_scope
from courses.models import (
    BookingStatus,
    Course,
    CourseBooking,
    CourseCategory,
    CourseMode,
    CourseRating,
    CourseStatus,
    Homework,
    Lesson,
    LessonWatch,
    TopicRequest,
    TopicStatus,
    TopicVote,
)
from courses.perms import MANAGE
from ledger import services as ledger
from org.models import Kind, OrgUnit
from people.models import Student


def can_manage(user, obj) -> bool:
    return can(user, MANAGE, obj)


COURSE_FIELDS = ("title", "category", "stage", "mode", "lecturer_name", "description")


def _check_course_fields(fields: dict) -> None:
    if not (fields.get("title") or "").strip():
        raise _err(_("请填写课程名称。"), "title_required")
    if fields.get("category") not in CourseCategory.values:
        raise _err(_("请选择课程类别。"), "category_invalid")
    if fields.get("mode") not in CourseMode.values:
        raise _err(_("请选择授课方式。"), "mode_invalid")


@transaction.atomic
def course_create(*, actor, owner_unit: OrgUnit, topic: TopicRequest | None = None, **fields) -> Course:
    if not can_manage(actor, owner_unit):
        raise PermissionDenied(_("您无权在该单位开设家长学校课程。"))
    fields = {k: v for k, v in fields.items() if k in COURSE_FIELDS}
    _check_course_fields(fields)
    course = Course.objects.create(district_id=owner_unit.district_id, owner_unit=owner_unit, topic=topic, created_by=actor, **fields)
    record("courses.create", actor=actor, model="courses.course", object_id=course.pk, changes={"category": course.category, "mode": course.mode})
    return course


@transaction.atomic
def course_update(*, actor, course: Course, **fields) -> Course:
    if not can_manage(actor, course):
        raise PermissionDenied(_("您无权修改该课程。"))
    fields = {k: v for k, v in fields.items() if k in COURSE_FIELDS}
    _check_course_fields({k: getattr(course, k) for k in COURSE_FIELDS} | fields)
    for k, v in fields.items():
        setattr(course, k, v)
    course.save()
    record("courses.update", actor=actor, model="courses.course", object_id=course.pk, changes={"fields": sorted(fields)})
    return course


@transaction.atomic
def course_publish(*, actor, course: Course) -> Course:
    if not can_manage(actor, course):
        raise PermissionDenied(_("您无权发布该课程。"))
    if not course.lessons.exists():
        raise _err(_("请先添加至少一个课时。"), "lesson_required")
    course.status = CourseStatus.PUBLISHED
    course.save(update_fields=["status", "updated_at"])
    record("courses.publish", actor=actor, model="courses.course", object_id=course.pk)
    return course


LESSON_FIELDS = ("title", "order", "hours", "intro", "discussion", "summary", "homework", "extension", "duration_seconds", "live_url")
CONTENT_FIELDS = ("intro", "discussion", "summary", "extension")
LIVE_URL = URLValidator(schemes=["https", "http"])
# A live room opens a little early so that families can test their sound before the start.
LIVE_OPENS_BEFORE = dt.timedelta(minutes=15)


def _check_live_url(url: str) -> str:
    url = (url or "").strip()
    try:
        LIVE_URL(url)
    except ValidationError as exc:
        raise _err(_("直播链接无效，请填写以 https:// 开头的完整网址。"), "live_url_invalid") from exc
    return url


@transaction.atomic
def lesson_create(*, actor, course: Course, video=None, starts_at=None, ends_at=None, capacity: int | None = None, venue: str = "",
                  **fields) -> Lesson:
    """Add a lesson. A live lesson needs its content, its link and its time (held as an activity session,
    like an offline lesson's, so sign-up, check-in and hours work the same); an offline lesson may be
    scheduled at once by giving its time."""
    if not can_manage(actor, course):
        raise PermissionDenied(_("您无权修改该课程。"))
    fields = {k: v for k, v in fields.items() if k in LESSON_FIELDS}
    if not (fields.get("title") or "").strip():
        raise _err(_("请填写课时名称。"), "title_required")
    try:
        hours = Decimal(str(fields.get("hours", "1")))
    except InvalidOperation as exc:
        raise _err(_("学时应为数字，例如 1 或 1.5。"), "hours_invalid") from exc
    if hours <= 0 or hours > 8:
        raise _err(_("每课时计 0.5 到 8 学时。"), "hours_invalid")
    fields["hours"] = hours
    if course.mode == CourseMode.RECORDED:
        if video is None:
            raise _err(_("录播课程请上传课程视频（MP4 或 WebM）。"), "video_required")
        if not fields.get("duration_seconds"):
            raise _err(_("请填写视频时长，用于计算观看进度。"), "duration_required")
        fields["live_url"] = ""
    elif course.mode == CourseMode.LIVE:
        if not any((fields.get(k) or "").strip() for k in CONTENT_FIELDS):
            raise _err(_("请填写直播课时的内容（至少填写“视频导入”或“现场研讨”）。"), "content_required")
        if not (fields.get("live_url") or "").strip():
            raise _err(_("请填写直播链接（以 https:// 开头）。"), "live_url_required")
        fields["live_url"] = _check_live_url(fields["live_url"])
        if not starts_at or not ends_at:
            raise _err(_("请填写直播的开始和结束时间。"), "live_time_required")
    else:
        fields["live_url"] = ""
    if (starts_at or ends_at) and not (starts_at and ends_at and ends_at > starts_at):
        raise _err(_("场次结束时间应晚于开始时间。"), "session_times_invalid")
    lesson = Lesson(course=course, **fields)
    if video is not None:
        lesson.video_type = video_check(video)
        lesson.video.save(stored_name(lesson.video_type), video, save=False)
    lesson.save()
    record("courses.lesson_create", model="courses.lesson", object_id=lesson.pk, changes={"course": course.pk})
    if starts_at and course.mode != CourseMode.RECORDED:
        lesson_schedule(actor=actor, lesson=lesson, starts_at=starts_at, ends_at=ends_at, capacity=capacity, venue=venue)
    return lesson


def live_state(lesson: Lesson, sessions, now: dt.datetime | None = None) -> dict | None:
    """What a live lesson's page shows: the next (or current) session and whether its room is open."""
    if lesson.course.mode != CourseMode.LIVE:
        return None
    now = now or timezone.now()
    upcoming = [s for s in sessions if s.ends_at >= now]
    session = min(upcoming, key=lambda s: s.starts_at) if upcoming else (max(sessions, key=lambda s: s.starts_at) if sessions else None)
    if session is None:
        return {"state": "unscheduled", "session": None}
    if session.ends_at < now:
        return {"state": "ended", "session": session}
    if now < session.starts_at - LIVE_OPENS_BEFORE:
        return {"state": "soon", "session": session}
    return {"state": "open", "session": session, "url": lesson.live_url}


@transaction.atomic
def lesson_schedule(*, actor, lesson: Lesson, starts_at, ends_at, capacity: int | None, venue: str) -> Lesson:
    """Hold an offline or live lesson as an activity session: sign-up, QR check-in and attendance then
    work as for every activity, and attendance credits the lesson's hours under the lesson's key."""
    course = lesson.course
    if not can_manage(actor, course):
        raise PermissionDenied(_("您无权安排该课程。"))
    if course.mode == CourseMode.RECORDED:
        raise _err(_("录播课程无需安排场次。"), "recorded")
    if lesson.activity_id is None:
        activity = activity_services.activity_create(
            actor=actor, owner_unit=course.owner_unit, audience_units=[course.owner_unit], kind=ActivityKind.PARENT_SCHOOL,
            title=f"{course.title}：{lesson.title}", description=lesson.intro, venue=venue or _("线上直播"),
            audience=Audience.GUARDIANS, requires_signup=True, max_party_size=1, credited_hours=lesson.hours,
            sessions=[(starts_at, ends_at, capacity)],
        )
        # Attendance credits the lesson, not the session: attending and watching it are one ledger row.
        activity.credit_source = lesson.source_key
        activity.save(update_fields=["credit_source"])
        activity_services.activity_submit(actor=actor, activity=activity)
        lesson.activity = activity
        lesson.save(update_fields=["activity"])
    else:
        activity_services.session_add(actor=actor, activity=lesson.activity, starts_at=starts_at, ends_at=ends_at, capacity=capacity, venue=venue)
    return lesson


def _guardian(actor):
    return activity_services.guardian_of(actor)


@transaction.atomic
def course_book(*, actor, course: Course) -> CourseBooking:
    guardian = _guardian(actor)
    if course.status != CourseStatus.PUBLISHED:
        raise _err(_("该课程尚未开放预约。"), "not_published")
    booking, created = CourseBooking.objects.system(reason="the guardian's own booking").get_or_create(
        course=course, guardian=guardian, defaults={"district_id": course.district_id}
    )
    if not created and booking.status == BookingStatus.BOOKED:
        raise _err(_("您已预约该课程。"), "already_booked")
    booking.status = BookingStatus.BOOKED
    booking.save(update_fields=["status"])
    record("courses.book", actor=actor, model="courses.coursebooking", object_id=booking.pk, changes={"course": course.pk})
    return booking


@transaction.atomic
def course_unbook(*, actor, course: Course) -> None:
    guardian = _guardian(actor)
    updated = CourseBooking.objects.filter(course=course, guardian=guardian, status=BookingStatus.BOOKED).update(status=BookingStatus.CANCELLED)
    if not updated:
        raise _err(_("您没有预约该课程。"), "not_booked")
    record("courses.unbook", actor=actor, model="courses.course", object_id=course.pk)


# --- Watching recorded lessons -------------------------------------------------------------------

# A player reports its position every few seconds while playing. Only advances that real playback could
# have made since the last report count: at most MAX_RATE× the elapsed time (players offer 2× speed)
# plus SLACK seconds; seeking ahead, long gaps or a position jumping back count nothing.
MAX_RATE = 2.0
SLACK = 3.0
MAX_GAP = 120.0
COMPLETE_SHARE = 0.9


def watch_beacon(*, actor, lesson: Lesson, position: float, now: dt.datetime | None = None) -> LessonWatch:
    guardian = _guardian(actor)
    course = lesson.course
    if course.mode != CourseMode.RECORDED or not lesson.duration_seconds:
        raise _err(_("该课时没有录播视频。"), "not_recorded")
    if course.status != CourseStatus.PUBLISHED:
        raise _err(_("该课程尚未发布。"), "not_published")
    try:
        position = float(position)
    except (TypeError, ValueError) as exc:
        raise _err(_("播放进度无效。"), "position_invalid") from exc
    if math.isnan(position) or math.isinf(position):
        raise _err(_("播放进度无效。"), "position_invalid")
    duration = lesson.duration_seconds
    position = min(max(position, 0.0), float(duration))
    now = now or timezone.now()
    nbuckets = math.ceil(duration / LessonWatch.BUCKET)
    with transaction.atomic():
        try:
            with transaction.atomic():
                watch, _created = LessonWatch.objects.system(reason="the guardian's own watch row").get_or_create(
                    lesson=lesson, guardian=guardian, defaults={"district_id": course.district_id, "buckets": "0" * nbuckets}
                )
        except IntegrityError:
            watch = LessonWatch.objects.system(reason="the guardian's own watch row").get(lesson=lesson, guardian=guardian)
        watch = LessonWatch.objects.system(reason="the guardian's own watch row").select_for_update().get(pk=watch.pk)
        buckets = list(watch.buckets.ljust(nbuckets, "0")[:nbuckets])
        if watch.last_beacon_at is not None:
            elapsed = (now - watch.last_beacon_at).total_seconds()
            delta = position - watch.last_position
            if 0 < delta and 0 < elapsed <= MAX_GAP and delta <= elapsed * MAX_RATE + SLACK:
                first = math.ceil(watch.last_position / LessonWatch.BUCKET)
                last = math.ceil(position / LessonWatch.BUCKET) - 1
                if position >= duration:
                    last = nbuckets - 1
                for i in range(first, min(last, nbuckets - 1) + 1):
                    buckets[i] = "1"
        watch.buckets = "".join(buckets)
        watch.watched_seconds = min(duration, buckets.count("1") * LessonWatch.BUCKET)
        watch.last_position = position
        watch.last_beacon_at = now
        newly_complete = watch.completed_at is None and buckets.count("1") >= COMPLETE_SHARE * nbuckets
        if newly_complete:
            watch.completed_at = now
        watch.save()
        if newly_complete:
            ledger.credit(
                source=lesson.source_key, guardian_ids=[guardian.pk], hours=lesson.hours, day=timezone.localdate(now),
                title=f"{course.title}：{lesson.title}", school_id=course.owner_unit_id if course.owner_unit.kind == Kind.SCHOOL else None,
                district_id=course.district_id,
            )
            record("courses.watch_complete", actor=actor, model="courses.lesson", object_id=lesson.pk, changes={"guardian": guardian.pk})
    return watch


# --- Homework, ratings ------------------------------------------------------------------------------


@transaction.atomic
def homework_submit(*, actor, lesson: Lesson, text: str) -> Homework:
    guardian = _guardian(actor)
    text = (text or "").strip()
    if not text:
        raise _err(_("请填写作业内容。"), "text_required")
    if len(text) > 5000:
        raise _err(_("作业内容请控制在5000字以内。"), "text_too_long")
    hw, created = Homework.objects.system(reason="the guardian's own homework").get_or_create(
        lesson=lesson, guardian=guardian, defaults={"district_id": lesson.course.district_id, "text": text}
    )
    if not created:
        if hw.feedback:
            raise _err(_("老师已反馈，作业不能再修改。"), "already_reviewed")
        hw.text = text
        hw.save(update_fields=["text", "updated_at"])
    record("courses.homework_submit", actor=actor, model="courses.homework", object_id=hw.pk, changes={"lesson": lesson.pk})
    return hw


@transaction.atomic
def homework_feedback(*, actor, homework: Homework, text: str) -> Homework:
    if not can_manage(actor, homework):
        raise PermissionDenied(_("您无权批改该作业。"))
    text = (text or "").strip()
    if not text:
        raise _err(_("请填写反馈内容。"), "text_required")
    homework.feedback = text[:2000]
    homework.feedback_by = actor
    homework.feedback_at = timezone.now()
    homework.save(update_fields=["feedback", "feedback_by", "feedback_at", "updated_at"])
    record("courses.homework_feedback", actor=actor, model="courses.homework", object_id=homework.pk)
    return homework


@transaction.atomic
def course_rate(*, actor, course: Course, stars: int, comment: str) -> CourseRating:
    guardian = _guardian(actor)
    took_part = CourseBooking.objects.system(reason="the guardian's own booking").filter(course=course, guardian=guardian, status=BookingStatus.BOOKED).exists()
    if not took_part:
        raise _err(_("预约并学习该课程后才能评价。"), "not_booked")
    try:
        stars = int(stars)
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise _err(_("请选择1到5星。"), "stars_invalid")
    rating, _created = CourseRating.objects.system(reason="the guardian's own rating").update_or_create(
        course=course, guardian=guardian, defaults={"stars": stars, "comment": (comment or "").strip()[:1000], "district_id": course.district_id}
    )
    record("courses.rate", actor=actor, model="courses.courserating", object_id=rating.pk, changes={"stars": stars})
    return rating


@transaction.atomic
def school_setting_update(*, actor, school: OrgUnit, hours_target):
    if school.kind != Kind.SCHOOL or not can_manage(actor, school):
        raise PermissionDenied(_("您无权修改该校的家长学校设置。"))
    try:
        target = Decimal(str(hours_target))
    except InvalidOperation as exc:
        raise _err(_("学时要求应为数字，例如 8。"), "hours_invalid") from exc
    if target <= 0 or target > 200:
        raise _err(_("每学期学时要求应在 0.5 到 200 之间。"), "hours_invalid")
    setting = ledger.school_hours_target_set(school_id=school.pk, hours_target=target)
    record("courses.setting", actor=actor, model="org.orgunit", object_id=school.pk, changes={"hours_target": str(target)})
    return setting


# --- Demand (点单) -------------------------------------------------------------------------------------


def guardian_schools(actor) -> list[OrgUnit]:
    family = get_scope(actor).family_student_ids
    ids = Student.objects.system(reason="the schools of the user's own children").filter(id__in=family, is_active=True).values("school_id")
    return list(OrgUnit.objects.system(reason="the schools of the user's own children").filter(id__in=ids).order_by("name"))


@transaction.atomic
def topic_propose(*, actor, school: OrgUnit, stage: str, title: str, description: str = "") -> TopicRequest:
    guardian = _guardian(actor)
    if school.pk not in {s.pk for s in guardian_schools(actor)}:
        raise _err(_("只能向孩子所在学校提出点单主题。"), "not_own_school")
    title = (title or "").strip()
    if not title:
        raise _err(_("请填写希望学习的主题。"), "title_required")
    if len(title) > 80:
        raise _err(_("主题请控制在80字以内，详细情况可写在说明中。"), "title_too_long")
    topic = TopicRequest.objects.create(
        district_id=school.district_id, school=school, stage=stage or school.stage or "", title=title,
        description=(description or "").strip()[:2000], proposed_by=guardian,
    )
    TopicVote.objects.create(topic=topic, guardian=guardian)
    record("courses.topic_propose", actor=actor, model="courses.topicrequest", object_id=topic.pk)
    return topic


@transaction.atomic
def topic_vote(*, actor, topic: TopicRequest, vote: bool = True) -> bool:
    """One vote per guardian per topic (the unique constraint holds it under parallel clicks)."""
    guardian = _guardian(actor)
    if topic.status != TopicStatus.OPEN:
        raise _err(_("该主题已不再征集投票。"), "topic_closed")
    if topic.school_id not in {s.pk for s in guardian_schools(actor)}:
        raise _err(_("只能为孩子所在学校的主题投票。"), "not_own_school")
    if not vote:
        TopicVote.objects.system(reason="the actor's own vote, by their guardian").filter(topic=topic, guardian=guardian).delete()
        return False
    try:
        with transaction.atomic():
            TopicVote.objects.create(topic=topic, guardian=guardian)
    except IntegrityError as exc:
        raise _err(_("您已为该主题投过票。"), "already_voted") from exc
    record("courses.topic_vote", actor=actor, model="courses.topicrequest", object_id=topic.pk)
    return True


@transaction.atomic
def topic_adopt(*, actor, topic: TopicRequest, mode: str = CourseMode.OFFLINE, lecturer_name: str = "") -> Course:
    """Turn a requested topic into a custom course (定制课程) at the topic's school."""
    if not can_manage(actor, topic):
        raise PermissionDenied(_("您无权处理该校的点单主题。"))
    if topic.status != TopicStatus.OPEN:
        raise _err(_("该主题已处理。"), "topic_closed")
    course = course_create(
        actor=actor, owner_unit=topic.school, topic=topic, title=topic.title, category=CourseCategory.CUSTOM, stage=topic.stage,
        mode=mode, lecturer_name=lecturer_name, description=topic.description,
    )
    topic.status = TopicStatus.ADOPTED
    topic.save(update_fields=["status"])
    record("courses.topic_adopt", actor=actor, model="courses.topicrequest", object_id=topic.pk, changes={"course": course.pk})
    return course
