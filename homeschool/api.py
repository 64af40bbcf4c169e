"""Consultations, micro-guides, FAQ and visit coverage for the mobile client. Out of scope = 404."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.urls import reverse
from ninja import Field, Path, Query, Router, Schema, Status

from core.api import MAX_ID
from core.scoping import fetch_for
from homeschool import selectors, services
from homeschool.models import FAQ, Consultation, MicroGuide, Target, Topic
from people.models import Student

router = Router(tags=["家校沟通"])


class ErrorOut(Schema):
    detail: str


def _detail(exc) -> str:
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


class ConsultationOut(Schema):
    id: int
    subject: str
    status: str
    target: str
    topic: str
    student_name: str
    class_name: str
    created_at: dt.datetime
    last_message_at: dt.datetime | None


class MessageOut(Schema):
    id: int
    from_family: bool
    author: str
    body: str
    created_at: dt.datetime
    attachment_url: str | None


class ConsultationDetailOut(ConsultationOut):
    messages: list[MessageOut]


class ConsultationList(Schema):
    items: list[ConsultationOut]
    count: int


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


def _out(c: Consultation) -> dict:
    return {
        "id": c.pk, "subject": c.subject, "status": c.status, "target": c.target, "topic": c.topic, "student_name": c.student.name,
        "class_name": c.school_class.name, "created_at": c.created_at, "last_message_at": c.last_message_at,
    }


@router.get("/consultations", response=ConsultationList, summary="我的咨询（家长）/ 待我答复的咨询（老师、专家）")
def consultations(request, q: Query[PageQuery]):
    qs = Consultation.objects.visible_to(request.user).select_related("student", "school_class").order_by("status", "-last_message_at", "-id")
    start = (q.page - 1) * q.page_size
    return {"items": [_out(c) for c in qs[start : start + q.page_size]], "count": qs.count()}


class AskIn(Schema):
    student_id: int = Field(..., ge=1, le=MAX_ID)
    target: Target
    topic: Topic = Topic.OTHER
    subject: str = Field(..., min_length=1, max_length=80)
    body: str = Field(..., min_length=1, max_length=4000)


@router.post("/consultations", response={201: ConsultationOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}, summary="提问")
def consultation_ask(request, payload: AskIn):
    student = fetch_for(request.user, Student.objects.select_related("school_class"), payload.student_id)
    try:
        item = services.consultation_ask(actor=request.user, student=student, target=payload.target, topic=payload.topic,
                                         subject=payload.subject, body=payload.body)
    except PermissionDenied as exc:
        return Status(403, {"detail": _detail(exc)})
    except ValidationError as exc:
        return Status(422, {"detail": _detail(exc)})
    item = Consultation.objects.visible_to(request.user).select_related("student", "school_class").get(pk=item.pk)
    return Status(201, _out(item))


def _thread(request, pk) -> dict:
    item = selectors.get_consultation_for(request.user, pk)
    messages = [
        {
            "id": m.pk, "from_family": m.from_family, "author": m.author_label, "body": m.body, "created_at": m.created_at,
            "attachment_url": reverse("homeschool:message_attachment", args=[m.pk]) if m.attachment else None,
        }
        for m in item.messages.all()
    ]
    return {**_out(item), "messages": messages}


@router.get("/consultations/{int:consultation_id}", response={200: ConsultationDetailOut, 404: ErrorOut}, summary="咨询对话")
def consultation_detail(request, consultation_id: int = Path(..., ge=1, le=MAX_ID)):
    return Status(200, _thread(request, consultation_id))


class MessageIn(Schema):
    body: str = Field(..., min_length=1, max_length=4000)


@router.post("/consultations/{int:consultation_id}/messages", response={201: MessageOut, 404: ErrorOut, 422: ErrorOut}, summary="回复")
def consultation_message(request, payload: MessageIn, consultation_id: int = Path(..., ge=1, le=MAX_ID)):
    item = selectors.get_consultation_for(request.user, consultation_id)
    try:
        m = services.consultation_reply(actor=request.user, consultation=item, body=payload.body)
    except (ValidationError, PermissionDenied) as exc:
        return Status(422, {"detail": _detail(exc)})
    return Status(201, {"id": m.pk, "from_family": m.from_family, "author": m.author_label, "body": m.body, "created_at": m.created_at, "attachment_url": None})


class DoneOut(Schema):
    detail: str


@router.post("/consultations/{int:consultation_id}/close", response={200: DoneOut, 404: ErrorOut}, summary="关闭咨询")
def consultation_close(request, consultation_id: int = Path(..., ge=1, le=MAX_ID)):
    item = selectors.get_consultation_for(request.user, consultation_id)
    services.consultation_close(actor=request.user, consultation=item)
    return Status(200, {"detail": "咨询已关闭。"})


# --- guides and FAQ ----------------------------------------------------------------------------------------------


class GuideOut(Schema):
    id: int
    title: str
    summary: str
    author: str
    stage: str
    topic: str
    published_at: dt.datetime
    read: bool | None = Field(None, description="家长：是否读过")


class GuideDetailOut(GuideOut):
    body_html: str
    reads: int
    average_rating: float | None
    my_rating: int | None


class GuideQuery(PageQuery):
    stage: str = Field("", max_length=16)
    topic: str = Field("", max_length=12)


def _guide(g: MicroGuide) -> dict:
    return {
        "id": g.pk, "title": g.title, "summary": g.summary, "author": g.author_label, "stage": g.stage, "topic": g.topic,
        "published_at": g.published_at, "read": getattr(g, "is_read", None),
    }


@router.get("/guides", response=list[GuideOut], summary="家庭教育微指南（按孩子学段推送）")
def guides(request, q: Query[GuideQuery]):
    qs = selectors.guides_for(request.user, stage=q.stage, topic=q.topic)
    start = (q.page - 1) * q.page_size
    return [_guide(g) for g in qs[start : start + q.page_size]]


@router.get("/guides/{int:guide_id}", response={200: GuideDetailOut, 404: ErrorOut}, summary="阅读微指南（计入阅读数）")
def guide_detail(request, guide_id: int = Path(..., ge=1, le=MAX_ID)):
    g = selectors.get_guide_for(request.user, guide_id)
    read = services.guide_mark_read(actor=request.user, guide=g)
    f = selectors.guide_figures([g.pk]).get(g.pk, {})
    return Status(200, {**_guide(g), "read": read is not None or None, "body_html": g.body, "reads": f.get("reads", 0),
                 "average_rating": f.get("avg"), "my_rating": read.rating if read else None})


class RatingIn(Schema):
    rating: int = Field(..., ge=1, le=5)


@router.post("/guides/{int:guide_id}/rating", response={200: DoneOut, 403: ErrorOut, 404: ErrorOut}, summary="为微指南评分（1–5）")
def guide_rate(request, payload: RatingIn, guide_id: int = Path(..., ge=1, le=MAX_ID)):
    g = selectors.get_guide_for(request.user, guide_id)
    try:
        services.guide_rate(actor=request.user, guide=g, rating=payload.rating)
    except PermissionDenied as exc:
        return Status(403, {"detail": _detail(exc)})
    return Status(200, {"detail": "谢谢您的评分！"})


class FAQOut(Schema):
    id: int
    question: str
    answer: str
    stage: str
    topic: str


class FAQQuery(PageQuery):
    q: str = Field("", max_length=40)


@router.get("/faq", response=list[FAQOut], summary="常见问题")
def faq(request, q: Query[FAQQuery]):
    qs = FAQ.objects.visible_to(request.user).filter(is_published=True)
    if q.q:
        qs = qs.filter(Q(question__icontains=q.q) | Q(answer__icontains=q.q))
    start = (q.page - 1) * q.page_size
    return [{"id": f.pk, "question": f.question, "answer": f.answer, "stage": f.stage, "topic": f.topic} for f in qs.order_by("-created_at")[start : start + q.page_size]]


class CoverageRowOut(Schema):
    class_id: int
    class_name: str
    students: int
    visited: int
    planned: int


class CoverageOut(Schema):
    semester: str
    start: dt.date
    end: dt.date
    students: int
    visited: int
    classes: list[CoverageRowOut]


@router.get("/visits/coverage", response={200: CoverageOut, 403: ErrorOut}, summary="本学期家访覆盖（按班级）")
def visit_coverage(request):
    cov = selectors.visit_coverage(request.user)
    if cov is None:
        return Status(403, {"detail": "您没有可查看家访的班级。"})
    return Status(200, {
        "semester": cov.name, "start": cov.start, "end": cov.end, "students": cov.students, "visited": cov.visited,
        "classes": [{"class_id": r.unit.pk, "class_name": r.unit.name, "students": r.students, "visited": r.visited, "planned": r.planned} for r in cov.classes],
    })
