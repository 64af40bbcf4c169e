"""Reads for the parent school: a guardian's hours for a semester, topics ranked by demand, ratings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q

from activities.selectors import Window, semester_window
from core.scoping import get_scope
from courses.ledger import thresholds_for
from courses.models import Certificate, Course, CourseRating, LearningHours, TopicRequest, TopicStatus


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
    rows = list(
        LearningHours.objects.visible_to(user)
        .filter(guardian_id=scope.guardian_id, earned_on__gte=window.start, earned_on__lte=window.end)
        .order_by("-earned_on", "-id")
    )
    total = sum((r.hours for r in rows), Decimal("0"))
    threshold = thresholds_for([scope.guardian_id])[scope.guardian_id]
    cert = (
        Certificate.objects.visible_to(user).filter(guardian_id=scope.guardian_id, period_id=window.period_id).first()
        if window.period_id
        else None
    )
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
