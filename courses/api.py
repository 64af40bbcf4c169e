"""The parent school for the mobile client: catalogue, my learning hours, playback beacons, demand topics."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from ninja import Field, Path, Router, Schema, Status
from ninja.pagination import paginate

from core.api import MAX_ID, Pagination
from core.api import refused as _refused
from courses import selectors, services

router = Router(tags=["家长学校"])


class ErrorOut(Schema):
    detail: str
    code: str


class CourseOut(Schema):
    id: int
    title: str
    category: str
    stage: str
    mode: str
    lecturer_name: str
    lesson_count: int


@router.get("/", response=list[CourseOut], url_name="course_catalogue", summary="课程目录")
@paginate(Pagination)
def catalogue(request):
    return selectors.catalogue(user=request.user)


class HoursRowOut(Schema):
    title: str
    hours: float
    earned_on: dt.date
    kind: str


class HoursOut(Schema):
    period: str
    start: dt.date
    end: dt.date
    total: float
    threshold: float
    certificate_id: int | None
    rows: list[HoursRowOut]


@router.get("/hours", response={200: HoursOut, 404: ErrorOut}, url_name="course_hours", summary="我的本学期学时")
def hours(request):
    s = selectors.guardian_hours(user=request.user)
    if s is None:
        return Status(404, {"detail": "只有家长账号有学时记录。", "code": "not_guardian"})
    return Status(200, {
        "period": s.window.name, "start": s.window.start, "end": s.window.end, "total": float(s.total), "threshold": float(s.threshold),
        "certificate_id": s.certificate.pk if s.certificate else None,
        "rows": [{"title": r.title, "hours": float(r.hours), "earned_on": r.earned_on, "kind": r.kind} for r in s.rows],
    })


class BeaconIn(Schema):
    position: float = Field(..., ge=0, le=86400, description="播放器当前位置（秒）")


class BeaconOut(Schema):
    watched_seconds: int
    completed: bool


@router.post("/lessons/{lesson_id}/progress", response={200: BeaconOut, 409: ErrorOut}, url_name="lesson_progress", summary="录播课观看进度（播放中每10秒上报）")
def progress(request, payload: BeaconIn, lesson_id: int = Path(..., ge=1, le=MAX_ID)):
    lesson = selectors.get_lesson_for(request.user, lesson_id)
    try:
        watch = services.watch_beacon(actor=request.user, lesson=lesson, position=payload.position)
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, {"watched_seconds": watch.watched_seconds, "completed": watch.completed_at is not None})


class TopicOut(Schema):
    id: int
    title: str
    school_id: int
    stage: str
    votes: int
    voted: bool

    @staticmethod
    def resolve_votes(obj):
        return obj.vote_count

    @staticmethod
    def resolve_voted(obj):
        return bool(obj.mine)


@router.get("/topics", response=list[TopicOut], url_name="topic_list", summary="点单主题（按票数排序）")
@paginate(Pagination)
def topics(request):
    return selectors.topics_ranked(user=request.user)


@router.post("/topics/{topic_id}/vote", response={200: TopicOut, 409: ErrorOut}, url_name="topic_vote", summary="为点单主题投票（每人每题一票）")
def vote(request, topic_id: int = Path(..., ge=1, le=MAX_ID)):
    topic = selectors.get_topic_for(request.user, topic_id)
    try:
        services.topic_vote(actor=request.user, topic=topic)
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, selectors.topics_ranked(user=request.user).get(pk=topic.pk))
