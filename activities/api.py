"""Activities for the mobile client: open activities, the family's sign-ups, sign-up and cancel, QR
check-in (the app scans the code and sends its token), and coverage figures for staff."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from activities import qr, selectors, services
from activities.models import Activity, ActivityStatus, SignUp, SignUpStatus
from activities.perms import MANAGE
from core.api import MAX_ID, Pagination
from core.api import refused as _refused
from core.scoping import fetch_for, get_scope
from org.models import OrgUnit

router = Router(tags=["协同活动"])


class ErrorOut(Schema):
    detail: str
    code: str


class SessionOut(Schema):
    id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    venue: str
    capacity: int | None
    places_left: int | None

    @staticmethod
    def resolve_venue(obj):
        return obj.display_venue()


class ActivityOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    venue: str
    audience: str
    credited_hours: float
    signup_open: bool
    sessions: list[SessionOut]

    @staticmethod
    def resolve_kind_label(obj):
        return obj.get_kind_display()

    @staticmethod
    def resolve_signup_open(obj):
        return obj.signup_is_open()

    @staticmethod
    def resolve_sessions(obj):
        return list(obj.sessions.all())


@router.get("/", response=list[ActivityOut], url_name="activity_list", summary="可参加的活动（本人或孩子所在范围内已发布的）")
@paginate(Pagination)
def activity_list(request):
    return (
        Activity.objects.visible_to(request.user)
        .filter(status=ActivityStatus.PUBLISHED, sessions__ends_at__gte=timezone.now())
        .distinct()
        .prefetch_related("sessions")
        .order_by("-created_at")
    )


class PersonOut(Schema):
    kind: str = Field(description="guardian 或 student")
    id: int
    name: str


class SignUpOut(Schema):
    id: int
    activity_id: int
    session_id: int
    status: str
    party_size: int
    persons: list[PersonOut]

    @staticmethod
    def resolve_persons(obj):
        return [
            {"kind": "guardian", "id": p.guardian_id, "name": p.guardian.name} if p.guardian_id
            else {"kind": "student", "id": p.student_id, "name": p.student.name}
            for p in obj.persons.all()
        ]


@router.get("/signups", response=list[SignUpOut], url_name="activity_my_signups", summary="我家的报名（含候补）")
@paginate(Pagination)
def my_signups(request):
    scope = get_scope(request.user)
    family = scope.family_student_ids
    return (
        SignUp.objects.visible_to(request.user)
        .filter(Q(guardian_id=scope.guardian_id or 0) | Q(persons__student_id__in=family))
        .exclude(status=SignUpStatus.CANCELLED)
        .prefetch_related("persons__guardian", "persons__student")
        .order_by("-created_at")
    )


class PartyIn(Schema):
    include_self: bool = Field(True, description="本人是否参加")
    student_ids: list[int] = Field(default_factory=list, description="参加的孩子")


@router.post("/sessions/{session_id}/signup", response={201: SignUpOut, 409: ErrorOut}, url_name="activity_signup", summary="报名（名额不足时整户候补）")
def signup(request, payload: PartyIn, session_id: int = Path(..., ge=1, le=MAX_ID)):
    try:
        s = services.signup_create(actor=request.user, session_id=session_id, include_self=payload.include_self,
                                   student_ids=payload.student_ids)
    except ValidationError as exc:
        return _refused(exc)
    return Status(201, SignUp.objects.visible_to(request.user).prefetch_related("persons__guardian", "persons__student").get(pk=s.pk))


class CancelOut(Schema):
    promoted: int = Field(description="因此从候补转为报名成功的户数")


@router.post("/signups/{signup_id}/cancel", response={200: CancelOut, 409: ErrorOut}, url_name="activity_signup_cancel", summary="取消报名或退出候补")
def cancel(request, signup_id: int = Path(..., ge=1, le=MAX_ID)):
    try:
        promoted = services.signup_cancel(actor=request.user, signup_id=signup_id)
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, {"promoted": len(promoted)})


class CheckInIn(PartyIn):
    token: str = Field(..., max_length=200, description="扫描现场二维码得到的 t 参数")


class CheckInOut(Schema):
    checked_in: int
    already: int


@router.post("/sessions/{session_id}/checkin", response={200: CheckInOut, 409: ErrorOut}, url_name="activity_checkin", summary="扫码签到")
def checkin(request, payload: CheckInIn, session_id: int = Path(..., ge=1, le=MAX_ID)):
    session = selectors.get_session_for(request.user, session_id)  # out of scope: 404 before any token check
    try:
        qr.check_token(payload.token, session.pk)
        result = services.checkin_self(actor=request.user, session_id=session_id, include_self=payload.include_self,
                                       student_ids=payload.student_ids)
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, {"checked_in": result.created, "already": result.already})


class CoverageIn(Schema):
    unit_id: int = Field(..., ge=1, le=MAX_ID)
    period_id: int | None = Field(None, ge=1, le=MAX_ID)


class CoverageOut(Schema):
    unit_id: int
    start: dt.date
    end: dt.date
    families: int
    families_took_part: int
    family_rate: float | None
    signed_up: int
    attended: int
    attendance_rate: float | None
    campaign_took_part: int
    campaign_rate: float | None


@router.get("/coverage", response=CoverageOut, url_name="activity_coverage", summary="参与覆盖率（组织者可见范围）")
def coverage(request, q: Query[CoverageIn]):
    unit = fetch_for(request.user, OrgUnit, q.unit_id, perm=MANAGE)
    window = selectors.semester_window(district_id=unit.district_id, period_id=q.period_id)
    fam, took, rate = selectors.total(selectors.class_coverage(unit=unit, window=window))
    _c, c_took, c_rate = selectors.total(selectors.class_coverage(unit=unit, window=window, source="campaign"))
    att = selectors.signup_attendance(unit=unit, window=window)
    return {
        "unit_id": unit.pk, "start": window.start, "end": window.end, "families": fam, "families_took_part": took, "family_rate": rate,
        "signed_up": att.signed_up, "attended": att.attended, "attendance_rate": att.rate, "campaign_took_part": c_took,
        "campaign_rate": c_rate,
    }
