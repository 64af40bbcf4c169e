"""Activities (R3): an activity has sessions; families sign up as a party and are checked in once per
person per session; attendance is credited to the participation ledger (ledger app), the one table that
coverage figures count. Home-based campaigns (打卡) live here too, because a post is a family taking part."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from activities.perms import MANAGE
from core.models import GuardianRating
from core.scoping import ScopedQuerySet, any_q, family_q, get_scope, prefix_q, scoped_via, staff_prefixes


class ActivityKind(models.TextChoices):
    PARENT_MEETING = "parent_meeting", _("家长会")
    OPEN_DAY = "open_day", _("开放日")
    RECEPTION_DAY = "reception_day", _("家长接待日")
    PARENT_CHILD = "parent_child", _("亲子活动")
    FAMILY_DAY = "family_day", _("家庭日")
    STUDY_TOUR = "study_tour", _("研学/场馆思政课")
    COMMUNITY_CLASS = "community_class", _("社区课堂")
    PUBLIC_LECTURE = "public_lecture", _("公益大讲堂")
    SPORTS_DAY = "sports_day", _("运动会")
    VOLUNTEER = "volunteer", _("志愿服务")
    SAFETY_PATROL = "safety_patrol", _("护学岗")
    PARENT_SCHOOL = "parent_school", _("家长学校课程")
    OTHER = "other", _("其他")


# Kinds that are meetings: they keep minutes (家长会纪要).
MEETING_KINDS = frozenset({ActivityKind.PARENT_MEETING, ActivityKind.OPEN_DAY, ActivityKind.RECEPTION_DAY})


class Audience(models.TextChoices):
    FAMILIES = "families", _("家长和孩子")
    GUARDIANS = "guardians", _("仅家长")
    STUDENTS = "students", _("仅学生")


class ActivityStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PENDING = "pending", _("待审批")
    REJECTED = "rejected", _("审批未通过")
    PUBLISHED = "published", _("已发布")
    CANCELLED = "cancelled", _("已取消")


def _manage_prefixes(scope) -> tuple[str, ...]:
    return staff_prefixes(scope, MANAGE)


def audience_q(scope, field: str = "audience_units") -> models.Q | None:
    """Who an activity or campaign is for: the families of its audience (a unit above their child's class),
    and staff whose students or organising area the audience covers or lies in. Seeing a unit's structure
    (a department liaison, a volunteer) makes no one part of an audience: that view holds no family."""
    areas = tuple(scope.student_prefixes) + tuple(_manage_prefixes(scope))
    around = set(scope.family_unit_ids)
    for path in areas:
        around.update(int(p) for p in path.strip("/").split("/") if p)
    return any_q(
        models.Q(**{f"{field}__id__in": around}) if around else None,
        prefix_q(f"{field}__path", areas),
    )


def activity_scope_q(scope) -> models.Q | None:
    """Organisers see what their units run (any status); the activity's audience (audience_q) sees it
    once published. The activity list draws from exactly this, so a detail page never opens more."""
    q = _activity_rule_q(scope)
    # The M2M joins would repeat rows: filter by id through a subquery instead.
    return models.Q(id__in=Activity._base_manager.filter(q).values("id")) if q is not None else None


def _activity_rule_q(scope) -> models.Q | None:
    """The rule itself, over Activity's own columns and M2M joins (may repeat rows: wrap in a subquery)."""
    managed = any_q(
        prefix_q("owner_unit__path", _manage_prefixes(scope)),
        prefix_q("co_organisers__path", _manage_prefixes(scope)),
    )
    audience = audience_q(scope)
    return any_q(managed, models.Q(status=ActivityStatus.PUBLISHED) & audience if audience is not None else None)


class ActivityQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        return activity_scope_q(scope)

    def managed_by(self, user):
        """Activities the user organises (owner or co-organiser unit in their activities.manage subtree)."""
        scope = get_scope(user)
        if scope.superuser:
            return self.scoped()
        q = any_q(
            prefix_q("owner_unit__path", _manage_prefixes(scope)),
            prefix_q("co_organisers__path", _manage_prefixes(scope)),
        )
        return self.filter(id__in=Activity._base_manager.filter(q).values("id")).scoped() if q is not None else self.none()


class Activity(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("主办单位"), on_delete=models.PROTECT, related_name="owned_activities")
    co_organisers = models.ManyToManyField("org.OrgUnit", verbose_name=_("协办单位"), blank=True, related_name="co_organised_activities")
    audience_units = models.ManyToManyField("org.OrgUnit", verbose_name=_("面向范围"), related_name="audience_activities")
    audience = models.CharField(_("参与对象"), max_length=16, choices=Audience.choices, default=Audience.FAMILIES)
    kind = models.CharField(_("活动类型"), max_length=24, choices=ActivityKind.choices)
    title = models.CharField(_("活动名称"), max_length=120)
    description = models.TextField(_("活动内容"), blank=True)
    venue = models.CharField(_("地点/基地"), max_length=200)
    off_campus = models.BooleanField(_("校外活动"), default=False)
    safety_plan = models.TextField(_("安全预案"), blank=True)
    responsible_name = models.CharField(_("安全责任人"), max_length=50, blank=True)
    responsible_contact = models.CharField(_("责任人联系电话"), max_length=30, blank=True)
    requires_signup = models.BooleanField(_("需要报名"), default=True)
    max_party_size = models.PositiveSmallIntegerField(_("每户最多报名人数"), default=4)
    signup_opens_at = models.DateTimeField(_("报名开始"), null=True, blank=True)
    signup_closes_at = models.DateTimeField(_("报名截止"), null=True, blank=True)
    credited_hours = models.DecimalField(_("计入家长学时"), max_digits=4, decimal_places=1, default=0)
    # The ledger source attendance credits: set by the module an activity runs for (a course lesson names
    # itself, so that attending and watching it are one ledger row); empty means the session itself.
    credit_source = models.CharField(max_length=40, blank=True, default="", editable=False)
    announce = models.BooleanField(_("发布时通知家长"), default=True, help_text=_("发布（或审批通过）后，以组织者名义向面向范围内的家长发送通知"))
    status = models.CharField(_("状态"), max_length=16, choices=ActivityStatus.choices, default=ActivityStatus.DRAFT, db_index=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.CharField(_("审批意见"), max_length=200, blank=True)
    minutes = models.TextField(_("会议纪要"), blank=True)
    minutes_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    minutes_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name = _("活动")
        verbose_name_plural = _("活动")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["district", "status"], name="activity_district_status_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(credited_hours__gte=0), name="activity_hours_not_negative"),
            models.CheckConstraint(condition=models.Q(max_party_size__gte=1), name="activity_party_size_positive"),
        ]

    def __str__(self):
        return self.title

    def scope_path(self) -> str:
        return self.owner_unit.path

    @property
    def is_meeting(self) -> bool:
        return self.kind in MEETING_KINDS

    @property
    def credits_hours(self) -> bool:
        return self.credited_hours > 0 and self.audience != Audience.STUDENTS

    def signup_is_open(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.status != ActivityStatus.PUBLISHED or not self.requires_signup:
            return False
        if self.signup_opens_at and now < self.signup_opens_at:
            return False
        return not (self.signup_closes_at and now > self.signup_closes_at)


# How long before the start and after the end a QR check-in is accepted.
CHECKIN_OPENS_BEFORE = dt.timedelta(minutes=30)
CHECKIN_CLOSES_AFTER = dt.timedelta(minutes=30)


class SessionQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        q = _activity_rule_q(scope)
        # One subquery (the sessions of the activities the rule admits), not a subquery of a subquery.
        return models.Q(activity_id__in=Activity._base_manager.filter(q).values("id")) if q is not None else None


class ActivitySession(models.Model):
    """One occurrence of an activity (a date and time). Capacity and the places taken live on this row,
    which sign-ups lock, so that simultaneous sign-ups never overfill it."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="sessions")
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    venue = models.CharField(_("地点"), max_length=200, blank=True)
    capacity = models.PositiveIntegerField(_("名额（人）"), null=True, blank=True, help_text=_("留空表示不限"))
    places_taken = models.PositiveIntegerField(default=0, editable=False)

    objects = SessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("活动场次")
        verbose_name_plural = _("活动场次")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["district", "starts_at"], name="session_district_start_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"),
            # The last line of defence against overfilling: the database refuses it.
            models.CheckConstraint(
                condition=models.Q(capacity__isnull=True) | models.Q(places_taken__lte=models.F("capacity")),
                name="session_not_overfilled",
            ),
        ]

    def __str__(self):
        return f"{self.activity.title} {timezone.localtime(self.starts_at):%m-%d %H:%M}"

    def scope_path(self) -> str:
        return self.activity.owner_unit.path

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.places_taken, 0)

    @property
    def checkin_opens_at(self) -> dt.datetime:
        return self.starts_at - CHECKIN_OPENS_BEFORE

    @property
    def checkin_closes_at(self) -> dt.datetime:
        return self.ends_at + CHECKIN_CLOSES_AFTER

    def in_checkin_window(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.checkin_opens_at <= now <= self.checkin_closes_at

    def display_venue(self) -> str:
        return self.venue or self.activity.venue


class SignUpStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("已报名")
    WAITLISTED = "waitlisted", _("候补中")
    CANCELLED = "cancelled", _("已取消")


def managed_activity_q(scope, field: str = "activity") -> models.Q | None:
    prefixes = _manage_prefixes(scope)
    if not prefixes:
        return None
    q = any_q(prefix_q("owner_unit__path", prefixes), prefix_q("co_organisers__path", prefixes))
    return models.Q(**{f"{field}__in": Activity._base_manager.filter(q).values("id")})


class SignUpQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        return any_q(family_q(scope, "guardian_id", "persons__student_id"), managed_activity_q(scope))

    def visible_to(self, user):
        return super().visible_to(user).distinct()

    def active(self):
        return self.exclude(status=SignUpStatus.CANCELLED)


class SignUp(models.Model):
    """One party: a guardian and the people they chose (themselves and/or children). All or nothing."""

    session = models.ForeignKey(ActivitySession, on_delete=models.CASCADE, related_name="signups")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="signups")
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    guardian = models.ForeignKey("people.Guardian", verbose_name=_("报名家长"), on_delete=models.PROTECT, related_name="activity_signups")
    status = models.CharField(_("状态"), max_length=12, choices=SignUpStatus.choices)
    party_size = models.PositiveSmallIntegerField(_("人数"))
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = SignUpQuerySet.as_manager()

    class Meta:
        verbose_name = _("报名")
        verbose_name_plural = _("报名")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["session", "status", "created_at"], name="signup_session_status_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(party_size__gte=1), name="signup_party_not_empty")]

    def __str__(self):
        return f"SignUp #{self.pk}"


class SignUpPerson(models.Model):
    """A person in a party. While the party is active, a person holds at most one place per session."""

    signup = models.ForeignKey(SignUp, on_delete=models.CASCADE, related_name="persons")
    session = models.ForeignKey(ActivitySession, on_delete=models.CASCADE, related_name="+")
    guardian = models.ForeignKey("people.Guardian", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey("people.Student", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)

    holds_personal_data = True
    objects = scoped_via("signup")

    class Meta:
        verbose_name = _("报名成员")
        verbose_name_plural = _("报名成员")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(guardian__isnull=False) & models.Q(student__isnull=True))
                | (models.Q(guardian__isnull=True) & models.Q(student__isnull=False)),
                name="signup_person_one_kind",
            ),
            models.UniqueConstraint(fields=["session", "guardian"], condition=models.Q(active=True, guardian__isnull=False), name="signup_guardian_once"),
            models.UniqueConstraint(fields=["session", "student"], condition=models.Q(active=True, student__isnull=False), name="signup_student_once"),
        ]


class CheckInMethod(models.TextChoices):
    QR = "qr", _("扫码签到")
    MANUAL = "manual", _("人工签到")
    BULK = "bulk", _("批量补签")


class CheckInQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        return any_q(family_q(scope, "guardian_id", "student_id"), managed_activity_q(scope))


class CheckIn(models.Model):
    """One person present at one session. The unique constraints make a second check-in impossible."""

    session = models.ForeignKey(ActivitySession, on_delete=models.CASCADE, related_name="checkins")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="checkins")
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    guardian = models.ForeignKey("people.Guardian", null=True, blank=True, on_delete=models.PROTECT, related_name="activity_checkins")
    student = models.ForeignKey("people.Student", null=True, blank=True, on_delete=models.PROTECT, related_name="activity_checkins")
    method = models.CharField(_("方式"), max_length=8, choices=CheckInMethod.choices)
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("签到时间"), default=timezone.now)

    objects = CheckInQuerySet.as_manager()

    class Meta:
        verbose_name = _("签到")
        verbose_name_plural = _("签到")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(guardian__isnull=False) & models.Q(student__isnull=True))
                | (models.Q(guardian__isnull=True) & models.Q(student__isnull=False)),
                name="checkin_one_kind",
            ),
            models.UniqueConstraint(fields=["session", "guardian"], condition=models.Q(guardian__isnull=False), name="checkin_guardian_once"),
            models.UniqueConstraint(fields=["session", "student"], condition=models.Q(student__isnull=False), name="checkin_student_once"),
        ]


class ParticipationSource(models.TextChoices):
    """The coverage channels activities credit the ledger through (ledger.Participation.source)."""

    ACTIVITY = "activity", _("活动签到")
    CAMPAIGN = "campaign", _("家庭打卡")


class ActivityRating(GuardianRating):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="ratings")

    objects = scoped_via("activity")

    class Meta(GuardianRating.Meta):
        verbose_name = _("活动评价")
        verbose_name_plural = _("活动评价")
        constraints = [
            models.UniqueConstraint(fields=["activity", "guardian"], name="activity_rating_once"),
            GuardianRating.stars_range("activity_rating_stars_range"),
        ]


class ActivityPhoto(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="photos")
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    image = models.FileField(upload_to="activities/photos/%Y/%m/")
    content_type = models.CharField(max_length=40)
    caption = models.CharField(_("说明"), max_length=120, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_via("activity")  # an album is as visible as its activity

    class Meta:
        verbose_name = _("活动照片")
        verbose_name_plural = _("活动照片")
        ordering = ["created_at", "id"]


# --- Home-based campaigns (打卡) -------------------------------------------------------------------


class CampaignKind(models.TextChoices):
    FAMILY_DAY = "family_day", _("家庭日（每月主题）")
    SIX_ONES = "six_ones", _("六个一")
    READING = "reading", _("共读一本书")
    OTHER = "other", _("其他打卡")


class CampaignQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        managed = prefix_q("owner_unit__path", _manage_prefixes(scope))
        q = any_q(managed, audience_q(scope))  # as activities: no audience through structure alone
        return models.Q(id__in=Campaign._base_manager.filter(q).values("id")) if q is not None else None


class Campaign(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    owner_unit = models.ForeignKey("org.OrgUnit", verbose_name=_("发起单位"), on_delete=models.PROTECT, related_name="owned_campaigns")
    audience_units = models.ManyToManyField("org.OrgUnit", verbose_name=_("面向范围"), related_name="audience_campaigns")
    kind = models.CharField(_("类型"), max_length=16, choices=CampaignKind.choices)
    title = models.CharField(_("主题"), max_length=120)
    description = models.TextField(_("活动说明"), blank=True)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("打卡活动")
        verbose_name_plural = _("打卡活动")
        ordering = ["-starts_on", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="campaign_ends_after_start")]

    def __str__(self):
        return self.title

    def scope_path(self) -> str:
        return self.owner_unit.path

    def is_running(self, day: dt.date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.starts_on <= day <= self.ends_on


class CampaignPostQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        # Teachers see their classes' posts; a family sees its own; nobody else's family.
        staff = prefix_q("class_path", _manage_prefixes(scope))
        return any_q(staff, family_q(scope, "guardian_id", "student_id"))


class CampaignPost(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="posts")
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey("people.Student", verbose_name=_("孩子"), on_delete=models.PROTECT, related_name="campaign_posts")
    guardian = models.ForeignKey("people.Guardian", on_delete=models.PROTECT, related_name="campaign_posts")
    school_class = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    class_path = models.CharField(max_length=255)
    text = models.TextField(_("打卡内容"))
    featured = models.BooleanField(_("优秀打卡"), default=False)
    featured_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CampaignPostQuerySet.as_manager()

    class Meta:
        verbose_name = _("打卡")
        verbose_name_plural = _("打卡")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["campaign", "school_class"], name="campaign_post_class_idx")]

    def scope_path(self) -> str:
        return self.class_path


class CampaignPhoto(models.Model):
    post = models.ForeignKey(CampaignPost, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="activities/campaigns/%Y/%m/")
    content_type = models.CharField(max_length=40)

    holds_personal_data = True
    objects = scoped_via("post")

    class Meta:
        verbose_name = _("打卡照片")
        verbose_name_plural = _("打卡照片")
        ordering = ["id"]


class CampaignComment(models.Model):
    post = models.ForeignKey(CampaignPost, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.CharField(_("评语"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    holds_personal_data = True
    objects = scoped_via("post")

    class Meta:
        verbose_name = _("打卡评语")
        verbose_name_plural = _("打卡评语")
        ordering = ["created_at", "id"]
