"""Pages: consultations (guardian ↔ class teacher / expert pool), FAQ, micro-guides, home visits.

Ids go through the scoping layer (fetch_for / visible_to / Scope.can): outside the scope is 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import messages_of as _errors
from core.perms import can, requires
from core.scoping import fetch_for, get_scope
from core.uploads import attachment_response, check_attachment
from homeschool import selectors, services
from homeschool.forms import (
    AskForm,
    ExpertForm,
    FAQForm,
    GuideForm,
    MessageForm,
    VisitPlanForm,
    VisitRecordForm,
)
from homeschool.models import (
    FAQ,
    OVERSEE,
    TEACH,
    Consultation,
    ConsultationMessage,
    ConsultStatus,
    Expert,
    HomeVisit,
    Stage,
    Topic,
)
from homeschool.perms import MANAGE_POOL
from notices.selectors import own_children
from org.models import Kind, OrgUnit, SchoolClass
from people.models import Student


def _upload(request):
    upload = request.FILES.get("attachment")
    if not upload:
        return None
    ftype, data = check_attachment(upload)
    return upload.name, data, ftype.content_type


def _post_only(request):
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


# --- consultations ----------------------------------------------------------------------------------------------


@login_required
def consultations(request):
    user = request.user
    scope = get_scope(user)
    status = request.GET.get("status", "")
    qs = Consultation.objects.visible_to(user).select_related("student", "school_class")
    if status in ConsultStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs.order_by("status", "-last_message_at", "-id"), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "homeschool/consultations.html",
        {
            "page": page,
            "status": status,
            "statuses": ConsultStatus.choices,
            "is_family": bool(scope.guardian_id),
            "oversees": can(user, OVERSEE),
            "manages_pool": can(user, MANAGE_POOL),
        },
    )


@login_required
def consultation_new(request):
    children = own_children(request.user)
    if not children:
        raise Http404
    form = AskForm(children, request.POST or None)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            student = fetch_for(request.user, Student, cd["student"])
            consultation = services.consultation_ask(
                actor=request.user, student=student, target=cd["target"], topic=cd["topic"], subject=cd["subject"], body=cd["body"],
                attachment=_upload(request),
            )
        except ValidationError as exc:
            for m in _errors(exc):
                form.add_error(None, m)
        else:
            messages.success(request, _("问题已提交。老师或专家答复后，您可以在这里看到。"))
            return redirect("homeschool:consultation", pk=consultation.pk)
    return render(request, "homeschool/consultation_new.html", {"form": form})


@login_required
def consultation(request, pk):
    item = selectors.get_consultation_for(request.user, pk)
    family = services.is_family_side(request.user, item)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.consultation_reply(actor=request.user, consultation=item, body=form.cleaned_data["body"], attachment=_upload(request))
        except ValidationError as exc:
            for m in _errors(exc):
                form.add_error(None, m)
        else:
            return redirect("homeschool:consultation", pk=item.pk)
    overdue = (
        item.first_reply_at is None
        and item.status != ConsultStatus.CLOSED
        and services.school_hours(item.created_at, timezone.now()) > selectors.conf.consult_target_hours()
    )
    return render(
        request,
        "homeschool/consultation.html",
        {
            "item": item,
            "thread": list(item.messages.select_related("author")),
            "form": form,
            "family": family,
            "overdue": overdue,
            "can_faq": not family and services.can_write_faq(request.user, item.district_id),
        },
    )


@login_required
def consultation_close(request, pk):
    if (refused := _post_only(request)) is not None:
        return refused
    item = selectors.get_consultation_for(request.user, pk)
    services.consultation_close(actor=request.user, consultation=item)
    messages.success(request, _("咨询已关闭。"))
    return redirect("homeschool:consultation", pk=item.pk)


@login_required
def message_attachment(request, pk):
    visible = Consultation.objects.visible_to(request.user)
    try:
        msg = ConsultationMessage.objects.visible_to(request.user).filter(consultation__in=visible).exclude(attachment="").get(pk=pk)
    except (ConsultationMessage.DoesNotExist, ValueError) as exc:
        raise Http404 from exc
    return attachment_response(msg.attachment, filename=msg.attachment_name, content_type=msg.attachment_type)


@login_required
@requires(OVERSEE)
def reply_times(request):
    scope = get_scope(request.user)
    district_id = next(iter(scope.district_ids), None)
    start, _end, semester = services.current_semester(district_id) if district_id else (timezone.localdate().replace(month=1, day=1), None, "")
    figures = selectors.reply_times(request.user, since=start)
    return render(request, "homeschool/reply_times.html", {**figures, "semester": semester, "since": start})


# --- FAQ ---------------------------------------------------------------------------------------------------------


@login_required
def faq(request):
    query = request.GET.get("q", "").strip()[:40]
    topic = request.GET.get("topic", "")
    qs = FAQ.objects.visible_to(request.user)
    if query:
        qs = qs.filter(Q(question__icontains=query) | Q(answer__icontains=query))
    if topic in Topic.values:
        qs = qs.filter(topic=topic)
    page = Paginator(qs.order_by("-created_at"), 20).get_page(request.GET.get("page"))
    scope = get_scope(request.user)
    district_id = next(iter(scope.district_ids), None)
    return render(
        request,
        "homeschool/faq.html",
        {"page": page, "query": query, "topic": topic, "topics": Topic.choices,
         "can_write": bool(district_id) and services.can_write_faq(request.user, district_id)},
    )


@login_required
def faq_new(request):
    user = request.user
    source = None
    if request.GET.get("from") or request.POST.get("from"):
        source = selectors.get_consultation_for(user, request.GET.get("from") or request.POST.get("from"))
    scope = get_scope(user)
    district_id = source.district_id if source else next(iter(scope.district_ids), None)
    if not district_id or not services.can_write_faq(user, district_id):
        raise PermissionDenied
    initial = services.faq_draft(source) if source else {}
    form = FAQForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            services.faq_create(actor=user, district_id=district_id, question=cd["question"], answer=cd["answer"], stage=cd["stage"], topic=cd["topic"], source=source)
        except ValidationError as exc:
            for m in _errors(exc):
                form.add_error(None, m)
        else:
            messages.success(request, _("已发布到常见问题，家长可以查到。"))
            return redirect("homeschool:faq")
    return render(request, "homeschool/faq_new.html", {"form": form, "source": source})


# --- micro-guides --------------------------------------------------------------------------------------------------


@login_required
def guides(request):
    stage = request.GET.get("stage", "")
    topic = request.GET.get("topic", "")
    qs = selectors.guides_for(request.user, stage=stage if stage in Stage.values else "", topic=topic if topic in Topic.values else "")
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    figures = selectors.guide_figures(g.pk for g in page.object_list)
    for g in page.object_list:
        g.read_count = figures.get(g.pk, {}).get("reads", 0)
        g.avg_rating = figures.get(g.pk, {}).get("avg")
    return render(
        request,
        "homeschool/guides.html",
        {
            "page": page,
            "stage": stage,
            "topic": topic,
            "stages": Stage.choices,
            "topics": Topic.choices,
            "can_publish": services.guide_units(request.user).exists(),
            "family_stages": selectors.family_stages(request.user),
        },
    )


@login_required
def guide_new(request):
    units = list(services.guide_units(request.user))
    if not units:
        raise PermissionDenied
    form = GuideForm(units, request.POST or None)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        unit = next((u for u in units if u.pk == cd["author_unit"]), None)
        try:
            guide = services.guide_publish(actor=request.user, author_unit=unit, title=cd["title"], summary=cd["summary"], body=cd["body"], topic=cd["topic"], stage=cd["stage"])
        except ValidationError as exc:
            for m in _errors(exc):
                form.add_error(None, m)
        else:
            messages.success(request, _("微指南已发布，对应学段的家庭会在“微指南”中看到。"))
            return redirect("homeschool:guide", pk=guide.pk)
    return render(request, "homeschool/guide_new.html", {"form": form})


@login_required
def guide(request, pk):
    item = selectors.get_guide_for(request.user, pk)
    read = services.guide_mark_read(actor=request.user, guide=item)
    figures = selectors.guide_figures([item.pk]).get(item.pk, {})
    return render(request, "homeschool/guide.html", {"item": item, "read": read, "figures": figures, "stars": range(1, 6)})


@login_required
def guide_rate(request, pk):
    if (refused := _post_only(request)) is not None:
        return refused
    item = selectors.get_guide_for(request.user, pk)
    try:
        services.guide_rate(actor=request.user, guide=item, rating=request.POST.get("rating"))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", None) or [str(exc)]))
    else:
        messages.success(request, _("谢谢您的评分！"))
    return redirect("homeschool:guide", pk=item.pk)


# --- home visits ---------------------------------------------------------------------------------------------------


@login_required
def visits(request):
    school_id = request.GET.get("school")
    try:
        school_id = int(school_id) if school_id else None
    except ValueError:
        school_id = None
    coverage = selectors.visit_coverage(request.user, school_id=school_id)
    if coverage is None and not school_id:
        raise PermissionDenied
    schools = None
    if coverage and not school_id and len(coverage.classes) > 40:
        # A district: one row per school, classes on click.
        schools = {}
        for row in coverage.classes:
            school = row.unit.parent.parent
            s = schools.setdefault(school.pk, {"unit": school, "students": 0, "visited": 0, "planned": 0, "classes": 0})
            s["students"] += row.students
            s["visited"] += row.visited
            s["planned"] += row.planned
            s["classes"] += 1
        for s in schools.values():
            s["pct"] = round(100 * s["visited"] / s["students"]) if s["students"] else 0
        schools = sorted(schools.values(), key=lambda s: s["unit"].name)
    return render(request, "homeschool/visits.html", {"coverage": coverage, "schools": schools, "school_id": school_id})


@login_required
def visit_class(request, class_id):
    school_class = fetch_for(request.user, SchoolClass.objects.select_related("parent__parent"), class_id)
    if not selectors.visit_classes(request.user).filter(pk=school_class.pk).exists():
        raise Http404
    data = selectors.class_visits(request.user, school_class)
    can_plan = can(request.user, TEACH, school_class)
    form = VisitPlanForm([r["student"] for r in data["rows"]], request.POST or None) if can_plan else None
    if request.method == "POST":
        if not can_plan:
            raise PermissionDenied
        if form.is_valid():
            cd = form.cleaned_data
            student = fetch_for(request.user, Student.objects.filter(school_class=school_class), cd["student"])
            try:
                services.visit_plan(actor=request.user, student=student, planned_for=cd["planned_for"], mode=cd["mode"])
            except ValidationError as exc:
                for m in _errors(exc):
                    form.add_error(None, m)
            else:
                messages.success(request, _("已安排家访：%(name)s") % {"name": student.name})
                return redirect("homeschool:visit_class", class_id=school_class.pk)
    return render(request, "homeschool/visit_class.html", {"school_class": school_class, "form": form, "can_plan": can_plan, **data})


@login_required
def visit(request, pk):
    item = fetch_for(request.user, HomeVisit.objects.select_related("student", "school_class"), pk)
    can_edit = can(request.user, TEACH, item)
    initial = {
        "status": item.status if item.status != "planned" else "done",
        "mode": item.mode,
        "visited_on": item.visited_on or min(item.planned_for, timezone.localdate()),
        "participants": item.participants,
        "topics": item.topics,
        "follow_ups": item.follow_ups,
        "follow_up_due": item.follow_up_due,
    }
    form = VisitRecordForm(request.POST or None, initial=initial) if can_edit else None
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        if form.is_valid():
            cd = form.cleaned_data
            try:
                services.visit_record(actor=request.user, visit=item, **cd)
            except ValidationError as exc:
                for m in _errors(exc):
                    form.add_error(None, m)
            else:
                messages.success(request, _("家访记录已保存。"))
                return redirect("homeschool:visit_class", class_id=item.school_class_id)
    return render(request, "homeschool/visit.html", {"item": item, "form": form})


# --- expert pool -----------------------------------------------------------------------------------------------------


@login_required
def experts(request):
    scope = get_scope(request.user)
    districts = [u for u in OrgUnit.objects.visible_to(request.user).filter(kind=Kind.DISTRICT, id__in=scope.district_ids) if can(request.user, OVERSEE, u)]
    if not districts and not scope.superuser:
        raise PermissionDenied
    district = districts[0] if districts else None
    form = ExpertForm(request.POST or None)
    if request.method == "POST" and district is not None:
        if request.POST.get("remove"):
            # The district was checked above (oversight of the district itself); the pool is its own.
            expert = Expert.objects.visible_to(request.user).filter(district=district, pk=request.POST["remove"]).select_related("district").first()
            if expert is None:
                raise Http404
            services.expert_remove(actor=request.user, expert=expert)
            messages.success(request, _("已移出专家库。"))
            return redirect("homeschool:experts")
        if form.is_valid():
            try:
                services.expert_add(actor=request.user, district=district, phone=form.cleaned_data["phone"], title=form.cleaned_data["title"])
            except ValidationError as exc:
                for m in _errors(exc):
                    form.add_error(None, m)
            else:
                messages.success(request, _("已加入专家库。"))
                return redirect("homeschool:experts")
    pool = Expert.objects.visible_to(request.user).filter(district=district, is_active=True).select_related("user") if district else []
    return render(request, "homeschool/experts.html", {"pool": pool, "form": form, "district": district})
