"""Writes for activities: each service takes the acting user, checks the scope itself, runs in one
transaction and records one audit event. Errors are ValidationError with a Chinese message and a
stable .code that tests assert on; nothing is changed when one is raised."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from activities import reach, sql
from activities.models import (
    Activity,
    ActivityPhoto,
    ActivityRating,
    ActivitySession,
    ActivityStatus,
    Audience,
    Campaign,
    CampaignComment,
    CampaignPhoto,
    CampaignPost,
    CheckIn,
    CheckInMethod,
    ParticipationSource,
    SignUp,
    SignUpPerson,
    SignUpStatus,
)
from activities.perms import APPROVE, MANAGE
from activities.sources import CAMPAIGN_SOURCE, SESSION_SOURCE
from activities.uploads import MAX_PHOTOS_PER_POST, photo_check, stored
from audit.services import record
from core.errors import refusal as _err
from core.perms import can
from core.scoping import get_scope
from jobs import services as jobs
from ledger import registry as ledger_registry
from ledger import services as ledger
from messaging.models import Channel
from messaging.services import Note, notify
from notices.audience import can_send, resolve
from notices.services import notice_create
from org.models import Kind, OrgUnit
from people.models import Guardian, Guardianship, Student

log = logging.getLogger(__name__)


# --- Who may do what -------------------------------------------------------------------------------


def can_manage(user, activity: Activity) -> bool:
    """Organisers: activities.manage on the owner unit or on any co-organising unit."""
    scope = get_scope(user)
    if can(scope, MANAGE, activity.owner_unit):
        return True
    return any(can(scope, MANAGE, u) for u in activity.co_organisers.all())


def can_approve(user, activity: Activity) -> bool:
    return can(user, APPROVE, activity.owner_unit)


def guardian_of(user) -> Guardian:
    scope = get_scope(user)
    if not scope.guardian_id:
        raise _err(_("只有已激活的家长账号可以报名和签到。"), "not_guardian")
    return Guardian.objects.system(reason="the user's own guardian record").get(pk=scope.guardian_id)


def family_student_ids(user) -> frozenset[int]:
    return get_scope(user).family_student_ids


def _audience_paths(activity: Activity) -> list[str]:
    return [u.path for u in activity.audience_units.all()]


def _in_audience(path: str, paths: list[str]) -> bool:
    return any(path.startswith(p) for p in paths)


# --- Creating and running activities ---------------------------------------------------------------

SAFETY_FIELDS = ("off_campus", "safety_plan", "responsible_name", "responsible_contact", "venue")
EDITABLE_FIELDS = (
    "kind", "title", "description", "venue", "off_campus", "safety_plan", "responsible_name", "responsible_contact",
    "requires_signup", "max_party_size", "signup_opens_at", "signup_closes_at", "credited_hours", "audience", "announce",
)


def _check_units(actor, *, owner_unit: OrgUnit, audience_units, co_organisers) -> None:
    if not can(actor, MANAGE, owner_unit):
        raise PermissionDenied(_("您无权以该单位名义组织活动。"))
    if not audience_units:
        raise _err(_("请至少选择一个面向的班级、年级或学校。"), "audience_required")
    for unit in audience_units:
        # Staff reach families in their own scope; a community or partner those of the schools it serves.
        if not reach.may_target(actor, unit):
            raise _err(_("“%(unit)s”不在您的管理范围内，不能作为活动对象。") % {"unit": unit.name}, "audience_out_of_scope")
    for unit in co_organisers:
        if unit.district_id != owner_unit.district_id:
            raise _err(_("协办单位“%(unit)s”不在本区，不能添加。") % {"unit": unit.name}, "co_organiser_other_district")


def _check_fields(fields: dict) -> None:
    if not (fields.get("title") or "").strip():
        raise _err(_("请填写活动名称。"), "title_required")
    if not (fields.get("venue") or "").strip():
        raise _err(_("请填写活动地点。"), "venue_required")
    if fields.get("off_campus"):
        missing = [
            label
            for key, label in (
                ("safety_plan", _("安全预案")), ("responsible_name", _("安全责任人")), ("responsible_contact", _("责任人联系电话")),
            )
            if not (fields.get(key) or "").strip()
        ]
        if missing:
            raise _err(_("校外活动必须填写：%(fields)s。") % {"fields": "、".join(missing)}, "safety_required")
    opens, closes = fields.get("signup_opens_at"), fields.get("signup_closes_at")
    if opens and closes and closes <= opens:
        raise _err(_("报名截止时间应晚于报名开始时间。"), "signup_window_invalid")
    if (fields.get("credited_hours") or 0) < 0:
        raise _err(_("学时不能为负数。"), "hours_invalid")


def _check_session_times(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if not starts_at or not ends_at or ends_at <= starts_at:
        raise _err(_("场次结束时间应晚于开始时间。"), "session_times_invalid")


@transaction.atomic
def activity_create(*, actor, owner_unit: OrgUnit, audience_units, co_organisers=(), sessions=(), **fields) -> Activity:
    """Create a draft. sessions: (starts_at, ends_at, capacity) tuples."""
    audience_units, co_organisers = list(audience_units), [u for u in co_organisers if u.pk != owner_unit.pk]
    _check_units(actor, owner_unit=owner_unit, audience_units=audience_units, co_organisers=co_organisers)
    fields = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    _check_fields(fields)
    for s in sessions:
        _check_session_times(s[0], s[1])
    activity = Activity.objects.create(
        district_id=owner_unit.district_id, owner_unit=owner_unit, created_by=actor if actor and actor.pk else None, **fields
    )
    activity.audience_units.set(audience_units)
    activity.co_organisers.set(co_organisers)
    for starts_at, ends_at, capacity in sessions:
        ActivitySession.objects.create(
            activity=activity, district_id=activity.district_id, starts_at=starts_at, ends_at=ends_at, capacity=capacity
        )
    record("activities.create", actor=actor, model="activities.activity", object_id=activity.pk,
           changes={"kind": activity.kind, "owner_unit": owner_unit.pk, "audience_units": [u.pk for u in audience_units]})
    return activity


@transaction.atomic
def activity_update(*, actor, activity: Activity, audience_units=None, co_organisers=None, **fields) -> Activity:
    if not can_manage(actor, activity):
        raise PermissionDenied(_("您无权修改该活动。"))
    if activity.status == ActivityStatus.CANCELLED:
        raise _err(_("活动已取消，不能再修改。"), "activity_cancelled")
    fields = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    merged = {k: getattr(activity, k) for k in EDITABLE_FIELDS} | fields
    _check_fields(merged)
    audience = list(audience_units) if audience_units is not None else list(activity.audience_units.all())
    co = list(co_organisers) if co_organisers is not None else list(activity.co_organisers.all())
    _check_units(actor, owner_unit=activity.owner_unit, audience_units=audience, co_organisers=co)
    safety_changed = any(k in fields and fields[k] != getattr(activity, k) for k in SAFETY_FIELDS)
    changes = {k: [str(getattr(activity, k)), str(v)] for k, v in fields.items() if getattr(activity, k) != v}
    for k, v in fields.items():
        setattr(activity, k, v)
    if activity.off_campus and safety_changed and activity.status == ActivityStatus.PUBLISHED:
        # A changed safety plan or venue needs the school admin's approval again before more sign-ups.
        activity.status = ActivityStatus.PENDING
        activity.approved_at = None
        activity.approved_by = None
    activity.save()
    if audience_units is not None:
        activity.audience_units.set(audience)
    if co_organisers is not None:
        activity.co_organisers.set([u for u in co if u.pk != activity.owner_unit_id])
    record("activities.update", actor=actor, model="activities.activity", object_id=activity.pk, changes=changes)
    return activity


@transaction.atomic
def activity_submit(*, actor, activity: Activity) -> Activity:
    """Publish, or for an off-campus activity send it to the school admin for approval first."""
    if not can_manage(actor, activity):
        raise PermissionDenied(_("您无权发布该活动。"))
    if activity.status not in (ActivityStatus.DRAFT, ActivityStatus.REJECTED):
        raise _err(_("该活动已提交或已发布。"), "already_submitted")
    if not activity.sessions.exists():
        raise _err(_("请先添加至少一个活动场次（日期和时间）。"), "session_required")
    _check_fields({k: getattr(activity, k) for k in EDITABLE_FIELDS})
    if activity.off_campus:
        activity.status = ActivityStatus.PENDING
    else:
        activity.status = ActivityStatus.PUBLISHED
    activity.save(update_fields=["status", "updated_at"])
    record("activities.submit", actor=actor, model="activities.activity", object_id=activity.pk, changes={"status": activity.status})
    if activity.status == ActivityStatus.PUBLISHED:
        queue_announcement(activity)
    return activity


@transaction.atomic
def activity_approve(*, actor, activity: Activity, approve: bool, note: str = "") -> Activity:
    if not can_approve(actor, activity):
        raise PermissionDenied(_("只有学校管理员可以审批校外活动。"))
    if activity.status != ActivityStatus.PENDING:
        raise _err(_("该活动不在待审批状态。"), "not_pending")
    if not approve and not note.strip():
        raise _err(_("请填写不通过的原因，便于组织者修改。"), "reason_required")
    activity.status = ActivityStatus.PUBLISHED if approve else ActivityStatus.REJECTED
    activity.approved_by = actor
    activity.approved_at = timezone.now()
    activity.approval_note = note.strip()[:200]
    activity.save(update_fields=["status", "approved_by", "approved_at", "approval_note", "updated_at"])
    record("activities.approve" if approve else "activities.reject", actor=actor, model="activities.activity", object_id=activity.pk,
           changes={"note": activity.approval_note})
    if approve:
        queue_announcement(activity)
    return activity


@transaction.atomic
def activity_cancel(*, actor, activity: Activity, reason: str = "") -> Activity:
    if not can_manage(actor, activity):
        raise PermissionDenied(_("您无权取消该活动。"))
    activity.status = ActivityStatus.CANCELLED
    activity.save(update_fields=["status", "updated_at"])
    SignUp.objects.system(reason="cancelling an activity the actor manages").filter(activity=activity).exclude(status=SignUpStatus.CANCELLED).update(
        status=SignUpStatus.CANCELLED, cancelled_at=timezone.now(), cancelled_by=actor
    )
    SignUpPerson.objects.system(reason="cancelling an activity the actor manages").filter(signup__activity=activity).update(active=False)
    ActivitySession.objects.system(reason="cancelling an activity the actor manages").filter(activity=activity).update(places_taken=0)
    record("activities.cancel", actor=actor, model="activities.activity", object_id=activity.pk, changes={"reason": reason[:200]})
    return activity


@transaction.atomic
def session_add(*, actor, activity: Activity, starts_at, ends_at, capacity: int | None, venue: str = "") -> ActivitySession:
    if not can_manage(actor, activity):
        raise PermissionDenied(_("您无权修改该活动。"))
    _check_session_times(starts_at, ends_at)
    if capacity is not None and capacity < 1:
        raise _err(_("名额至少为1人；不限名额请留空。"), "capacity_invalid")
    session = ActivitySession.objects.create(
        activity=activity, district_id=activity.district_id, starts_at=starts_at, ends_at=ends_at, capacity=capacity, venue=venue
    )
    record("activities.session_add", actor=actor, model="activities.activitysession", object_id=session.pk, changes={"activity": activity.pk})
    return session


@transaction.atomic
def session_set_capacity(*, actor, session: ActivitySession, capacity: int | None) -> list[SignUp]:
    """Change a session's capacity; raising it moves waitlisted families up at once."""
    if not can_manage(actor, session.activity):
        raise PermissionDenied(_("您无权修改该活动。"))
    session = ActivitySession.objects.system(reason="a session of an activity the actor manages").select_for_update().get(pk=session.pk)
    if capacity is not None and capacity < session.places_taken:
        raise _err(
            ngettext("已有 %(n)d 人报名，名额不能少于已报名人数。", "已有 %(n)d 人报名，名额不能少于已报名人数。", session.places_taken) % {"n": session.places_taken}, "capacity_below_taken"
        )
    session.capacity = capacity
    session.save(update_fields=["capacity"])
    promoted = _promote_waitlist(session)
    record("activities.capacity", actor=actor, model="activities.activitysession", object_id=session.pk,
           changes={"capacity": capacity, "promoted": [s.pk for s in promoted]})
    return promoted


def when_label(moment: dt.datetime) -> str:
    """A session's day and time in the reader's language (12月18日 14:00 / December 18 2 p.m.)."""
    local = timezone.localtime(moment)
    return f"{formats.date_format(local, 'MONTH_DAY_FORMAT')} {formats.time_format(local, 'TIME_FORMAT')}"


ANNOUNCE = "activities.announce"  # outbox handler (activities/tasks.py)


def queue_announcement(activity: Activity) -> None:
    """The announcement is an outbox row written with the publishing, keyed by the activity: a process that
    dies after the commit leaves the row for the sweeper (never lost), and publishing twice, or a rerun,
    announces once (never doubled)."""
    jobs.enqueue(ANNOUNCE, key=f"{ANNOUNCE}:{activity.pk}", payload={"activity": activity.pk},
                 district_id=activity.district_id)


def announce(*, activity_id: int) -> None:
    """Tell the audience's families an activity is open, through the notices module, in the name of the
    organiser who created it. Runs after the publishing transaction has committed; an organiser without
    notices.send (a partner, a street work station) sends nothing: their activity is found in the list."""
    activity = Activity.objects.select_related("created_by").get(pk=activity_id)
    actor = activity.created_by
    if not activity.announce or actor is None or not can_send(actor):
        return
    first = activity.sessions.order_by("starts_at").first()
    link = f'<a href="/activities/{activity.pk}/">/activities/{activity.pk}/</a>'
    body = "".join((
        f"<p>{escape(activity.get_kind_display())}：{escape(activity.title)}</p>",
        "<p>" + escape(_("时间：%(when)s　地点：%(venue)s") % {"when": when_label(first.starts_at) if first else "", "venue": activity.venue})
        + "</p>",
        "<p>" + (_("请在共育平台“协同活动”中查看详情并报名：%(link)s") if activity.requires_signup
                 else _("请在共育平台“协同活动”中查看详情：%(link)s")) % {"link": link} + "</p>",
    ))
    try:
        audience = resolve(actor, unit_ids=[u.pk for u in activity.audience_units.all()], include_guardians=True, staff_roles=[],
                           student_nos=[])
        notice_create(actor=actor, title=(_("活动通知：%(title)s") % {"title": activity.title})[:120], body=body, audience=audience)
    except (ValidationError, PermissionDenied) as exc:
        log.info("activity %s: no announcement sent (%s)", activity_id, type(exc).__name__)


def notify_promoted(signup_ids: list[int]) -> None:
    """Tell each family that moved up from the waitlist that its places are confirmed (after commit), through
    messaging: the guardian who signed up and the guardians of the children in the party (or of the
    guardian's children when the guardian signed up alone), once per sign-up and person."""
    signups = (
        SignUp.objects.filter(pk__in=signup_ids, status=SignUpStatus.CONFIRMED)
        .select_related("activity__owner_unit", "session", "guardian")
        .prefetch_related("persons__student")
    )
    for signup in signups:
        student_ids = [p.student_id for p in signup.persons.all() if p.student_id]
        if not student_ids:
            student_ids = list(Student.objects.filter(guardianships__guardian_id=signup.guardian_id, is_active=True)
                               .values_list("id", flat=True))
        guardians = list(Guardian.objects.filter(guardianships__student_id__in=student_ids, guardianships__student__is_active=True,
                                                 is_active=True).distinct())
        if signup.guardian is not None and signup.guardian not in guardians:
            guardians.append(signup.guardian)
        activity, session = signup.activity, signup.session
        body = " ".join((
            _("您家在候补名单中的报名已转为报名成功：%(title)s") % {"title": activity.title},
            _("时间：%(when)s　地点：%(venue)s") % {"when": when_label(session.starts_at), "venue": session.display_venue()},
        ))
        notify(guardians, Note(title=(_("候补转正：%(title)s") % {"title": activity.title})[:120], body=body,
                               link=f"/activities/{activity.pk}/", source=f"activity:{activity.pk}", kind="promoted"),
               channels=(Channel.INAPP, Channel.WECHAT, Channel.SMS), key=f"activity-promoted:{signup.pk}")


# --- Sign-up -------------------------------------------------------------------------------------


def _persons_label(guardian: Guardian | None, students) -> str:
    names = ([guardian.name] if guardian else []) + [s.name for s in students]
    return "、".join(names)


@transaction.atomic
def signup_create(*, actor, session_id: int, include_self: bool, student_ids, note: str = "") -> SignUp:
    """Sign up a party (the guardian and/or chosen children) for one session: all get places or none.

    The session row is locked (SELECT … FOR UPDATE) while places are counted, so simultaneous sign-ups
    queue and never overfill; a full session puts the whole party on the waitlist.
    """
    try:
        session = (
            ActivitySession.objects.visible_to(actor).select_for_update(of=("self",)).select_related("activity").get(pk=session_id)
        )
    except (ActivitySession.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    guardian = guardian_of(actor)
    activity = session.activity
    now = timezone.now()
    if activity.status != ActivityStatus.PUBLISHED:
        raise _err(_("该活动尚未开放报名。"), "not_published")
    if not activity.requires_signup:
        raise _err(_("该活动无需报名，按时到场签到即可。"), "no_signup_needed")
    if not activity.signup_is_open(now):
        if activity.signup_opens_at and now < activity.signup_opens_at:
            raise _err(_("报名尚未开始，开始时间：%(t)s。") % {"t": when_label(activity.signup_opens_at)}, "signup_not_open")
        raise _err(_("报名已截止。"), "signup_closed")
    if session.starts_at <= now:
        raise _err(_("该场次已经开始，不能再报名。"), "session_started")

    student_ids = sorted({int(s) for s in student_ids})
    family = family_student_ids(actor)
    if not set(student_ids) <= family:
        raise _err(_("只能为自己的孩子报名。"), "not_own_child")
    students = list(Student.objects.system(reason="the user's own children, checked above").filter(id__in=student_ids, is_active=True).select_related("school_class"))
    if len(students) != len(student_ids):
        raise _err(_("只能为自己的孩子报名。"), "not_own_child")
    if activity.audience == Audience.GUARDIANS and students:
        raise _err(_("本活动仅面向家长，请不要选择孩子。"), "guardians_only")
    if activity.audience == Audience.STUDENTS and include_self:
        raise _err(_("本活动仅面向学生，请只选择孩子。"), "students_only")
    if activity.audience == Audience.STUDENTS and not students:
        raise _err(_("请选择参加的孩子。"), "party_empty")
    if not include_self and not students:
        raise _err(_("请选择参加的人员（本人和/或孩子）。"), "party_empty")
    paths = _audience_paths(activity)
    outside = [s.name for s in students if not _in_audience(s.school_class.path, paths)]
    if outside:
        raise _err(_("%(names)s 不在本活动的面向范围内。") % {"names": "、".join(outside)}, "not_in_audience")
    size = len(students) + (1 if include_self else 0)
    if size > activity.max_party_size:
        raise _err(ngettext("每户最多报名 %(n)d 人。", "每户最多报名 %(n)d 人。", activity.max_party_size) % {"n": activity.max_party_size}, "party_too_large")

    taken = SignUpPerson.objects.system(reason="places taken count every family").filter(session=session, active=True).filter(
        Q(student_id__in=student_ids) | (Q(guardian=guardian) if include_self else Q(pk__in=[]))
    )
    taken_students = set(taken.exclude(student_id=None).values_list("student_id", flat=True))
    taken_self = include_self and taken.filter(guardian=guardian).exists()
    if taken_students or taken_self:
        names = ([guardian.name] if taken_self else []) + [s.name for s in students if s.pk in taken_students]
        raise _err(_("%(names)s 已报名本场次，无需重复报名。") % {"names": "、".join(names)}, "already_signed_up")

    fits = session.capacity is None or session.places_taken + size <= session.capacity
    signup = SignUp.objects.create(
        session=session, activity=activity, district_id=activity.district_id, guardian=guardian,
        status=SignUpStatus.CONFIRMED if fits else SignUpStatus.WAITLISTED, party_size=size, note=note[:200],
        confirmed_at=now if fits else None,
    )
    persons = [SignUpPerson(signup=signup, session=session, student=s) for s in students]
    if include_self:
        persons.append(SignUpPerson(signup=signup, session=session, guardian=guardian))
    try:
        with transaction.atomic():
            SignUpPerson.objects.bulk_create(persons)
    except IntegrityError as exc:  # another guardian of the same child signed them up a moment ago
        raise _err(_("有成员已由家人报名本场次，请刷新后查看。"), "already_signed_up") from exc
    if fits:
        session.places_taken += size
        session.save(update_fields=["places_taken"])
    record("activities.signup", actor=actor, model="activities.signup", object_id=signup.pk,
           changes={"session": session.pk, "status": signup.status, "party_size": size})
    return signup


def _promote_waitlist(session: ActivitySession) -> list[SignUp]:
    """Move waitlisted parties up in order of sign-up while places are free; the caller holds the lock.
    A party that does not fit is skipped (parties are all or nothing), a smaller later one may fit."""
    promoted = []
    now = timezone.now()
    for signup in SignUp.objects.system(reason="promotion from the waiting list is for every family").filter(session=session, status=SignUpStatus.WAITLISTED).order_by("created_at", "id"):
        if session.capacity is not None and session.places_taken + signup.party_size > session.capacity:
            continue
        signup.status = SignUpStatus.CONFIRMED
        signup.confirmed_at = now
        signup.save(update_fields=["status", "confirmed_at"])
        session.places_taken += signup.party_size
        promoted.append(signup)
    if promoted:
        session.save(update_fields=["places_taken"])
        ids = [s.pk for s in promoted]
        transaction.on_commit(lambda: notify_promoted(ids))
    return promoted


@transaction.atomic
def signup_cancel(*, actor, signup_id: int) -> list[SignUp]:
    """Cancel a sign-up or leave the waitlist; freed places go to the waitlist at once. Returns those promoted."""
    try:
        signup = SignUp.objects.visible_to(actor).select_related("activity").get(pk=signup_id)
    except (SignUp.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    scope = get_scope(actor)
    own = signup.guardian_id == scope.guardian_id or SignUpPerson.objects.system(reason="is the sign-up the user's family's").filter(
        signup=signup, student_id__in=family_student_ids(actor)
    ).exists()
    if not own and not can_manage(actor, signup.activity):
        raise Http404
    session = ActivitySession.objects.system(reason="own or managed sign-up, checked above").select_for_update().get(pk=signup.session_id)
    signup = SignUp.objects.system(reason="own or managed sign-up, checked above").select_for_update().get(pk=signup.pk)
    if signup.status == SignUpStatus.CANCELLED:
        raise _err(_("该报名已取消。"), "already_cancelled")
    if session.starts_at <= timezone.now() and not can_manage(actor, signup.activity):
        raise _err(_("活动已开始，不能取消报名。"), "session_started")
    was_confirmed = signup.status == SignUpStatus.CONFIRMED
    signup.status = SignUpStatus.CANCELLED
    signup.cancelled_at = timezone.now()
    signup.cancelled_by = actor
    signup.save(update_fields=["status", "cancelled_at", "cancelled_by"])
    SignUpPerson.objects.system(reason="own or managed sign-up, checked above").filter(signup=signup).update(active=False)
    promoted = []
    if was_confirmed:
        session.places_taken -= signup.party_size
        session.save(update_fields=["places_taken"])
        promoted = _promote_waitlist(session)
    record("activities.signup_cancel", actor=actor, model="activities.signup", object_id=signup.pk,
           changes={"was": "confirmed" if was_confirmed else "waitlisted", "promoted": [s.pk for s in promoted]})
    return promoted


# --- Check-in -------------------------------------------------------------------------------------


@dataclass
class CheckInResult:
    guardians: list[int] = field(default_factory=list)
    students: list[int] = field(default_factory=list)
    already: int = 0
    skipped: list[str] = field(default_factory=list)  # names left out: they hold no place in the session

    @property
    def created(self) -> int:
        return len(self.guardians) + len(self.students)


def _checkin_rows(*, actor, session: ActivitySession, guardian_ids, student_ids, method: str) -> CheckInResult:
    """Insert one CheckIn per person in a single INSERT … ON CONFLICT DO NOTHING RETURNING: the unique
    constraints drop anyone already checked in (also by a parallel request a moment ago), and the
    database says exactly who is new, so nothing downstream is credited twice."""
    result = CheckInResult()
    guardian_ids, student_ids = sorted({int(g) for g in guardian_ids}), sorted({int(s) for s in student_ids})
    wanted = [(g, None) for g in guardian_ids] + [(None, s) for s in student_ids]
    if not wanted:
        return result
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    by = actor.pk if actor is not None and actor.pk else None
    table = CheckIn._meta.db_table
    params = []
    for g, s in wanted:
        params += [session.pk, session.activity_id, session.district_id, g, s, method, by, now]
    with connection.cursor() as cur:
        cur.execute(sql.checkin_insert(table, len(wanted)), params)
        inserted = cur.fetchall()
    result.guardians = sorted(g for g, _s in inserted if g is not None)
    result.students = sorted(s for _g, s in inserted if s is not None)
    result.already = len(wanted) - len(inserted)
    if result.created:
        _credit(session=session, guardian_ids=result.guardians, student_ids=result.students)
        record("activities.checkin", actor=actor, model="activities.activitysession", object_id=session.pk,
               changes={"method": method, "guardians": result.guardians, "students": result.students})
    return result


def _credit(*, session: ActivitySession, guardian_ids, student_ids) -> None:
    """Attendance → the ledger: family participation rows and, for guardians, learning hours (both once-only)."""
    activity = session.activity
    day = timezone.localdate(session.starts_at)
    # A guardian who came means their family took part: every child of theirs is credited.
    # (Two indexed look-ups: an OR across the join would make PostgreSQL scan every student.)
    family_ids = set(student_ids)
    if guardian_ids:
        family_ids |= set(Guardianship.objects.system(reason="the checked-in family's children").filter(guardian_id__in=guardian_ids).values_list("student_id", flat=True))
    session_key = ledger_registry.key(SESSION_SOURCE, session.pk)
    ledger.credit(source=session_key, district_id=activity.district_id, day=day, student_ids=family_ids,
                  channel=ParticipationSource.ACTIVITY, kind=activity.kind)
    if guardian_ids and activity.credits_hours:
        # The hours go under the source the activity names (a lesson it runs), else under the session.
        ledger.credit(
            source=activity.credit_source or session_key,
            district_id=activity.district_id,
            day=day,
            hours=activity.credited_hours,
            guardian_ids=guardian_ids,
            title=activity.title,
            school_id=_school_id_of(activity.owner_unit),
        )


def _school_id_of(unit: OrgUnit) -> int | None:
    if unit.kind == Kind.SCHOOL:
        return unit.pk
    if unit.kind in (Kind.GRADE, Kind.CLASS):
        ids = unit.ancestor_ids
        return OrgUnit.objects.system(reason="the school above a unit").filter(id__in=ids, kind=Kind.SCHOOL).values_list("id", flat=True).first()
    return None


def checkin_self(*, actor, session_id: int, include_self: bool, student_ids) -> CheckInResult:
    """A guardian checks in (after a valid scan, which the caller verified) with the children they pick."""
    with transaction.atomic():
        try:
            session = (
                ActivitySession.objects.visible_to(actor).select_related("activity__owner_unit", "activity__lesson").get(pk=session_id)
            )
        except (ActivitySession.DoesNotExist, ValueError, TypeError) as exc:
            raise Http404 from exc
        guardian_id = get_scope(actor).guardian_id
        if not guardian_id:
            raise _err(_("只有已激活的家长账号可以报名和签到。"), "not_guardian")
        activity = session.activity
        if activity.status != ActivityStatus.PUBLISHED:
            raise _err(_("该活动未发布或已取消，不能签到。"), "not_published")
        if not session.in_checkin_window():
            raise _err(_("不在签到时间内（活动开始前30分钟至结束后30分钟）。"), "outside_window")
        student_ids = sorted({int(s) for s in student_ids})
        family = family_student_ids(actor)
        if not set(student_ids) <= family:
            raise _err(_("只能为自己的孩子签到。"), "not_own_child")
        if not include_self and not student_ids:
            raise _err(_("请选择签到的人员。"), "party_empty")
        if activity.audience == Audience.STUDENTS and include_self:
            include_self = False  # the adult brings the child; only the child is a participant
        if activity.audience == Audience.GUARDIANS and student_ids:
            student_ids = []
        skipped: list[str] = []
        if activity.requires_signup:
            booked = list(
                SignUpPerson.objects.system(reason="the places booked for the checked-in family").filter(session=session, active=True, signup__status=SignUpStatus.CONFIRMED)
                .filter(Q(guardian_id=guardian_id) | Q(student_id__in=family))
                .values_list("student_id", flat=True)
            )
            if not booked:
                raise _err(_("您家未报名本场次（或仍在候补），请联系组织者现场登记。"), "not_signed_up")
            # A child without a place is left out (the page does not offer them); the rest of the party checks in.
            missing = set(student_ids) - set(booked)
            if missing:
                skipped = sorted(Student.objects.system(reason="the names of the user's own children left out").filter(id__in=missing).values_list("name", flat=True))
                student_ids = [s for s in student_ids if s not in missing]
                if not include_self and not student_ids:
                    raise _err(_("%(names)s 未报名本场次，请联系组织者现场登记。") % {"names": "、".join(skipped)}, "not_signed_up")
        result = _checkin_rows(
            actor=actor, session=session, guardian_ids=[guardian_id] if include_self else [], student_ids=student_ids,
            method=CheckInMethod.QR,
        )
        result.skipped = skipped
        return result


def checkin_candidates(*, actor, session: ActivitySession) -> tuple[dict[int, str], dict[int, str]]:
    """Who an organiser may check in: everyone in a sign-up party, and the audience families the
    organiser can see (a class teacher's class, a school admin's school). Returns ({guardian_id: name},
    {student_id: name})."""
    activity = session.activity
    guardians: dict[int, str] = {}
    students: dict[int, str] = {}
    persons = SignUpPerson.objects.visible_to(actor).filter(session=session, signup__in=SignUp.objects.visible_to(actor).active()).values(
        "guardian_id", "guardian__name", "student_id", "student__name"
    )
    for p in persons:
        if p["guardian_id"]:
            guardians[p["guardian_id"]] = p["guardian__name"]
        else:
            students[p["student_id"]] = p["student__name"]
    paths = _audience_paths(activity)
    if paths:
        roster = Student.objects.visible_to(actor).under(*paths).filter(is_active=True)
        if activity.audience != Audience.GUARDIANS:
            students.update(dict(roster.values_list("id", "name")[:3000]))
        if activity.audience != Audience.STUDENTS:
            links = Guardianship.objects.visible_to(actor).filter(student__in=roster, guardian__is_active=True).values_list("guardian_id", "guardian__name")
            guardians.update(dict(links[:6000]))
    return guardians, students


@transaction.atomic
def checkin_manual(*, actor, session: ActivitySession, guardian_ids, student_ids, method: str = CheckInMethod.MANUAL) -> CheckInResult:
    """The organiser checks people in by hand or from a paper list afterwards (no time window)."""
    if not can_manage(actor, session.activity):
        raise PermissionDenied(_("您无权为该活动签到。"))
    if session.activity.status != ActivityStatus.PUBLISHED:
        raise _err(_("该活动未发布或已取消，不能签到。"), "not_published")
    if timezone.now() < session.checkin_opens_at:
        raise _err(_("活动尚未开始，不能提前签到。"), "too_early")
    guardian_ids = {int(g) for g in guardian_ids}
    student_ids = {int(s) for s in student_ids}
    if not guardian_ids and not student_ids:
        raise _err(_("请勾选要签到的人员。"), "party_empty")
    allowed_g, allowed_s = checkin_candidates(actor=actor, session=session)
    if not guardian_ids <= set(allowed_g) or not student_ids <= set(allowed_s):
        raise _err(_("所选人员不在本活动的报名名单或面向范围内。"), "not_candidate")
    return _checkin_rows(actor=actor, session=session, guardian_ids=guardian_ids, student_ids=student_ids, method=method)


_SPLIT = re.compile(r"[\s,，、;；]+")


def bulk_match(*, actor, session: ActivitySession, text: str) -> dict:
    """Match a pasted paper list (names separated by lines, commas or 、) against the candidates.
    Returns matched guardian/student ids and the names that matched nobody or several people."""
    guardians, students = checkin_candidates(actor=actor, session=session)
    by_name: dict[str, list[tuple[str, int]]] = {}
    for gid, name in guardians.items():
        by_name.setdefault(name.strip(), []).append(("guardian", gid))
    for sid, name in students.items():
        by_name.setdefault(name.strip(), []).append(("student", sid))
    out = {"guardians": set(), "students": set(), "unknown": [], "ambiguous": []}
    for name in [n for n in _SPLIT.split(text or "") if n]:
        hits = by_name.get(name, [])
        if not hits:
            out["unknown"].append(name)
        elif len(hits) > 1:
            out["ambiguous"].append(name)
        else:
            kind, pid = hits[0]
            out["guardians" if kind == "guardian" else "students"].add(pid)
    return out


# --- Afterwards: ratings, photos, minutes -------------------------------------------------------------


def attended_family(actor, activity: Activity) -> bool:
    """The user or their family (a co-guardian, or a child) was checked in at the activity."""
    guardian_id = get_scope(actor).guardian_id
    if CheckIn.objects.system(reason="the user's own family's check-ins").filter(activity=activity, guardian_id=guardian_id).exists():
        return True
    sessions = activity.sessions.values_list("id", flat=True)
    return ledger.took_part(sources=[ledger_registry.key(SESSION_SOURCE, s) for s in sessions], student_ids=family_student_ids(actor))


@transaction.atomic
def rating_save(*, actor, activity: Activity, stars: int, comment: str) -> ActivityRating:
    guardian = guardian_of(actor)
    if not attended_family(actor, activity):
        raise _err(_("签到参加活动后才能评价。"), "not_attended")
    if not 1 <= int(stars) <= 5:
        raise _err(_("请选择1到5星。"), "stars_invalid")
    rating, _created = ActivityRating.objects.system(reason="the guardian's own rating").update_or_create(
        activity=activity, guardian=guardian,
        defaults={"stars": int(stars), "comment": comment.strip()[:1000], "district_id": activity.district_id},
    )
    record("activities.rate", actor=actor, model="activities.activityrating", object_id=rating.pk, changes={"stars": rating.stars})
    return rating


@transaction.atomic
def photos_add(*, actor, activity: Activity, files, caption: str = "") -> list[ActivityPhoto]:
    if not can_manage(actor, activity):
        raise PermissionDenied(_("只有组织者可以上传活动相册。"))
    if not files:
        raise _err(_("请选择要上传的照片。"), "no_files")
    checked = [photo_check(f) for f in files]  # all checked before any is stored
    photos = [
        ActivityPhoto.objects.create(
            activity=activity, district_id=activity.district_id, image=stored(data, kind), content_type=kind, caption=caption[:120],
            uploaded_by=actor,
        )
        for kind, data in checked
    ]
    record("activities.photos", actor=actor, model="activities.activity", object_id=activity.pk, changes={"added": len(photos)})
    return photos


@transaction.atomic
def minutes_save(*, actor, activity: Activity, text: str) -> Activity:
    if not can_manage(actor, activity):
        raise PermissionDenied(_("您无权编辑会议纪要。"))
    if not activity.is_meeting:
        raise _err(_("只有家长会、开放日、接待日需要会议纪要。"), "not_meeting")
    activity.minutes = text.strip()
    activity.minutes_by = actor
    activity.minutes_at = timezone.now()
    activity.save(update_fields=["minutes", "minutes_by", "minutes_at", "updated_at"])
    record("activities.minutes", actor=actor, model="activities.activity", object_id=activity.pk, changes={"length": len(activity.minutes)})
    return activity


# --- Campaigns (打卡) ----------------------------------------------------------------------------


@transaction.atomic
def campaign_create(*, actor, owner_unit: OrgUnit, audience_units, kind: str, title: str, description: str, starts_on, ends_on) -> Campaign:
    if not can(actor, MANAGE, owner_unit):
        raise PermissionDenied(_("您无权以该单位名义发起打卡活动。"))
    audience_units = list(audience_units)
    if not audience_units:
        raise _err(_("请至少选择一个面向的班级、年级或学校。"), "audience_required")
    for unit in audience_units:
        if not reach.may_target(actor, unit):
            raise _err(_("“%(unit)s”不在您的管理范围内，不能作为活动对象。") % {"unit": unit.name}, "audience_out_of_scope")
    if not title.strip():
        raise _err(_("请填写打卡主题。"), "title_required")
    if not starts_on or not ends_on or ends_on < starts_on:
        raise _err(_("结束日期不能早于开始日期。"), "dates_invalid")
    campaign = Campaign.objects.create(
        district_id=owner_unit.district_id, owner_unit=owner_unit, kind=kind, title=title.strip(), description=description.strip(),
        starts_on=starts_on, ends_on=ends_on, created_by=actor,
    )
    campaign.audience_units.set(audience_units)
    record("activities.campaign_create", actor=actor, model="activities.campaign", object_id=campaign.pk, changes={"kind": kind})
    return campaign


@transaction.atomic
def campaign_post_create(*, actor, campaign: Campaign, student_id: int, text: str, files=()) -> CampaignPost:
    guardian = guardian_of(actor)
    if int(student_id) not in family_student_ids(actor):
        raise _err(_("只能为自己的孩子打卡。"), "not_own_child")
    student = Student.objects.system(reason="the user's own child, checked above").select_related("school_class").get(pk=student_id)
    if not _in_audience(student.school_class.path, _audience_paths(campaign)):
        raise _err(_("%(name)s 不在本次打卡活动的范围内。") % {"name": student.name}, "not_in_audience")
    today = timezone.localdate()
    if not campaign.is_running(today):
        raise _err(_("打卡时间为 %(a)s 至 %(b)s。") % {"a": campaign.starts_on, "b": campaign.ends_on}, "campaign_closed")
    text = (text or "").strip()
    if not text:
        raise _err(_("请写几句话记录这次活动。"), "text_required")
    if len(text) > 2000:
        raise _err(_("打卡内容请控制在2000字以内。"), "text_too_long")
    files = list(files)
    if len(files) > MAX_PHOTOS_PER_POST:
        raise _err(ngettext("每次最多上传 %(n)d 张照片。", "每次最多上传 %(n)d 张照片。", MAX_PHOTOS_PER_POST) % {"n": MAX_PHOTOS_PER_POST}, "too_many_photos")
    checked = [photo_check(f) for f in files]
    post = CampaignPost.objects.create(
        campaign=campaign, district_id=campaign.district_id, student=student, guardian=guardian, school_class=student.school_class,
        class_path=student.school_class.path, text=text,
    )
    for kind, data in checked:
        CampaignPhoto.objects.create(post=post, image=stored(data, kind), content_type=kind)
    ledger.credit(source=ledger_registry.key(CAMPAIGN_SOURCE, campaign.pk), district_id=student.district_id, day=today,
                  student_ids=[student.pk], channel=ParticipationSource.CAMPAIGN, kind=campaign.kind)
    record("activities.campaign_post", actor=actor, model="activities.campaignpost", object_id=post.pk,
           changes={"campaign": campaign.pk, "photos": len(checked)})
    return post


def _check_teacher(actor, post: CampaignPost) -> None:
    if not can(actor, MANAGE, post):
        raise PermissionDenied(_("只有本班老师可以点评。"))


@transaction.atomic
def post_comment(*, actor, post: CampaignPost, text: str) -> CampaignComment:
    _check_teacher(actor, post)
    text = (text or "").strip()
    if not text:
        raise _err(_("请填写评语。"), "text_required")
    comment = CampaignComment.objects.create(post=post, author=actor, text=text[:500])
    record("activities.post_comment", actor=actor, model="activities.campaignpost", object_id=post.pk, changes={"comment": comment.pk})
    return comment


@transaction.atomic
def post_feature(*, actor, post: CampaignPost, featured: bool) -> CampaignPost:
    _check_teacher(actor, post)
    post.featured = featured
    post.featured_by = actor if featured else None
    post.save(update_fields=["featured", "featured_by"])
    record("activities.post_feature", actor=actor, model="activities.campaignpost", object_id=post.pk, changes={"featured": featured})
    return post
