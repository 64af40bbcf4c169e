"""Reads for the parent school: a guardian's hours for a semester, topics ranked by demand, ratings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q

from activities.selectors import Window, semester_window
from core.scoping import fetch_for, get_scope
from courses.models import Course, CourseRating, Lesson, TopicRequest, TopicStatus
from courses.perms import MANAGE
from ledger import services as ledger
from ledger.models import Certificate


@dataclass
class HoursSummary:
    window: Window
    rows: list
    total: Decimal
    threshold: Decimal
    certificate: Certificate | None

    @property
    def percent(self) -> float:
        return min(100.0, float(100 * self.total / self.threshold)) if self.threshold else 100.0

    @property
    def remaining(self) -> Decimal:
        return max(Decimal("0"), self.threshold - self.total)


def guardian_hours(*, user, period_id: int | None = None) -> HoursSummary | None:
    """The signed-in guardian's ledger for a semester (3–4 queries)."""
    scope = get_scope(user)
    if not scope.guardian_id:
        return None
    district_id = next(iter(scope.district_ids), None)
    window = semester_window(district_id=district_id, period_id=period_id)
    rows = ledger.hours_rows(user=user, guardian_id=scope.guardian_id, start=window.start, end=window.end)
    total = sum((r.hours for r in rows), Decimal("0"))
    threshold = ledger.thresholds_for([scope.guardian_id])[scope.guardian_id]
    cert = ledger.certificate_for(user=user, guardian_id=scope.guardian_id, period_id=window.period_id)
    return HoursSummary(window, rows, total, threshold, cert)


def topics_ranked(*, user, school_id: int | None = None, stage: str | None = None, status: str = TopicStatus.OPEN):
    """Topics visible to the user, most votes first, with the user's own vote marked. 1 query."""
    scope = get_scope(user)
    qs = TopicRequest.objects.visible_to(user).filter(status=status).select_related("school")
    if school_id:
        qs = qs.filter(school_id=school_id)
    if stage:
        qs = qs.filter(stage=stage)
    qs = qs.annotate(
        vote_count=Count("votes", distinct=True),
        mine=Count("votes", filter=Q(votes__guardian_id=scope.guardian_id or 0), distinct=True),
    )
    return qs.order_by("-vote_count", "created_at")


def course_ratings(course_ids) -> dict[int, dict]:
    rows = CourseRating.objects.system(reason="average stars of courses the caller lists").filter(course_id__in=course_ids).values("course_id").annotate(avg=Avg("stars"), n=Count("id"))
    return {r["course_id"]: {"avg": round(r["avg"], 1), "n": r["n"]} for r in rows}


def catalogue(*, user, category: str | None = None, stage: str | None = None, mode: str | None = None):
    qs = Course.objects.visible_to(user).select_related("owner_unit").annotate(lesson_count=Count("lessons"))
    if category:
        qs = qs.filter(category=category)
    if stage:
        qs = qs.filter(Q(stage=stage) | Q(stage=""))
    if mode:
        qs = qs.filter(mode=mode)
    return qs.order_by("-created_at")


def get_course_for(user, course_id, *, for_write: bool = False) -> Course:
    """The course pages' one way to a course the user sees (courses.manage on it with for_write), else 404."""
    return fetch_for(user, Course.objects.select_related("owner_unit", "topic"), course_id, perm=MANAGE if for_write else None)


def get_lesson_for(user, lesson_id, *, for_write: bool = False) -> Lesson:
    """The lesson pages' and the API's one way to a lesson the user sees (courses.manage on it with
    for_write), else 404."""
    return fetch_for(user, Lesson.objects.select_related("course__owner_unit"), lesson_id, perm=MANAGE if for_write else None)


def get_topic_for(user, topic_id, *, for_write: bool = False) -> TopicRequest:
    """The demand topics' one way to a topic the user sees (courses.manage on it with for_write), else 404."""
    return fetch_for(user, TopicRequest.objects.select_related("school"), topic_id, perm=MANAGE if for_write else None)
