"""Pages of the notices module: compose, the sender's statistics and report, and the guardian inbox.

Every id goes through the scoping layer (fetch_for / visible_to / Scope.can); an object outside the
user's scope answers 404. Writes go through notices.services.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from core import exports
from core.errors import messages_of as _messages_from
from core.ids import parse_id, parse_int
from core.scoping import fetch_for, get_scope
from messaging.models import Channel, GuardianChannel
from notices import conf, selectors, services
from notices.audience import can_send, resolve, sendable_units
from notices.audience import recipient_count as audience_count
from notices.files import attachment_response, validate_upload
from notices.forms import NoticeForm, PreferencesForm, WithdrawForm
from notices.models import (
    Notice,
    NoticeAttachment,
    NoticeJob,
    Receipt,
    ReplyChoice,
    ReplyKind,
)
from org.models import Kind, SchoolClass
from people.models import Guardian

SCHOOL_SUMMARY_ABOVE = 40  # more classes than this: one row per school first, a school's classes on click
LIST_STATS_LIMIT = 5000  # list pages count reads live only for notices this small; big ones link to their page


def _post_only(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return None




@login_required
def index(request):
    user = request.user
    if not can_send(user) and not Notice.objects.followed_by(user).exists():
        scope = get_scope(user)
        if scope.guardian_id or Receipt.objects.own(scope).exists():
            return redirect("notices:inbox")
        # Cannot send and has received nothing: say what the page is for, rather than an empty inbox.
        return render(request, "notices/index.html", {"page": None, "rows": [], "can_send": False, "nothing_here": True})
    page = Paginator(selectors.sent_list(user), 20).get_page(request.GET.get("page"))
    small = [n.pk for n in page.object_list if n.recipient_count <= LIST_STATS_LIMIT]
    counts = selectors.list_figures(small)
    rows = [(n, counts.get(n.pk)) for n in page.object_list]
    return render(request, "notices/index.html", {"page": page, "rows": rows, "can_send": can_send(user)})


def _checked(request, form):
    """Validate everything the sender filled in at once — the form's fields, the audience, the
    attachments — adding each problem to the form; returns (audience, files) when all is well."""
    user = request.user
    form.is_valid()
    cd = getattr(form, "cleaned_data", {})
    # The checks notice_create makes across fields, here too, so that they come with the others.
    deadline, publish_at = cd.get("reply_deadline"), cd.get("publish_at")
    if deadline and deadline < (publish_at or timezone.now()):
        form.add_error("reply_deadline", _("回执截止时间应晚于发布时间。"))
    if len(request.FILES.getlist("attachments")) > conf.attachments_per_item():
        form.add_error(None, _("一条通知最多 %(n)d 个附件。") % {"n": conf.attachments_per_item()})
    audience = None
    try:
        audience = resolve(
            user,
            unit_ids=cd.get("units", []),
            include_guardians=cd.get("include_guardians", False),
            staff_roles=cd.get("staff_roles", []),
            student_nos=form.student_numbers(),
            student_ids=form.picked_student_ids(),
        )
    except ValidationError as exc:
        for message in _messages_from(exc):
            form.add_error(None, message)
    files = []
    for upload in request.FILES.getlist("attachments"):
        try:
            data, ftype = validate_upload(upload)
        except ValidationError as exc:
            for message in _messages_from(exc):
                form.add_error(None, message)
        else:
            files.append((upload.name, data, ftype.content_type))
    if form.errors:
        return None
    return audience, files


def _confirmation(request, form, audience) -> dict:
    """What 发布 asks before sending: how many it reaches, counted now by the audience's own rules."""
    families, staff = audience_count(audience)
    return {
        "families": families,
        "staff": staff,
        "summary": audience.summary(),
        "files_dropped": bool(request.FILES.getlist("attachments")) and not request.htmx,
        "scheduled": form.cleaned_data.get("publish_at"),
    }


@login_required
def create(request):
    user = request.user
    if not can_send(user):
        raise PermissionDenied(_("您没有发送通知的权限。"))
    form = NoticeForm(user, request.POST or None, request.FILES or None)
    confirm = None
    checked = _checked(request, form) if request.method == "POST" else None
    if checked is not None and request.POST.get("step") == "confirm" and request.POST.get("confirmed") != "1":
        # Without JavaScript the 发布 button lands here: the same question as the HTMX preview.
        confirm = _confirmation(request, form, checked[0])
    elif checked is not None:
        audience, files = checked
        cd = form.cleaned_data
        try:
            notice = services.notice_create(
                actor=user,
                title=cd["title"],
                body=cd["body"],
                audience=audience,
                priority=cd["priority"],
                reply_kind=cd["reply_kind"],
                reply_per_household=cd["reply_per_household"],
                reply_deadline=cd.get("reply_deadline"),
                publish_at=cd.get("publish_at"),
                audience_note=cd.get("audience_note", ""),
                escalate_after_minutes=cd.get("escalate_after_minutes"),
                attachments=files,
            )
        except ValidationError as exc:
            for message in _messages_from(exc):
                form.add_error(None, message)
        else:
            if notice.status == "scheduled":
                when = timezone.localtime(notice.publish_at).strftime("%m月%d日 %H:%M")
                messages.success(request, _("通知已保存，将于 %(when)s 自动发布。") % {"when": when})
            else:
                messages.success(request, _("通知已发布，正在送达家长，阅读情况会实时更新。"))
            return redirect("notices:stats", pk=notice.pk)
    return render(request, "notices/create.html", {"form": form, "confirm": confirm})


@login_required
def preview(request):
    """HTMX, from 发布: every problem at once, or 发给 N 位家长？ with the button that sends."""
    if (refused := _post_only(request)) is not None:
        return refused
    if not can_send(request.user):
        raise PermissionDenied(_("您没有发送通知的权限。"))
    form = NoticeForm(request.user, request.POST, request.FILES or None)
    checked = _checked(request, form)
    confirm = _confirmation(request, form, checked[0]) if checked is not None else None
    return render(request, "notices/_confirm.html", {"form": form, "confirm": confirm})


@login_required
def unit_search(request):
    """HTMX: classes and grades matching a name, for districts too big to list every class."""
    if not can_send(request.user):
        raise PermissionDenied
    query = request.GET.get("q", "").strip()[:30]
    units = []
    if query:
        units = list(
            sendable_units(request.user).filter(name__icontains=query, kind__in=[Kind.GRADE, Kind.CLASS]).select_related("parent__parent")[:50]
        )
    return render(request, "notices/_unit_search.html", {"units": units, "query": query})


def _stats_context(request, notice):
    stats = selectors.notice_stats(request.user, notice)
    school_id = request.GET.get("school")
    focus = None
    summary = len(stats.schools) > 1 and len(stats.classes) > SCHOOL_SUMMARY_ABOVE
    if summary and school_id:
        focus = next((s for s in stats.schools if s.unit and str(s.unit.pk) == school_id), None)
    return {
        "notice": notice,
        "stats": stats,
        "focus": focus,
        "school_summary": summary,
        "many_schools": len(stats.schools) > 1,
        "job": NoticeJob.objects.filter(notice=notice, kind="fanout").first(),
        "lists_families": selectors.may_list_families(request.user),
        "channel_labels": dict(Channel.choices),
    }


@login_required
def stats(request, pk):
    notice = selectors.get_notice_for(request.user, pk)
    context = _stats_context(request, notice)
    context.update(
        {
            "manager": services.manages(request.user, notice),
            "withdraw_form": WithdrawForm(),
            "attachments": list(notice.attachments.all()) if notice.has_attachments else [],
            "reminders": list(notice.reminders.select_related("created_by")[:5]),
        }
    )
    return render(request, "notices/stats.html", context)


@login_required
def stats_partial(request, pk):
    """HTMX: the figures block, polled every few seconds while the page is open."""
    notice = selectors.get_notice_for(request.user, pk)
    return render(request, "notices/_stats_block.html", _stats_context(request, notice))


@login_required
def class_report(request, pk, class_id):
    user = request.user
    notice = selectors.get_notice_for(user, pk)
    school_class = fetch_for(user, SchoolClass.objects.select_related("parent__parent"), class_id)
    followed = services.followed_class_ids(user, notice)
    if followed is not None and school_class.pk not in followed:
        raise Http404
    if not selectors.may_list_families(user, school_class):
        raise Http404
    # Opens on 只看未读 (whom to call); ?all=1 lists every family.
    unread_only = request.GET.get("all") != "1"
    report = selectors.class_report(user, notice, school_class, unread_only=unread_only, page=request.GET.get("page"))
    return render(
        request,
        "notices/class_report.html",
        {"notice": notice, "school_class": school_class, "unread_only": unread_only, "channel_labels": dict(Channel.choices), **report},
    )


@login_required
def remind(request, pk):
    if (refused := _post_only(request)) is not None:
        return refused
    notice = selectors.get_notice_for(request.user, pk)
    class_id = request.POST.get("class_id")
    class_ids = None
    if class_id:
        school_class = fetch_for(request.user, SchoolClass, class_id)
        class_ids = [school_class.pk]
    try:
        reminder = services.notice_remind(actor=request.user, notice=notice, class_ids=class_ids)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", None) or [str(exc)]))
    else:
        messages.success(
            request,
            _("正在提醒 %(n)d 位未读的收件人（站内提醒，未开通账号的家长会收到短信）。") % {"n": reminder.reminded_count},
        )
    if class_ids:
        return redirect("notices:class_report", pk=notice.pk, class_id=class_ids[0])
    return redirect("notices:stats", pk=notice.pk)


@login_required
def withdraw(request, pk):
    if (refused := _post_only(request)) is not None:
        return refused
    notice = selectors.get_notice_for(request.user, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写撤回原因（200字以内），家长会看到这条说明。"))
        return redirect("notices:stats", pk=notice.pk)
    try:
        services.notice_withdraw(actor=request.user, notice=notice, reason=form.cleaned_data["reason"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", None) or [str(exc)]))
    else:
        messages.success(request, _("通知已撤回，家长看到的将是撤回说明，未发出的推送已取消。"))
    return redirect("notices:stats", pk=notice.pk)


@login_required
def export(request, pk):
    user = request.user
    notice = selectors.get_notice_for(user, pk)
    if not selectors.may_list_families(user):  # names and phones: not for senders without people.view
        raise Http404
    fmt = request.GET.get("format", "xlsx")
    record("notice.export", actor=request.user, model="notices.notice", object_id=notice.pk, changes={"format": fmt})
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    # Reply comments are the guardians' own text: the shared helper keeps them from running as formulas.
    sheet = exports.Sheet("阅读情况", selectors.EXPORT_HEADERS, selectors.export_rows(user, notice), widths={0: 16, 1: 16, 2: 14, 3: 14, 4: 14},
                          cell_format=lambda value: {"font_color": "#C0392B", "bold": True} if value == "发送失败" else None)
    return exports.export_response(fmt, f"通知阅读情况-{notice.pk}-{stamp}", sheet)


# --- guardians (and staff recipients) ---------------------------------------------------------------------


@login_required
def inbox(request):
    child_id = parse_id(request.GET.get("child"))
    page = parse_int(request.GET.get("page"), max_value=100_000) or 1  # an offset beyond 64 bits overflows
    data = selectors.inbox(request.user, child_id=child_id, page=page, unread_only=request.GET.get("unread") == "1")
    template = "notices/_inbox_items.html" if request.htmx and request.GET.get("page") else "notices/inbox.html"
    # Push channels are a family's setting (the preferences page is a guardian's): staff get no link to it.
    return render(request, template, {**data, "unread_filter": request.GET.get("unread") == "1",
                                      "can_set_channels": bool(get_scope(request.user).guardian_id)})


@login_required
def read(request, pk):
    receipt = services.notice_open(user=request.user, notice_id=pk)
    notice = receipt.notice
    children = selectors.own_children(request.user)
    names = {c.id: c.name for c in children}
    household_reply = None
    if receipt.replied_by_household:
        household_reply = receipt
    return render(
        request,
        "notices/read.html",
        {
            "receipt": receipt,
            "notice": notice,
            "children": [names[i] for i in receipt.student_ids if i in names],
            "attachments": [] if notice.is_withdrawn else list(notice.attachments.all()),
            "choices": [(c, ReplyChoice(c).label) for c in services.allowed_choices(notice)],
            "consent": notice.reply_kind == ReplyKind.CONSENT,
            "household_reply": household_reply,
            "deadline_passed": bool(notice.reply_deadline and timezone.now() > notice.reply_deadline),
        },
    )


@login_required
def reply(request, pk):
    if (refused := _post_only(request)) is not None:
        return refused
    try:
        services.notice_reply(user=request.user, notice_id=pk, choice=request.POST.get("choice", ""), comment=request.POST.get("comment", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("回执已提交，谢谢！"))
    return redirect(reverse("notices:read", args=[pk]) + "#reply")


@login_required
def attachment(request, pk):
    try:
        # Visible exactly where its notice is (scoped_via("notice")).
        att = NoticeAttachment.objects.visible_to(request.user).select_related("notice").get(pk=pk)
    except (NoticeAttachment.DoesNotExist, ValueError) as exc:
        raise Http404 from exc
    if att.notice.is_withdrawn and not selectors.can_view_notice_as_staff(request.user, att.notice):
        raise Http404
    return attachment_response(att.file, filename=att.original_name, content_type=att.content_type)


@login_required
def preferences(request):
    """A guardian's push channels: e-mail, SMS for every notice, WeChat (bound from the mini program)."""
    scope = get_scope(request.user)
    if not scope.guardian_id:
        raise Http404
    guardian = fetch_for(request.user, Guardian, scope.guardian_id)
    rows = {c.channel: c for c in GuardianChannel.objects.visible_to(request.user).filter(guardian=guardian)}
    initial = {
        "email": rows["email"].address if "email" in rows else "",
        "email_enabled": rows["email"].enabled if "email" in rows else False,
        "sms_enabled": rows["sms"].enabled if "sms" in rows else False,
        "wechat_enabled": rows["wechat"].enabled if "wechat" in rows else False,
    }
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        if cd["email_enabled"] and not cd["email"]:
            form.add_error("email", _("要通过电子邮件接收通知，请填写邮箱地址。"))
        else:
            services.guardian_channels_set(
                actor=request.user, guardian=guardian, email=cd["email"], email_enabled=cd["email_enabled"],
                sms_enabled=cd["sms_enabled"], wechat_enabled=cd["wechat_enabled"],
            )
            messages.success(request, _("接收方式已保存。"))
            return redirect("notices:preferences")
    return render(request, "notices/preferences.html", {"form": form, "wechat_bound": bool(rows.get("wechat") and rows["wechat"].address)})
