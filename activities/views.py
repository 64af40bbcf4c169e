"""Pages for activities, check-in, campaigns and coverage. Views are thin: they fetch through the scoping
layer (404 outside scope), call a service, and show its Chinese error message when it refuses."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Avg, Count, Min, Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from activities import qr, selectors, services
from activities.forms import MAX_CAPACITY, ActivityForm, CampaignForm, SessionForm
from activities.models import (
    Activity,
    ActivityPhoto,
    ActivitySession,
    ActivityStatus,
    Audience,
    Campaign,
    CampaignComment,
    CampaignPhoto,
    CampaignPost,
    CheckIn,
    CheckInMethod,
    SignUp,
    SignUpPerson,
    SignUpStatus,
)
from activities.perms import APPROVE, MANAGE
from audit.services import record
from core import exports
from core.feedback import flash_validation_error
from core.ids import parse_id, parse_int
from core.perms import can, perm_paths
from core.scoping import fetch_for, get_scope, prefix_q
from org.models import Kind, OrgUnit
from people.models import Guardian, Student
from periods.models import Period, PeriodKind

_error = flash_validation_error


def _is_staff(user) -> bool:
    return can(user, MANAGE)


def _family(request):
    """The signed-in guardian and their children (through the scoping layer)."""
    scope = get_scope(request.user)
    guardian = Guardian.objects.visible_to(request.user).filter(pk=scope.guardian_id).first() if scope.guardian_id else None
    family_ids = scope.family_student_ids
    children = list(Student.objects.visible_to(request.user).filter(id__in=family_ids, is_active=True).select_related("school_class"))
    return guardian, children


# --- Lists and detail ----------------------------------------------------------------------------


@login_required
def activity_list(request):
    user = request.user
    now = timezone.now()
    guardian, children = _family(request)
    ctx = {"is_staff": _is_staff(user), "guardian": guardian}
    # The same scope as every detail page: what a user may open by id is listed here too.
    # The card's date is the next session not yet over (Min over the sessions the filter joined; the
    # aggregate also makes each activity one row).
    upcoming = (
        Activity.objects.visible_to(user)
        .filter(status=ActivityStatus.PUBLISHED, sessions__ends_at__gte=now)
        .annotate(next_start=Min("sessions__starts_at"), session_count=Count("sessions"))
        .select_related("owner_unit")
        .order_by("next_start", "-created_at")
    )
    if not guardian:
        # Staff who see an audience's students without organising for it (a subject teacher, the
        # psychology teacher): the activities for their classes that others run.
        ctx["scope_activities"] = upcoming.exclude(id__in=Activity.objects.managed_by(user).values("id"))[:50]
    if guardian:
        ctx["open_activities"] = upcoming[:50]
        ctx["my_signups"] = (
            SignUp.objects.visible_to(user)
            .filter(Q(guardian=guardian) | Q(persons__student_id__in=[c.pk for c in children]))
            .exclude(status=SignUpStatus.CANCELLED)
            .filter(session__ends_at__gte=now)
            .select_related("session", "activity")
            .prefetch_related("persons__student", "persons__guardian")
            .distinct()
            .order_by("session__starts_at")
        )
    if ctx["is_staff"]:
        managed = Activity.objects.managed_by(user).select_related("owner_unit").annotate(
            session_count=Count("sessions", distinct=True), first_start=Min("sessions__starts_at"))
        ctx["managed"] = managed.order_by("-created_at")[:100]
        scope = get_scope(user)
        ctx["can_coverage"] = _coverage_units(user, scope).exists()
        if can(user, APPROVE):
            ctx["pending"] = [
                a for a in Activity.objects.visible_to(user).filter(status=ActivityStatus.PENDING).select_related("owner_unit")
                .annotate(first_start=Min("sessions__starts_at"))
                if services.can_approve(user, a)
            ]
    return render(request, "activities/list.html", ctx)


@login_required
def activity_detail(request, pk):
    user = request.user
    activity = fetch_for(user, Activity.objects.select_related("owner_unit", "approved_by"), pk)
    manage = services.can_manage(user, activity)
    guardian, children = _family(request)
    paths = [u.path for u in activity.audience_units.all()]
    sessions = list(activity.sessions.all())
    ctx = {
        "activity": activity, "manage": manage, "sessions": sessions, "guardian": guardian,
        "can_approve": activity.status == ActivityStatus.PENDING and services.can_approve(user, activity),
        "co_organisers": list(activity.co_organisers.all()), "audience_units": list(activity.audience_units.all()),
        "photos": list(activity.photos.all()[:60]), "now": timezone.now(),
    }
    if guardian:
        eligible = [c for c in children if any(c.school_class.path.startswith(p) for p in paths)]
        ctx["eligible_children"] = eligible
        show_self = activity.audience != Audience.STUDENTS
        show_children = activity.audience != Audience.GUARDIANS
        # Offer each session only the family members who hold no place in it yet.
        taken = set(
            SignUpPerson.objects.visible_to(request.user).filter(session__activity=activity, active=True)
            .filter(Q(guardian=guardian) | Q(student_id__in=[c.pk for c in eligible]))
            .values_list("session_id", "guardian_id", "student_id")
        )
        for s in sessions:
            s.offer_self = show_self and (s.pk, guardian.pk, None) not in taken
            s.offer_children = [c for c in eligible if show_children and (s.pk, None, c.pk) not in taken]
            s.offer_any = s.offer_self or bool(s.offer_children)
        ctx["family_signups"] = list(
            SignUp.objects.visible_to(user)
            .filter(activity=activity)
            .filter(Q(guardian=guardian) | Q(persons__student_id__in=[c.pk for c in children]))
            .exclude(status=SignUpStatus.CANCELLED)
            .prefetch_related("persons__student", "persons__guardian")
            .select_related("session")
            .distinct()
        )
        ctx["family_checkins"] = list(
            CheckIn.objects.visible_to(user).filter(activity=activity)
            .filter(Q(guardian=guardian) | Q(student_id__in=[c.pk for c in children]))
            .select_related("guardian", "student", "session")
        )
        ctx["attended"] = bool(ctx["family_checkins"])
        ctx["my_rating"] = activity.ratings.filter(guardian=guardian).first()
    if manage:
        ctx["summary"] = selectors.activity_summary(activity=activity)
        ctx["session_form"] = SessionForm()
        ctx["ratings"] = list(activity.ratings.select_related("guardian")[:50])
        ctx["rating_avg"] = activity.ratings.aggregate(avg=Avg("stars"), n=Count("id"))
    return render(request, "activities/detail.html", ctx)


@login_required
def activity_create(request):
    if not _is_staff(request.user):
        raise Http404
    form = ActivityForm(request.POST or None, user=request.user)
    session_form = SessionForm(request.POST or None, prefix="s")
    if request.method == "POST" and form.is_valid() and session_form.is_valid():
        data = dict(form.cleaned_data)
        owner = data.pop("owner_unit")
        audience = data.pop("audience_units")
        co = data.pop("co_organisers")
        s = session_form.cleaned_data
        try:
            activity = services.activity_create(
                actor=request.user, owner_unit=owner, audience_units=audience, co_organisers=co,
                sessions=[(s["starts_at"], s["ends_at"], s["capacity"])], **data,
            )
        except ValidationError as exc:
            _error(request, exc)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("活动已保存为草稿，确认无误后请点击“发布”。"))
            return redirect("activities:detail", pk=activity.pk)
    return render(request, "activities/form.html", {"form": form, "session_form": session_form})


@login_required
def activity_edit(request, pk):
    activity = selectors.get_activity_for(request.user, pk, for_write=True)
    form = ActivityForm(request.POST or None, instance=activity, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        audience = data.pop("audience_units")
        co = data.pop("co_organisers")
        activity.refresh_from_db()  # the bound form changed the instance in memory; the service compares
        try:
            services.activity_update(actor=request.user, activity=activity, audience_units=audience, co_organisers=co, **data)
        except ValidationError as exc:
            _error(request, exc)
        else:
            if activity.status == ActivityStatus.PENDING:
                messages.warning(request, _("安全相关信息已修改，活动需重新经学校管理员审批后才能继续报名。"))
            else:
                messages.success(request, _("已保存。"))
            return redirect("activities:detail", pk=activity.pk)
    return render(request, "activities/form.html", {"form": form, "activity": activity})


@login_required
@require_POST
def activity_submit(request, pk):
    activity = selectors.get_activity_for(request.user, pk, for_write=True)
    try:
        services.activity_submit(actor=request.user, activity=activity)
    except ValidationError as exc:
        _error(request, exc)
    else:
        if activity.status == ActivityStatus.PENDING:
            messages.info(request, _("校外活动已提交学校管理员审批，审批通过后开放报名。"))
        else:
            messages.success(request, _("活动已发布。"))
    return redirect("activities:detail", pk=activity.pk)


@login_required
@require_POST
def activity_approve(request, pk):
    activity = fetch_for(request.user, Activity, pk)
    if not services.can_approve(request.user, activity):
        raise Http404
    approve = request.POST.get("decision") == "approve"
    try:
        services.activity_approve(actor=request.user, activity=activity, approve=approve, note=request.POST.get("note", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已审批通过，活动开放报名。") if approve else _("已退回组织者修改。"))
    return redirect("activities:detail", pk=activity.pk)


@login_required
@require_POST
def activity_cancel(request, pk):
    activity = selectors.get_activity_for(request.user, pk, for_write=True)
    services.activity_cancel(actor=request.user, activity=activity, reason=request.POST.get("reason", ""))
    messages.success(request, _("活动已取消，所有报名同时取消。"))
    return redirect("activities:detail", pk=activity.pk)


@login_required
@require_POST
def session_add(request, pk):
    activity = selectors.get_activity_for(request.user, pk, for_write=True)
    form = SessionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("场次时间填写有误：结束时间应晚于开始时间。"))
        return redirect("activities:detail", pk=activity.pk)
    d = form.cleaned_data
    try:
        services.session_add(actor=request.user, activity=activity, starts_at=d["starts_at"], ends_at=d["ends_at"],
                             capacity=d["capacity"], venue=d["venue"])
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已添加场次。"))
    return redirect("activities:detail", pk=activity.pk)


@login_required
@require_POST
def session_capacity(request, pk):
    session = selectors.get_session_for(request.user, pk, for_write=True)
    raw = (request.POST.get("capacity") or "").strip()
    capacity = parse_int(raw, max_value=MAX_CAPACITY) if raw else None
    if raw and capacity is None:
        messages.error(request, _("名额应为正整数；不限名额请留空。"))
        return redirect("activities:detail", pk=session.activity_id)
    try:
        promoted = services.session_set_capacity(actor=request.user, session=session, capacity=capacity)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("名额已更新。") + (ngettext("候补中的 %(n)d 户已自动转为报名成功。", "候补中的 %(n)d 户已自动转为报名成功。", len(promoted)) % {"n": len(promoted)} if promoted else ""))
    return redirect("activities:detail", pk=session.activity_id)


# --- Sign-up -------------------------------------------------------------------------------------


@login_required
@require_POST
def signup(request, pk):
    session = selectors.get_session_for(request.user, pk)
    try:
        s = services.signup_create(
            actor=request.user, session_id=session.pk, include_self=request.POST.get("self") == "1",
            student_ids=request.POST.getlist("student"), note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        _error(request, exc)
    else:
        if s.status == SignUpStatus.CONFIRMED:
            messages.success(request, _("报名成功！请按时到场，现场扫码签到。"))
        else:
            messages.warning(request, _("名额已满，您已进入候补名单。有人取消时将按顺序自动递补。"))
    return redirect("activities:detail", pk=session.activity_id)


@login_required
@require_POST
def signup_cancel(request, pk):
    signup_obj = fetch_for(request.user, SignUp, pk)
    try:
        services.signup_cancel(actor=request.user, signup_id=signup_obj.pk)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已取消报名。") if signup_obj.status == SignUpStatus.CONFIRMED else _("已退出候补名单。"))
    nxt = request.POST.get("next")
    if nxt == "list":
        return redirect("activities:list")
    return redirect("activities:detail", pk=signup_obj.activity_id)


@login_required
def session_export(request, pk):
    """The organiser's sign-up list as an Excel file (names, class, status, check-in)."""
    session = selectors.get_session_for(request.user, pk, for_write=True)
    signups = (
        SignUp.objects.visible_to(request.user).filter(session=session).exclude(status=SignUpStatus.CANCELLED)
        .select_related("guardian").prefetch_related("persons__student__school_class", "persons__guardian")
        .order_by("status", "created_at")
    )
    came_g = set(CheckIn.objects.visible_to(request.user).filter(session=session).exclude(guardian=None).values_list("guardian_id", flat=True))
    came_s = set(CheckIn.objects.visible_to(request.user).filter(session=session).exclude(student=None).values_list("student_id", flat=True))
    rows = []
    for n, s in enumerate(signups, start=1):
        for p in s.persons.all():
            if p.guardian_id:
                name, cls, came = p.guardian.name, _("家长"), p.guardian_id in came_g
            else:
                name, cls, came = p.student.name, p.student.school_class.full_name, p.student_id in came_s
            rows.append([n, s.guardian.name, name, cls, s.get_status_display(),
                         timezone.localtime(s.created_at).strftime("%Y-%m-%d %H:%M"), _("是") if came else ""])
    head = [_("序号"), _("报名家长"), _("成员"), _("班级"), _("状态"), _("报名时间"), _("已签到")]
    record("activities.export", actor=request.user, model="activities.activitysession", object_id=session.pk, changes={"rows": len(rows)})
    # Names are typed by families: the shared helper keeps them from running as formulas.
    sheet = exports.Sheet(_("报名名单"), head, rows, widths={0: 6, 1: 16, 2: 16, 3: 16, 4: 14, 5: 14, 6: 14})
    return exports.xlsx_response(f"signups-{session.pk}", [sheet])


# --- QR check-in ---------------------------------------------------------------------------------


def _checkin_url(request, session: ActivitySession) -> str:
    token = qr.make_token(session.pk)
    return request.build_absolute_uri(reverse("activities:checkin", args=[session.pk]) + "?" + urlencode({"t": token}))


@login_required
def session_qr(request, pk):
    """The organiser's big-screen page: a QR code that changes every 30 seconds, and the live count."""
    session = selectors.get_session_for(request.user, pk, for_write=True)
    ctx = {"session": session, "activity": session.activity, **_qr_context(request, session)}
    return render(request, "activities/qr.html", ctx)


def _qr_context(request, session):
    in_window = session.in_checkin_window()
    return {
        "qr_svg": qr.svg(_checkin_url(request, session)) if in_window else "",
        "in_window": in_window,
        "refresh_ms": int(qr.seconds_to_next_slot() * 1000) + 300,
        "checked_in": CheckIn.objects.visible_to(request.user).filter(session=session).count(),
        "signed_up": SignUpPerson.objects.visible_to(request.user).filter(session=session, active=True, signup__status=SignUpStatus.CONFIRMED).count(),
    }


@login_required
def session_qr_live(request, pk):
    """The part of the QR page that is replaced every 30 seconds (fetched by activities/qr.js)."""
    session = selectors.get_session_for(request.user, pk, for_write=True)
    return render(request, "activities/_qr_live.html", {"session": session, **_qr_context(request, session)})


def checkin(request, pk):
    """Where a scanned code lands. A valid code grants this browser session GRANT_TTL to finish: log in
    if needed (the code itself may expire meanwhile), then pick who is checked in."""
    token = request.GET.get("t")
    error = None
    if token:
        try:
            qr.check_token(token, pk)
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            qr.grant_store(request.session, pk)
    if not request.user.is_authenticated:
        if error:
            return render(request, "activities/checkin.html", {"error": error}, status=400)
        return redirect_to_login(reverse("activities:checkin", args=[pk]))
    if request.method == "POST" and qr.grant_valid(request.session, pk):
        # The phone's check-in: straight to the service (it fetches the session in the user's scope).
        try:
            result = services.checkin_self(
                actor=request.user, session_id=pk, include_self=request.POST.get("self") == "1",
                student_ids=request.POST.getlist("student"),
            )
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            if result.created:
                messages.success(request, ngettext("签到成功！共 %(n)d 人。", "签到成功！共 %(n)d 人。", result.created) % {"n": result.created})
            else:
                messages.info(request, _("所选人员均已签到，无需重复签到。"))
            if result.skipped:
                messages.warning(request, _("%(names)s 未报名本场次，未签到；如需参加请联系组织者现场登记。") % {"names": "、".join(result.skipped)})
            return redirect(reverse("activities:checkin", args=[pk]))
    session = fetch_for(request.user, ActivitySession.objects.select_related("activity"), pk)
    activity = session.activity
    guardian, children = _family(request)
    ctx = {"session": session, "activity": activity, "guardian": guardian, "error": error}
    if guardian is None:
        ctx["error"] = _("请使用家长账号扫码签到。组织者请在签到管理页面为家长签到。")
        return render(request, "activities/checkin.html", ctx, status=403)
    granted = qr.grant_valid(request.session, pk)
    if not granted and not error:
        ctx["error"] = _("请扫描活动现场展示的签到二维码。")
    paths = [u.path for u in activity.audience_units.all()]
    booked = SignUpPerson.objects.visible_to(request.user).filter(
        session=session, active=True, signup__status=SignUpStatus.CONFIRMED
    ).filter(Q(guardian=guardian) | Q(student_id__in=[c.pk for c in children]))
    booked_ids = {("g", p.guardian_id) if p.guardian_id else ("s", p.student_id) for p in booked}
    done = CheckIn.objects.visible_to(request.user).filter(session=session).filter(Q(guardian=guardian) | Q(student_id__in=[c.pk for c in children]))
    done_ids = {("g", c.guardian_id) if c.guardian_id else ("s", c.student_id) for c in done}
    ctx.update({
        "all_done": False,
        "granted": granted,
        "show_self": activity.audience != Audience.STUDENTS,
        "self_done": ("g", guardian.pk) in done_ids,
        "self_booked": ("g", guardian.pk) in booked_ids or not activity.requires_signup,
        "children_rows": [
            {"child": c, "done": ("s", c.pk) in done_ids, "booked": ("s", c.pk) in booked_ids or not activity.requires_signup}
            for c in children
            if activity.audience != Audience.GUARDIANS and any(c.school_class.path.startswith(p) for p in paths)
        ],
        "in_window": session.in_checkin_window(),
    })
    ctx["all_done"] = (not ctx["show_self"] or ctx["self_done"]) and all(r["done"] or not r["booked"] for r in ctx["children_rows"])
    return render(request, "activities/checkin.html", ctx)


@login_required
def session_attendance(request, pk):
    """Manual and bulk check-in by the organiser: tick boxes, or paste a paper list of names."""
    session = selectors.get_session_for(request.user, pk, for_write=True)
    guardians, students = services.checkin_candidates(actor=request.user, session=session)
    preview = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "match":
            preview = services.bulk_match(actor=request.user, session=session, text=request.POST.get("names", ""))
            if not preview["guardians"] and not preview["students"]:
                messages.error(request, _("名单中没有找到可签到的人员，请核对姓名（每行一个，或用逗号、顿号分隔）。"))
        else:
            method = CheckInMethod.BULK if action == "bulk" else CheckInMethod.MANUAL
            try:
                result = services.checkin_manual(
                    actor=request.user, session=session, guardian_ids=request.POST.getlist("guardian"),
                    student_ids=request.POST.getlist("student"), method=method,
                )
            except (ValidationError, ValueError) as exc:
                _error(request, exc if isinstance(exc, ValidationError) else ValidationError(_("所选人员无效。")))
            else:
                messages.success(request, ngettext("已签到 %(n)d 人（%(m)d 人此前已签到）。", "已签到 %(n)d 人（%(m)d 人此前已签到）。", result.created) % {"n": result.created, "m": result.already})
                return redirect("activities:attendance", pk=session.pk)
    came_g = set(CheckIn.objects.visible_to(request.user).filter(session=session).exclude(guardian=None).values_list("guardian_id", flat=True))
    came_s = set(CheckIn.objects.visible_to(request.user).filter(session=session).exclude(student=None).values_list("student_id", flat=True))
    signed = SignUpPerson.objects.visible_to(request.user).filter(session=session, active=True, signup__status=SignUpStatus.CONFIRMED)
    signed_g = set(signed.exclude(guardian=None).values_list("guardian_id", flat=True))
    signed_s = set(signed.exclude(student=None).values_list("student_id", flat=True))
    rows = [{"kind": "guardian", "id": g, "name": n, "came": g in came_g, "signed": g in signed_g} for g, n in guardians.items()]
    rows += [{"kind": "student", "id": s, "name": n, "came": s in came_s, "signed": s in signed_s} for s, n in students.items()]
    rows.sort(key=lambda r: (r["came"], not r["signed"], r["kind"], r["name"]))
    ctx = {
        "session": session, "activity": session.activity, "rows": rows, "preview": preview,
        "checked_in": len(came_g) + len(came_s), "signed_up": len(signed_g) + len(signed_s),
        "preview_guardians": [(g, guardians[g]) for g in preview["guardians"]] if preview else [],
        "preview_students": [(s, students[s]) for s in preview["students"]] if preview else [],
    }
    return render(request, "activities/attendance.html", ctx)


# --- Afterwards ----------------------------------------------------------------------------------


@login_required
@require_POST
def activity_rate(request, pk):
    activity = fetch_for(request.user, Activity, pk)
    try:
        services.rating_save(actor=request.user, activity=activity, stars=request.POST.get("stars") or 0,
                             comment=request.POST.get("comment", ""))
    except (ValidationError, ValueError) as exc:
        _error(request, exc if isinstance(exc, ValidationError) else ValidationError(_("请选择1到5星。")))
    else:
        messages.success(request, _("感谢您的评价！"))
    return redirect("activities:detail", pk=activity.pk)


@login_required
@require_POST
def activity_photos(request, pk):
    activity = selectors.get_activity_for(request.user, pk, for_write=True)
    try:
        photos = services.photos_add(actor=request.user, activity=activity, files=request.FILES.getlist("photos"),
                                     caption=request.POST.get("caption", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, ngettext("已上传 %(n)d 张照片。", "已上传 %(n)d 张照片。", len(photos)) % {"n": len(photos)})
    return redirect("activities:detail", pk=activity.pk)


def _serve_image(fieldfile, content_type: str) -> FileResponse:
    response = FileResponse(fieldfile.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


@login_required
def photo(request, pk):
    photo_obj = ActivityPhoto.objects.system(reason="the album's visibility is its activity's, checked below").filter(pk=pk).select_related("activity").first()
    if photo_obj is None:
        raise Http404
    fetch_for(request.user, Activity, photo_obj.activity_id)  # the album is as visible as its activity
    return _serve_image(photo_obj.image, photo_obj.content_type)


@login_required
@require_POST
def activity_minutes(request, pk):
    activity = selectors.get_activity_for(request.user, pk, for_write=True)
    try:
        services.minutes_save(actor=request.user, activity=activity, text=request.POST.get("minutes", ""))
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("会议纪要已保存。"))
    return redirect("activities:detail", pk=activity.pk)


# --- Campaigns (打卡) ----------------------------------------------------------------------------


@login_required
def campaign_list(request):
    campaigns = Campaign.objects.visible_to(request.user).select_related("owner_unit").order_by("-starts_on")[:60]
    return render(request, "activities/campaigns.html", {
        "campaigns": campaigns, "is_staff": _is_staff(request.user), "today": timezone.localdate(),
    })


@login_required
def campaign_create(request):
    if not _is_staff(request.user):
        raise Http404
    form = CampaignForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            campaign = services.campaign_create(
                actor=request.user, owner_unit=d["owner_unit"], audience_units=d["audience_units"], kind=d["kind"], title=d["title"],
                description=d["description"], starts_on=d["starts_on"], ends_on=d["ends_on"],
            )
        except ValidationError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("打卡活动已发布。"))
            return redirect("activities:campaign", pk=campaign.pk)
    return render(request, "activities/campaign_form.html", {"form": form})


@login_required
def campaign_detail(request, pk):
    user = request.user
    campaign = fetch_for(user, Campaign.objects.select_related("owner_unit"), pk)
    guardian, children = _family(request)
    paths = [u.path for u in campaign.audience_units.all()]
    posts = (
        CampaignPost.objects.visible_to(user).filter(campaign=campaign)
        .select_related("student", "school_class")
        .prefetch_related("photos", Prefetch("comments", queryset=CampaignComment.objects.select_related("author")))
    )
    class_id = parse_id(request.GET.get("class"))
    if class_id:
        posts = posts.filter(school_class_id=class_id)
    featured_only = request.GET.get("featured") == "1"
    if featured_only:
        posts = posts.filter(featured=True)
    ctx = {
        "campaign": campaign, "guardian": guardian, "posts": posts[:100], "featured_only": featured_only,
        "eligible_children": [c for c in children if any(c.school_class.path.startswith(p) for p in paths)],
        "running": campaign.is_running(),
        "teacher_units": [],
    }
    if can(user, MANAGE):
        units = [u for u in OrgUnit.objects.visible_to(user).filter(kind__in=[Kind.CLASS, Kind.GRADE, Kind.SCHOOL, Kind.STREET, Kind.DISTRICT])
                 if can(user, MANAGE, u)]
        top = sorted(units, key=lambda u: u.depth)[:1]
        if top:
            ctx["class_rows"] = selectors.campaign_class_participation(campaign=campaign, unit=top[0])
            ctx["can_review"] = True
    return render(request, "activities/campaign_detail.html", ctx)


@login_required
@require_POST
def campaign_post(request, pk):
    campaign = fetch_for(request.user, Campaign, pk)
    try:
        services.campaign_post_create(
            actor=request.user, campaign=campaign, student_id=parse_id(request.POST.get("student")) or 0, text=request.POST.get("text", ""),
            files=request.FILES.getlist("photos"),
        )
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("打卡成功！"))
    return redirect("activities:campaign", pk=campaign.pk)


@login_required
@require_POST
def post_comment(request, pk):
    post = fetch_for(request.user, CampaignPost, pk)
    try:
        services.post_comment(actor=request.user, post=post, text=request.POST.get("text", ""))
    except ValidationError as exc:
        _error(request, exc)
    except PermissionDenied as exc:
        raise Http404 from exc
    return redirect(reverse("activities:campaign", args=[post.campaign_id]) + f"#post-{post.pk}")


@login_required
@require_POST
def post_feature(request, pk):
    post = fetch_for(request.user, CampaignPost, pk)
    try:
        services.post_feature(actor=request.user, post=post, featured=request.POST.get("featured") == "1")
    except PermissionDenied as exc:
        raise Http404 from exc
    return redirect(reverse("activities:campaign", args=[post.campaign_id]) + f"#post-{post.pk}")


@login_required
def campaign_photo(request, pk):
    photo_obj = CampaignPhoto.objects.system(reason="the post's visibility is checked below").filter(pk=pk).first()
    if photo_obj is None:
        raise Http404
    fetch_for(request.user, CampaignPost, photo_obj.post_id)  # a family's photo is as private as its post
    return _serve_image(photo_obj.image, photo_obj.content_type)


# --- Coverage ------------------------------------------------------------------------------------


def _coverage_units(user, scope):
    """Units whose families' coverage an organiser may follow: a community or partner organises, but holds
    no families of its own, so it has no coverage page (and no button to one)."""
    q = prefix_q("path", perm_paths(scope, MANAGE))
    if q is None and not scope.superuser:
        return OrgUnit.objects.none()
    units = OrgUnit.objects.visible_to(user).filter(kind__in=[Kind.DISTRICT, Kind.STREET, Kind.SCHOOL, Kind.CLASS])
    return units if q is None else units.filter(q)


@login_required
def coverage(request):
    """Coverage for a unit the user organises for, and a period: family participation per school and
    class, training hours per school against target, sign-up → attendance, campaign participation."""
    user = request.user
    scope = get_scope(user)
    if not can(user, MANAGE):
        raise Http404
    unit_id = request.GET.get("unit")
    if unit_id:
        unit = fetch_for(user, OrgUnit, unit_id)
    else:
        candidates = sorted(
            (u for u in _coverage_units(user, scope) if can(user, MANAGE, u)),
            key=lambda u: u.depth,
        )
        if not candidates:
            raise Http404
        unit = candidates[0]
    if not can(user, MANAGE, unit) or unit.kind not in (Kind.DISTRICT, Kind.STREET, Kind.SCHOOL, Kind.GRADE, Kind.CLASS):
        raise Http404
    period_id = request.GET.get("period")
    window = selectors.semester_window(district_id=unit.district_id, period_id=parse_id(period_id))
    classes = selectors.class_coverage(unit=unit, window=window)
    students, took, rate = selectors.total(classes)
    group_kind = {Kind.DISTRICT: Kind.SCHOOL, Kind.STREET: Kind.SCHOOL, Kind.SCHOOL: Kind.GRADE}.get(unit.kind)
    groups = selectors.rollup(unit=unit, rows=classes, kind=group_kind) if group_kind else []
    campaign_classes = selectors.class_coverage(unit=unit, window=window, source="campaign")
    c_students, c_took, c_rate = selectors.total(campaign_classes)
    campaign_groups = selectors.rollup(unit=unit, rows=campaign_classes, kind=group_kind) if group_kind else campaign_classes
    ctx = {
        "unit": unit, "window": window, "families": students, "took_part": took, "rate": rate,
        "groups": groups, "classes": classes if unit.kind in (Kind.SCHOOL, Kind.GRADE, Kind.CLASS) else [],
        "hours": selectors.training_hours_by_school(unit=unit, window=window),
        "attendance": selectors.signup_attendance(unit=unit, window=window),
        "campaign_rate": c_rate, "campaign_took": c_took, "campaign_groups": campaign_groups if group_kind else campaign_classes,
        "periods": Period.objects.visible_to(user).filter(district_id=unit.district_id, kind=PeriodKind.SEMESTER).order_by("-start")[:8],
        "ancestors": [a for a in OrgUnit.objects.visible_to(user).filter(id__in=unit.ancestor_ids).order_by("depth") if can(user, MANAGE, a)],
    }
    return render(request, "activities/coverage.html", ctx)
