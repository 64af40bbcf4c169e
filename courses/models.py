"""The parent school (R4): courses and lessons, bookings, watch progress, homework, ratings, demand topics.
The hours lessons earn and the certificates are the participation ledger's (ledger app)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import GuardianRating
from core.scoping import (
    ScopedQuerySet,
    any_q,
    family_guardian_q,
    guardian_q,
    prefix_q,
    scoped_via,
    staff_prefixes,
    staff_q,
)
from courses.perms import MANAGE

# The ledger source kind lessons credit under (registered in courses/apps.py).
LESSON_SOURCE = "course.lesson"


class CourseCategory(models.TextChoices):
    BASIC = "basic", _("基础课程")
    TOPIC = "topic", _("专题课程")
    CUSTOM = "custom", _("定制课程")


class CourseMode(models.TextChoices):
    OFFLINE = "offline", _("线下")
    LIVE = "live", _("直播")
    RECORDED = "recorded", _("录播")


class CourseStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")


# Stages as org.Stage, plus "all stages".
STAGE_CHOICES = [
    ("", _("全学段")),
    ("kindergarten", _("幼儿园")),
    ("primary", _("小学")),
    ("junior", _("初中")),
    ("senior", _("高中")),
]

def _course_managers(scope) -> tuple[str, ...]:
    return staff_prefixes(scope, MANAGE)


class CourseQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        audience = any_q(
            models.Q(owner_unit_id__in=scope.unit_ids) if scope.unit_ids else None,
            prefix_q("owner_unit__path", scope.unit_prefixes),
        )
        published = models.Q(status=CourseStatus.PUBLISHED) & audience if audience is not None else None
        return any_q(prefix_q("owner_unit__path", _course_managers(scope)), published)


class Course(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("开课单位"), on_delete=models.PROTECT, related_name="courses")
    title = models.CharField(_("课程名称"), max_length=120)
    category = models.CharField(_("课程类别"), max_length=10, choices=CourseCategory.choices)
    stage = models.CharField(_("适用学段"), max_length=16, choices=STAGE_CHOICES, blank=True)
    mode = models.CharField(_("授课方式"), max_length=10, choices=CourseMode.choices)
    lecturer_name = models.CharField(_("讲师"), max_length=60, blank=True, help_text=_("讲师团成员姓名"))
    lecturer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("讲师账号"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    description = models.TextField(_("课程简介"), blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=CourseStatus.choices, default=CourseStatus.DRAFT)
    topic = models.ForeignKey("courses.TopicRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="courses")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CourseQuerySet.as_manager()

    class Meta:
        verbose_name = _("家长学校课程")
        verbose_name_plural = _("家长学校课程")
        ordering = ["-created_at"]

    def __str__(self):
        return self.title

    def scope_path(self) -> str:
        return self.owner_unit.path


class LessonQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        q = CourseQuerySet(Course).scope_q(scope)
        return models.Q(course__in=Course.objects.filter(q)) if q is not None else None


class Lesson(models.Model):
    """One lesson, following the template 视频导入 → 现场研讨 → 问题总结 → 作业巩固 → 微课延伸."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    order = models.PositiveSmallIntegerField(_("序号"), default=1)
    title = models.CharField(_("课时名称"), max_length=120)
    hours = models.DecimalField(_("学时"), max_digits=3, decimal_places=1, default=Decimal("1"))
    intro = models.TextField(_("视频导入"), blank=True)
    video = models.FileField(_("课程视频"), upload_to="courses/videos/%Y/%m/", blank=True)
    video_type = models.CharField(max_length=30, blank=True)
    duration_seconds = models.PositiveIntegerField(_("视频时长（秒）"), default=0)
    discussion = models.TextField(_("现场研讨"), blank=True)
    summary = models.TextField(_("问题总结"), blank=True)
    homework = models.TextField(_("作业巩固"), blank=True)
    extension = models.TextField(_("微课延伸"), blank=True)
    # A live lesson's room (腾讯会议, 视频号直播 …); its time is the lesson's activity session.
    live_url = models.URLField(_("直播链接"), max_length=500, blank=True)
    # Offline and live lessons are held as an activity session (sign-up, QR check-in, attendance).
    activity = models.OneToOneField("activities.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="lesson")

    objects = LessonQuerySet.as_manager()

    class Meta:
        verbose_name = _("课时")
        verbose_name_plural = _("课时")
        ordering = ["course_id", "order", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(hours__gt=0), name="lesson_hours_positive")]

    def __str__(self):
        return self.title

    def scope_path(self) -> str:
        return self.course.owner_unit.path

    @property
    def source_key(self) -> str:
        # Attending the lesson and watching its recording are the same participation: one ledger key.
        return f"{LESSON_SOURCE}:{self.pk}"


class GuardianRowQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        return family_guardian_q(scope, staff_perm=MANAGE)


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("已预约")
    CANCELLED = "cancelled", _("已取消")


class CourseBooking(models.Model):
    """课程预约: a guardian enrols in a course; offline lessons are then booked as activity sign-ups."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="bookings")
    guardian = models.ForeignKey("people.Guardian", on_delete=models.PROTECT, related_name="course_bookings")
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=BookingStatus.choices, default=BookingStatus.BOOKED)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GuardianRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("课程预约")
        verbose_name_plural = _("课程预约")
        constraints = [models.UniqueConstraint(fields=["course", "guardian"], name="course_booking_once")]


class LessonWatch(models.Model):
    """Playback progress of a recorded lesson. The video is cut into BUCKET-second pieces; a piece counts
    as watched only when the player reported positions through it at a plausible pace."""

    BUCKET = 5

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="watches")
    guardian = models.ForeignKey("people.Guardian", on_delete=models.PROTECT, related_name="lesson_watches")
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    buckets = models.TextField(default="")  # "0"/"1" per bucket
    watched_seconds = models.PositiveIntegerField(default=0)
    last_position = models.FloatField(default=0)
    last_beacon_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GuardianRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("观看进度")
        verbose_name_plural = _("观看进度")
        constraints = [models.UniqueConstraint(fields=["lesson", "guardian"], name="lesson_watch_once")]


class HomeworkQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        own = guardian_q(scope)
        teaching = staff_q(scope, "lesson__course__owner_unit__path", MANAGE)
        return any_q(own, teaching)


class Homework(models.Model):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="homework_submissions")
    guardian = models.ForeignKey("people.Guardian", on_delete=models.PROTECT, related_name="homework")
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("作业内容"))
    submitted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    feedback = models.TextField(_("教师反馈"), blank=True)
    feedback_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    feedback_at = models.DateTimeField(null=True, blank=True)

    objects = HomeworkQuerySet.as_manager()

    class Meta:
        verbose_name = _("作业")
        verbose_name_plural = _("作业")
        ordering = ["-submitted_at"]
        constraints = [models.UniqueConstraint(fields=["lesson", "guardian"], name="homework_once")]

    def scope_path(self) -> str:
        return self.lesson.course.owner_unit.path


class CourseRating(GuardianRating):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="ratings")

    objects = scoped_via("course")

    class Meta(GuardianRating.Meta):
        verbose_name = _("课程评价")
        verbose_name_plural = _("课程评价")
        constraints = [
            models.UniqueConstraint(fields=["course", "guardian"], name="course_rating_once"),
            GuardianRating.stars_range("course_rating_stars_range"),
        ]


class TopicStatus(models.TextChoices):
    OPEN = "open", _("征集中")
    ADOPTED = "adopted", _("已开课")
    CLOSED = "closed", _("已关闭")


class TopicQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        # Guardians see their children's schools' topics; staff those of schools in their subtree.
        return any_q(
            models.Q(school_id__in=scope.unit_ids) if scope.unit_ids else None,
            prefix_q("school__path", scope.unit_prefixes),
        )


class TopicRequest(models.Model):
    """家长“点单”: a topic guardians ask the parent school to teach; ranked by votes."""

    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey("org.OrgUnit", verbose_name=_("学校"), on_delete=models.PROTECT, related_name="topic_requests")
    stage = models.CharField(_("学段"), max_length=16, choices=STAGE_CHOICES, blank=True)
    title = models.CharField(_("希望学习的主题"), max_length=80)
    description = models.TextField(_("具体困惑或需求"), blank=True)
    proposed_by = models.ForeignKey("people.Guardian", null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=TopicStatus.choices, default=TopicStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TopicQuerySet.as_manager()

    class Meta:
        verbose_name = _("点单主题")
        verbose_name_plural = _("点单主题")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["school", "status"], name="topic_school_status_idx")]

    def __str__(self):
        return self.title

    def scope_path(self) -> str:
        return self.school.path


class TopicVoteQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        # Who voted is a family's own: the voter, and the parent school's managers of the topic's school.
        return any_q(guardian_q(scope), staff_q(scope, "topic__school__path", MANAGE))


class TopicVote(models.Model):
    topic = models.ForeignKey(TopicRequest, on_delete=models.CASCADE, related_name="votes")
    guardian = models.ForeignKey("people.Guardian", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    holds_personal_data = True
    objects = TopicVoteQuerySet.as_manager()

    class Meta:
        verbose_name = _("点单投票")
        verbose_name_plural = _("点单投票")
        constraints = [models.UniqueConstraint(fields=["topic", "guardian"], name="topic_vote_once")]
