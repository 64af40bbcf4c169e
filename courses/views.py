"""Pages of the parent school. Fetch through the scoping layer, call a service, show its message."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from activities.forms import DT_WIDGET, settle_choices
from core.feedback import flash_validation_error
from core.ids import IdModelChoiceField, parse_id
from core.perms import can, perm_paths
from core.scoping import fetch_for, get_scope, prefix_q
from courses import selectors, services
from courses.models import (
    STAGE_CHOICES,
    BookingStatus,
    Course,
    CourseBooking,
    CourseCategory,
    CourseMode,
    Homework,
    Lesson,
    LessonWatch,
)
from courses.perms import MANAGE
from ledger import services as ledger
from org.models import Kind, OrgUnit

_error = flash_validation_error


def _is_manager(user) -> bool:
    return can(user, MANAGE)


def _managed_units(user):
    scope = get_scope(user)
    qs = OrgUnit.objects.visible_to(user).filter(is_active=True, kind__in=[Kind.DISTRICT, Kind.STREET, Kind.SCHOOL])
    if scope.superuser:
        return qs
    q = prefix_q("path", perm_paths(scope, MANAGE))
    return qs.filter(q) if q is not None else qs.none()


class CourseForm(forms.ModelForm):
    owner_unit = IdModelChoiceField(label=gettext_lazy("开课单位"), queryset=OrgUnit.objects.none(),
                                        widget=forms.Select(attrs={"class": "form-select"}))

    class Meta:
        model = Course
        fields = ["title", "owner_unit", "category", "stage", "mode", "lecturer_name", "description"]
        widgets = {
            "title": forms.TextInput(attrs={"class": "form-control"}),
            "category": forms.Select(attrs={"class": "form-select"}),
            "stage": forms.Select(attrs={"class": "form-select"}),
            "mode": forms.Select(attrs={"class": "form-select"}),
            "lecturer_name": forms.TextInput(attrs={"class": "form-control"}),
            "description": forms.Textarea(attrs={"class": "form-control", "rows": 3}),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = _managed_units(user)
        settle_choices(self, unit_fields=("owner_unit",), choice_fields=("category", "mode"))


class LessonForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("课时名称"), max_length=120, widget=forms.TextInput(attrs={"class": "form-control"}))
    order = forms.IntegerField(label=gettext_lazy("序号"), min_value=1, initial=1, widget=forms.NumberInput(attrs={"class": "form-control"}))
    hours = forms.DecimalField(label=gettext_lazy("学时"), min_value=0.5, max_value=8, initial=1, decimal_places=1,
                               widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.5"}))
    intro = forms.CharField(label=gettext_lazy("① 视频导入"), required=False, widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}))
    discussion = forms.CharField(label=gettext_lazy("② 现场研讨"), required=False, widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}))
    summary = forms.CharField(label=gettext_lazy("③ 问题总结"), required=False, widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}))
    homework = forms.CharField(label=gettext_lazy("④ 作业巩固"), required=False, widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}))
    extension = forms.CharField(label=gettext_lazy("⑤ 微课延伸"), required=False, widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}))
    video = forms.FileField(label=gettext_lazy("课程视频（录播课）"), required=False,
                            widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": "video/mp4,video/webm"}))
    duration_minutes = forms.IntegerField(label=gettext_lazy("视频时长（分钟）"), required=False, min_value=1, max_value=600,
                                          widget=forms.NumberInput(attrs={"class": "form-control"}))
    live_url = forms.URLField(label=gettext_lazy("直播链接"), required=False, max_length=500, assume_scheme="https",
                              widget=forms.URLInput(attrs={"class": "form-control", "placeholder": "https://"}),
                              error_messages={"invalid": gettext_lazy("请填写以 https:// 开头的完整网址。")})
    starts_at = forms.DateTimeField(label=gettext_lazy("开始时间"), required=False, widget=DT_WIDGET)
    ends_at = forms.DateTimeField(label=gettext_lazy("结束时间"), required=False, widget=DT_WIDGET)
    venue = forms.CharField(label=gettext_lazy("地点"), required=False, max_length=200, widget=forms.TextInput(attrs={"class": "form-control"}))
    capacity = forms.IntegerField(label=gettext_lazy("名额"), required=False, min_value=1, widget=forms.NumberInput(attrs={"class": "form-control"}))

    # Fields that belong to one way of teaching only: the others are not shown.
    MODE_ONLY = {
        "video": CourseMode.RECORDED, "duration_minutes": CourseMode.RECORDED, "live_url": CourseMode.LIVE, "venue": CourseMode.OFFLINE,
    }

    def __init__(self, *args, mode: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for name, only in self.MODE_ONLY.items():
            if mode and mode != only:
                del self.fields[name]
        if mode == CourseMode.RECORDED:
            for name in ("starts_at", "ends_at", "capacity"):
                del self.fields[name]
        elif mode == CourseMode.LIVE:
            for name in ("live_url", "starts_at", "ends_at"):
                self.fields[name].required = True
            self.fields["intro"].help_text = gettext_lazy("直播的主要内容，家长在课时页面可以看到。")


class ScheduleForm(forms.Form):
    starts_at = forms.DateTimeField(label=gettext_lazy("开始时间"), widget=DT_WIDGET)
    ends_at = forms.DateTimeField(label=gettext_lazy("结束时间"), widget=DT_WIDGET)
    capacity = forms.IntegerField(label=gettext_lazy("名额"), required=False, min_value=1, widget=forms.NumberInput(attrs={"class": "form-control"}))
    venue = forms.CharField(label=gettext_lazy("地点/直播间"), required=False, max_length=200, widget=forms.TextInput(attrs={"class": "form-control"}))


@login_required
def catalogue(request):
    user = request.user
    category = request.GET.get("category") or None
    stage = request.GET.get("stage") or None
    mode = request.GET.get("mode") or None
    courses = list(selectors.catalogue(user=user, category=category, stage=stage, mode=mode)[:100])
    ratings = selectors.course_ratings([c.pk for c in courses])
    for c in courses:
        c.rating = ratings.get(c.pk)
    scope = get_scope(user)
    booked = set()
    if scope.guardian_id:
        booked = set(CourseBooking.objects.visible_to(user).filter(guardian_id=scope.guardian_id, status=BookingStatus.BOOKED)
                     .values_list("course_id", flat=True))
    return render(request, "courses/catalogue.html", {
        "courses": courses, "booked": booked, "is_manager": _is_manager(user), "guardian_id": scope.guardian_id,
        "categories": CourseCategory.choices, "stages": STAGE_CHOICES[1:], "modes": CourseMode.choices,
        "f": {"category": category or "", "stage": stage or "", "mode": mode or ""},
        "hours": selectors.guardian_hours(user=user) if scope.guardian_id else None,
    })


@login_required
def course_create(request):
    if not _is_manager(request.user):
        raise Http404
    form = CourseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        owner = d.pop("owner_unit")
        try:
            course = services.course_create(actor=request.user, owner_unit=owner, **d)
        except ValidationError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("课程已创建，请添加课时后发布。"))
            return redirect("courses:detail", pk=course.pk)
    return render(request, "courses/course_form.html", {"form": form})


@login_required
def course_detail(request, pk):
    user = request.user
    course = selectors.get_course_for(user, pk)
    manage = services.can_manage(user, course)
    scope = get_scope(user)
    lessons = list(course.lessons.select_related("activity").prefetch_related("activity__sessions"))
    ctx = {"course": course, "lessons": lessons, "manage": manage, "guardian_id": scope.guardian_id,
           "rating": selectors.course_ratings([course.pk]).get(course.pk)}
    if scope.guardian_id:
        ctx["booking"] = CourseBooking.objects.visible_to(user).filter(course=course, guardian_id=scope.guardian_id).first()
        watches = LessonWatch.objects.visible_to(user).filter(guardian_id=scope.guardian_id, lesson__course=course)
        ctx["watched"] = {w.lesson_id: w for w in watches}
        ctx["my_rating"] = course.ratings.filter(guardian_id=scope.guardian_id).first()
    if manage:
        ctx["lesson_form"] = LessonForm(initial={"order": len(lessons) + 1}, mode=course.mode)
        ctx["schedule_form"] = ScheduleForm()
        ctx["bookings"] = course.bookings.filter(status=BookingStatus.BOOKED).count()
        ctx["pending_homework"] = Homework.objects.visible_to(user).filter(lesson__course=course, feedback="").count()
    return render(request, "courses/course_detail.html", ctx)


@login_required
@require_POST
def course_publish(request, pk):
    course = selectors.get_course_for(request.user, pk, for_write=True)
    try:
        services.course_publish(actor=request.user, course=course)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("课程已发布，家长可以预约。"))
    return redirect("courses:detail", pk=course.pk)


@login_required
@require_POST
def course_book(request, pk):
    course = selectors.get_course_for(request.user, pk)
    try:
        if request.POST.get("cancel") == "1":
            services.course_unbook(actor=request.user, course=course)
            messages.success(request, _("已取消预约。"))
        else:
            services.course_book(actor=request.user, course=course)
            messages.success(request, _("预约成功！线下课时请在课时页面报名场次。"))
    except ValidationError as exc:
        _error(request, exc)
    return redirect("courses:detail", pk=course.pk)


@login_required
@require_POST
def course_rate(request, pk):
    course = selectors.get_course_for(request.user, pk)
    try:
        services.course_rate(actor=request.user, course=course, stars=request.POST.get("stars"), comment=request.POST.get("comment", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("感谢您的评价！"))
    return redirect("courses:detail", pk=course.pk)


@login_required
@require_POST
def lesson_create(request, pk):
    course = selectors.get_course_for(request.user, pk, for_write=True)
    form = LessonForm(request.POST, request.FILES, mode=course.mode)
    if not form.is_valid():
        messages.error(request, _("课时信息填写有误：") + "；".join(f"{form.fields[k].label}：{v[0]}" for k, v in form.errors.items()))
        return redirect("courses:detail", pk=course.pk)
    d = dict(form.cleaned_data)
    video = d.pop("video", None)
    minutes = d.pop("duration_minutes", None)
    d["duration_seconds"] = (minutes or 0) * 60
    try:
        services.lesson_create(actor=request.user, course=course, video=video, **d)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已添加课时。"))
    return redirect("courses:detail", pk=course.pk)


@login_required
@require_POST
def lesson_schedule(request, pk):
    lesson = selectors.get_lesson_for(request.user, pk, for_write=True)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写场次的开始和结束时间。"))
        return redirect("courses:detail", pk=lesson.course_id)
    d = form.cleaned_data
    try:
        services.lesson_schedule(actor=request.user, lesson=lesson, starts_at=d["starts_at"], ends_at=d["ends_at"],
                                 capacity=d["capacity"], venue=d["venue"])
    except (ValidationError, PermissionDenied) as exc:
        if isinstance(exc, ValidationError):
            _error(request, exc)
        else:
            messages.error(request, str(exc))
    else:
        messages.success(request, _("已安排场次，家长可在课时页面报名，现场扫码签到计入学时。"))
    return redirect("courses:detail", pk=lesson.course_id)


@login_required
def lesson_detail(request, pk):
    user = request.user
    lesson = fetch_for(user, Lesson.objects.select_related("course__owner_unit", "activity"), pk)
    scope = get_scope(user)
    ctx = {"lesson": lesson, "course": lesson.course, "manage": services.can_manage(user, lesson.course), "guardian_id": scope.guardian_id}
    if scope.guardian_id:
        ctx["watch"] = LessonWatch.objects.visible_to(user).filter(lesson=lesson, guardian_id=scope.guardian_id).first()
        ctx["homework"] = Homework.objects.visible_to(user).filter(lesson=lesson, guardian_id=scope.guardian_id).first()
    ctx["sessions"] = list(lesson.activity.sessions.all()) if lesson.activity_id else []
    ctx["live"] = services.live_state(lesson, ctx["sessions"])
    return render(request, "courses/lesson_detail.html", ctx)


@login_required
@require_POST
def lesson_progress(request, pk):
    """Playback beacon: the player's current position, sent every few seconds while playing."""
    lesson = selectors.get_lesson_for(request.user, pk)
    try:
        watch = services.watch_beacon(actor=request.user, lesson=lesson, position=request.POST.get("position"))
    except ValidationError as exc:
        return JsonResponse({"error": exc.messages[0], "code": exc.code}, status=400)
    return JsonResponse({
        "watched_seconds": watch.watched_seconds, "duration": lesson.duration_seconds,
        "percent": round(100 * watch.watched_seconds / lesson.duration_seconds) if lesson.duration_seconds else 0,
        "completed": watch.completed_at is not None,
    })


@login_required
def lesson_video(request, pk):
    lesson = selectors.get_lesson_for(request.user, pk)
    if not lesson.video:
        raise Http404
    response = FileResponse(lesson.video.open("rb"), content_type=lesson.video_type or "video/mp4")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def homework_submit(request, pk):
    lesson = selectors.get_lesson_for(request.user, pk)
    try:
        services.homework_submit(actor=request.user, lesson=lesson, text=request.POST.get("text", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("作业已提交，老师反馈后会显示在这里。"))
    return redirect("courses:lesson", pk=lesson.pk)


@login_required
def homework_review(request, pk):
    course = selectors.get_course_for(request.user, pk, for_write=True)
    items = Homework.objects.visible_to(request.user).filter(lesson__course=course).select_related("lesson", "guardian").order_by("feedback_at", "-submitted_at")
    return render(request, "courses/homework_review.html", {"course": course, "items": items[:200]})


@login_required
@require_POST
def homework_feedback(request, pk):
    hw = fetch_for(request.user, Homework.objects.select_related("lesson__course__owner_unit"), pk, perm=MANAGE)
    try:
        services.homework_feedback(actor=request.user, homework=hw, text=request.POST.get("feedback", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("反馈已发送。"))
    return redirect("courses:homework_review", pk=hw.lesson.course_id)


@login_required
def my_hours(request):
    summary = selectors.guardian_hours(user=request.user, period_id=_int(request.GET.get("period")))
    if summary is None:
        raise Http404
    return render(request, "courses/hours.html", {"s": summary})


def _int(value):
    return parse_id(value)


@login_required
def topics(request):
    user = request.user
    scope = get_scope(user)
    school_id = _int(request.GET.get("school"))
    stage = request.GET.get("stage") or None
    ctx = {
        "topics": selectors.topics_ranked(user=user, school_id=school_id, stage=stage)[:100],
        "is_manager": _is_manager(user), "guardian_id": scope.guardian_id, "stages": STAGE_CHOICES[1:],
        "f": {"school": school_id, "stage": stage or ""}, "modes": CourseMode.choices,
    }
    if scope.guardian_id:
        ctx["my_schools"] = services.guardian_schools(user)
    if ctx["is_manager"]:
        ctx["schools"] = _managed_units(user).filter(kind=Kind.SCHOOL).order_by("name")
    return render(request, "courses/topics.html", ctx)


@login_required
@require_POST
def topic_propose(request):
    school = fetch_for(request.user, OrgUnit, _int(request.POST.get("school")) or 0)
    try:
        services.topic_propose(actor=request.user, school=school, stage=request.POST.get("stage", ""), title=request.POST.get("title", ""),
                               description=request.POST.get("description", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已提交，您已自动为该主题投票。"))
    return redirect("courses:topics")


@login_required
@require_POST
def topic_vote(request, pk):
    topic = selectors.get_topic_for(request.user, pk)
    try:
        services.topic_vote(actor=request.user, topic=topic, vote=request.POST.get("vote", "1") == "1")
    except ValidationError as exc:
        _error(request, exc)
    return redirect("courses:topics")


@login_required
@require_POST
def topic_adopt(request, pk):
    topic = selectors.get_topic_for(request.user, pk, for_write=True)
    try:
        course = services.topic_adopt(actor=request.user, topic=topic, mode=request.POST.get("mode") or CourseMode.OFFLINE,
                                      lecturer_name=request.POST.get("lecturer_name", ""))
    except ValidationError as exc:
        _error(request, exc)
        return redirect("courses:topics")
    messages.success(request, _("已根据家长点单创建定制课程，请添加课时后发布。"))
    return redirect("courses:detail", pk=course.pk)


@login_required
def school_settings(request):
    if not _is_manager(request.user):
        raise Http404
    schools = list(_managed_units(request.user).filter(kind=Kind.SCHOOL).order_by("name")[:300])
    if request.method == "POST":
        school = fetch_for(request.user, OrgUnit, _int(request.POST.get("school")) or 0, perm=MANAGE)
        try:
            services.school_setting_update(actor=request.user, school=school, hours_target=request.POST.get("hours_target", ""))
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, _("已保存。"))
        return redirect("courses:settings")
    targets = ledger.school_hours_targets(schools)
    for s in schools:
        s.hours_target = targets.get(s.pk)
    return render(request, "courses/settings.html", {"schools": schools})

