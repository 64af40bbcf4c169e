"""Home–school communication beyond notices: consultations (问题咨询) and their FAQ, micro-guides
(家庭教育微指南) by stage, and home visits (家访) with coverage per class and semester."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.scoping import (
    ScopedQuerySet,
    any_q,
    get_scope,
    guardian_q,
    scoped_via,
    staff_prefixes,
    staff_q,
)
from homeschool.perms import OVERSEE, TEACH


class Stage(models.TextChoices):
    KINDERGARTEN = "kindergarten", _("幼儿")
    PRIMARY_LOWER = "primary_lower", _("小学低段")
    PRIMARY_UPPER = "primary_upper", _("小学高段")
    JUNIOR = "junior", _("初中")
    SENIOR = "senior", _("高中")


def stage_for_grade_year(grade_year: int | None) -> str:
    """1–3 小学低段, 4–6 小学高段, 7–9 初中, 10–12 高中, 0 and below 幼儿 (小班 is -2)."""
    if grade_year is None:
        return ""
    if grade_year <= 0:
        return Stage.KINDERGARTEN
    if grade_year <= 3:
        return Stage.PRIMARY_LOWER
    if grade_year <= 6:
        return Stage.PRIMARY_UPPER
    if grade_year <= 9:
        return Stage.JUNIOR
    return Stage.SENIOR


class Topic(models.TextChoices):
    EMOTION = "emotion", _("情绪管理")
    HABITS = "habits", _("学习习惯")
    TALK = "talk", _("亲子沟通")
    SAFETY = "safety", _("安全教育")
    HEALTH = "health", _("身心健康")
    LABOUR = "labour", _("劳动教育")
    HOLIDAY = "holiday", _("假期生活")
    TRANSITION = "transition", _("升学衔接")
    SCREEN = "screen", _("网络与屏幕时间")
    OTHER = "other", _("其他")


class ExpertQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        # The district's expert pool is known in the district; an expert sees their own memberships.
        return any_q(
            models.Q(district_id__in=scope.district_ids) if scope.district_ids else None,
            models.Q(user_id=scope.user_id) if scope.user_id else None,
        )


class Expert(models.Model):
    """A member of the district's family-education expert pool (家庭教育指导专家库)."""

    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="expert_memberships")
    title = models.CharField(_("头衔/专长"), max_length=60, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ExpertQuerySet.as_manager()

    class Meta:
        verbose_name = _("家庭教育专家")
        verbose_name_plural = _("家庭教育专家")
        constraints = [models.UniqueConstraint(fields=["district", "user"], name="expert_unique_in_district")]

    def __str__(self):
        return self.title or str(self.user)


def expert_district_ids(user_id) -> models.QuerySet:
    return Expert.objects.filter(user_id=user_id, is_active=True, user__is_active=True).values("district_id")


# --- consultations -----------------------------------------------------------------------------------------


class Target(models.TextChoices):
    TEACHER = "teacher", _("班主任")
    EXPERT = "expert", _("区家庭教育专家")


class ConsultStatus(models.TextChoices):
    OPEN = "open", _("待答复")
    ANSWERED = "answered", _("已答复")
    CLOSED = "closed", _("已关闭")


class ConsultationQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        """The asking guardian; the class teacher (teacher target); the district's experts (expert target).

        A private thread: school and district admins see reply times (overseen_by), not the words."""
        parts = [guardian_q(scope)]
        teach = staff_q(scope, "school_class__path", TEACH)
        if teach is not None:
            parts.append(models.Q(target=Target.TEACHER) & teach)
        if scope.user_id:
            parts.append(models.Q(target=Target.EXPERT, district_id__in=expert_district_ids(scope.user_id)))
        return any_q(*parts)

    def overseen_by(self, user):
        """For reply-time figures only: consultations of the classes under the user's oversight."""
        scope = get_scope(user)
        if scope.superuser:
            return self.scoped()
        q = staff_q(scope, "school_class__path", OVERSEE)
        return self.filter(q).scoped() if q is not None else self.none()


class Consultation(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    guardian = models.ForeignKey("people.Guardian", on_delete=models.CASCADE, related_name="consultations")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    student = models.ForeignKey("people.Student", on_delete=models.CASCADE, related_name="consultations")
    school_class = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    target = models.CharField(_("咨询对象"), max_length=8, choices=Target.choices)
    topic = models.CharField(_("话题"), max_length=12, choices=Topic.choices, default=Topic.OTHER)
    subject = models.CharField(_("标题"), max_length=80)
    status = models.CharField(_("状态"), max_length=8, choices=ConsultStatus.choices, default=ConsultStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    first_reply_at = models.DateTimeField(null=True, blank=True)
    first_reply_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Hours on school days (Mon–Fri) from the question to the first reply: averaged and compared in SQL.
    first_reply_hours = models.FloatField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ConsultationQuerySet.as_manager()

    class Meta:
        verbose_name = _("问题咨询")
        verbose_name_plural = _("问题咨询")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["school_class", "created_at"], name="consult_class_idx"),
            models.Index(fields=["guardian", "-created_at"], name="consult_guardian_idx"),
            models.Index(fields=["district", "target", "status"], name="consult_pool_idx"),
        ]

    def __str__(self):
        return self.subject

    def scope_path(self) -> str:
        return self.school_class.path


def message_attachment_path(instance, filename):
    return f"consultations/{instance.consultation.district_id}/{uuid.uuid4().hex}"


class ConsultationMessage(models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_family = models.BooleanField(default=True)
    author_label = models.CharField(max_length=60)  # "王老师（班主任）", "李教授（区家庭教育专家）", "家长"
    body = models.TextField(_("内容"), max_length=4000)
    attachment = models.FileField(upload_to=message_attachment_path, max_length=200, blank=True)
    attachment_name = models.CharField(max_length=120, blank=True)
    attachment_type = models.CharField(max_length=80, blank=True)
    attachment_size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    holds_personal_data = True
    objects = scoped_via("consultation")

    class Meta:
        ordering = ["created_at", "id"]


class FAQQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        published = models.Q(is_published=True, district_id__in=scope.district_ids) if scope.district_ids else None
        own = models.Q(created_by_id=scope.user_id) if scope.user_id else None
        oversee = staff_prefixes(scope, OVERSEE)
        districts = {int(p.strip("/").split("/")[0]) for p in oversee}
        overseen = models.Q(district_id__in=districts) if districts else None
        return any_q(published, own, overseen)


class FAQ(models.Model):
    """An anonymised question and answer, often from a consultation; published to the district's families."""

    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(_("学段"), max_length=16, choices=Stage.choices, blank=True)
    topic = models.CharField(_("话题"), max_length=12, choices=Topic.choices, default=Topic.OTHER)
    question = models.TextField(_("问题"), max_length=2000)
    answer = models.TextField(_("解答"), max_length=6000)
    source = models.ForeignKey(Consultation, null=True, blank=True, on_delete=models.SET_NULL, related_name="faqs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    is_published = models.BooleanField(_("发布"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FAQQuerySet.as_manager()

    class Meta:
        verbose_name = _("常见问题")
        verbose_name_plural = _("常见问题")
        ordering = ["-created_at"]


# --- micro-guides ----------------------------------------------------------------------------------------------


class GuideQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        """Families and staff: published guides of units above or at their own (district, school, class);
        authors: their own; staff: everything authored in the units they teach or oversee."""
        parts = []
        if scope.unit_ids:
            parts.append(models.Q(is_published=True, author_unit_id__in=scope.unit_ids))
        staff = staff_q(scope, "author_unit__path", TEACH, OVERSEE)
        if staff is not None:
            parts.append(staff)
        if scope.user_id:
            parts.append(models.Q(author_id=scope.user_id))
        return any_q(*parts)


class MicroGuide(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    author_label = models.CharField(max_length=80)
    # Families under this unit receive the guide (a district's guide reaches the whole district).
    author_unit = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("标题"), max_length=80)
    summary = models.CharField(_("一句话导读"), max_length=120, blank=True)
    body = models.TextField(_("正文"))
    stage = models.CharField(_("适用学段"), max_length=16, choices=Stage.choices, blank=True, help_text=_("留空表示所有学段"))
    topic = models.CharField(_("话题"), max_length=12, choices=Topic.choices)
    is_published = models.BooleanField(default=True)
    published_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GuideQuerySet.as_manager()

    class Meta:
        verbose_name = _("家庭教育微指南")
        verbose_name_plural = _("家庭教育微指南")
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["author_unit", "stage", "-published_at"], name="guide_unit_stage_idx")]

    def __str__(self):
        return self.title

    def scope_path(self) -> str:
        return self.author_unit.path


class GuideReadQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        """A family's own reads and ratings; staff and authors those of the guides they manage (not every
        reader of a guide they can merely read)."""
        managed = any_q(
            staff_q(scope, "author_unit__path", TEACH, OVERSEE),
            models.Q(author_id=scope.user_id) if scope.user_id else None,
        )
        guides = MicroGuide._base_manager.filter(managed).values("pk") if managed is not None else None
        return any_q(guardian_q(scope), models.Q(guide_id__in=guides) if guides is not None else None)


class GuideRead(models.Model):
    """One family member's read of a guide (counted once) and their rating (1–5), if given."""

    guide = models.ForeignKey(MicroGuide, on_delete=models.CASCADE, related_name="reads")
    guardian = models.ForeignKey("people.Guardian", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(auto_now_add=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)

    holds_personal_data = True
    objects = GuideReadQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["guide", "guardian"], name="guide_read_once"),
            models.CheckConstraint(condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5), name="guide_rating_1_5"),
        ]


# --- home visits ---------------------------------------------------------------------------------------------


class VisitStatus(models.TextChoices):
    PLANNED = "planned", _("计划中")
    DONE = "done", _("已家访")
    CANCELLED = "cancelled", _("已取消")


class VisitMode(models.TextChoices):
    HOME = "home", _("入户家访")
    SCHOOL = "school", _("来校面谈")
    PHONE = "phone", _("电话/视频家访")


class HomeVisitQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        return staff_q(scope, "school_class__path", TEACH, OVERSEE)


class HomeVisit(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    school_class = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey("people.Student", on_delete=models.CASCADE, related_name="home_visits")
    status = models.CharField(_("状态"), max_length=10, choices=VisitStatus.choices, default=VisitStatus.PLANNED)
    mode = models.CharField(_("方式"), max_length=8, choices=VisitMode.choices, default=VisitMode.HOME)
    planned_for = models.DateField(_("计划日期"))
    visited_on = models.DateField(_("家访日期"), null=True, blank=True)
    participants = models.CharField(_("参加人员"), max_length=200, blank=True, help_text=_("例如：班主任王老师、母亲、外婆"))
    topics = models.TextField(_("交流内容"), max_length=2000, blank=True)
    follow_ups = models.TextField(_("约定的后续事项"), max_length=1000, blank=True)
    follow_up_due = models.DateField(_("后续事项完成期限"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = HomeVisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("家访")
        verbose_name_plural = _("家访")
        ordering = ["-planned_for", "-id"]
        indexes = [models.Index(fields=["school_class", "status", "visited_on"], name="visit_class_status_idx")]

    def __str__(self):
        return f"家访 {self.pk}"

    def scope_path(self) -> str:
        return self.school_class.path
