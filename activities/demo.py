"""Demo content for activities and campaigns (the parent school's is courses/demo.py), added to an existing
demo district through the same services the pages use (so the figures on the coverage page are real).
Idempotent: a district that already has activities is left as it is."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import RoleAssignment
from accounts.roles import Role
from activities import services
from activities.models import Activity, ActivityKind, Audience, CampaignKind
from activities.testing import png_upload
from org.models import Kind, OrgUnit
from people.models import Guardianship
from periods.services import school_year_ensure, school_year_start_for


def _holder(role: str, unit: OrgUnit):
    ra = RoleAssignment.objects.filter(role=role, unit=unit, is_active=True, student__isnull=True).select_related("user").first()
    return ra.user if ra else None


def _families(cls: OrgUnit) -> list[tuple]:
    """(guardian user, guardian id, student id) for activated guardians of a class, one per child."""
    seen, out = set(), []
    for link in Guardianship.objects.filter(student__school_class=cls, student__is_active=True, guardian__user__isnull=False).select_related(
        "guardian__user"
    ).order_by("student_id", "-is_primary"):
        if link.student_id in seen:
            continue
        seen.add(link.student_id)
        out.append((link.guardian.user, link.guardian_id, link.student_id))
    return out


def _move(session, start: dt.datetime, hours: float = 2) -> None:
    session.starts_at = start
    session.ends_at = start + dt.timedelta(hours=hours)
    session.save(update_fields=["starts_at", "ends_at"])


@transaction.atomic
def build(district: OrgUnit, *, seed: int = 2026, out=print) -> dict:
    if Activity.objects.filter(district=district).exists():
        out("activities demo: already present, nothing added")
        return {}
    rnd = random.Random(seed)
    now = timezone.now()
    school_year_ensure(district=district, start_year=school_year_start_for(timezone.localdate()))
    schools = list(OrgUnit.objects.filter(district=district, kind=Kind.SCHOOL, is_active=True).order_by("path")[:4])
    counts = {"activities": 0, "checkins": 0, "signups": 0, "posts": 0}
    partner = OrgUnit.objects.filter(district=district, kind=Kind.PARTNER).first()
    community = OrgUnit.objects.filter(district=district, kind=Kind.COMMUNITY).first()
    for n, school in enumerate(schools):
        admin = _holder(Role.SCHOOL_ADMIN, school)
        classes = list(OrgUnit.objects.filter(path__startswith=school.path, kind=Kind.CLASS, is_active=True).order_by("path"))
        if admin is None or not classes:
            continue
        # A whole-school lecture and a class parent meeting earlier this term, with paper-list check-ins.
        lecture = services.activity_create(
            actor=admin, owner_unit=school, audience_units=[school], kind=ActivityKind.PUBLIC_LECTURE, title="公益大讲堂：读懂孩子的情绪",
            venue="学校报告厅", audience=Audience.GUARDIANS, requires_signup=False, credited_hours=Decimal("2"), announce=False,
            co_organisers=[c for c in (community,) if c], sessions=[(now + dt.timedelta(days=1), now + dt.timedelta(days=1, hours=2), None)],
        )
        services.activity_submit(actor=admin, activity=lecture)
        ls = lecture.sessions.get()
        _move(ls, now - dt.timedelta(days=20 + n))
        for cls in classes:
            teacher = _holder(Role.CLASS_TEACHER, cls) or admin
            fams = _families(cls)
            took = [f for f in fams if rnd.random() < 0.55]
            if took:
                counts["checkins"] += services.checkin_manual(actor=admin, session=ls, guardian_ids=[f[1] for f in took], student_ids=[],
                                                              method="bulk").created
            meeting = services.activity_create(
                actor=teacher, owner_unit=cls, audience_units=[cls], kind=ActivityKind.PARENT_MEETING, title=f"{cls.name}期中家长会",
                venue=f"{cls.name}教室", audience=Audience.GUARDIANS, requires_signup=False, credited_hours=Decimal("1.5"), announce=False,
                sessions=[(now + dt.timedelta(days=1), now + dt.timedelta(days=1, hours=1), None)],
            )
            services.activity_submit(actor=teacher, activity=meeting)
            ms = meeting.sessions.get()
            _move(ms, now - dt.timedelta(days=10), 1.5)
            came = [f for f in fams if rnd.random() < 0.8]
            if came:
                counts["checkins"] += services.checkin_manual(actor=teacher, session=ms, guardian_ids=[f[1] for f in came], student_ids=[],
                                                              method="bulk").created
            services.minutes_save(actor=teacher, activity=meeting, text="1. 班主任通报期中学习情况\n2. 家长代表发言\n3. 家长建议：增加亲子阅读活动，下月开展“共读一本书”")
            counts["activities"] += 2
        # A family activity for the first class that starts soon: sign-ups open, the QR page is live.
        cls = classes[0]
        teacher = _holder(Role.CLASS_TEACHER, cls) or admin
        reading = services.activity_create(
            actor=teacher, owner_unit=cls, audience_units=[cls], kind=ActivityKind.PARENT_CHILD, title="亲子阅读会：共读一本书",
            venue="学校图书馆", audience=Audience.FAMILIES, requires_signup=True, max_party_size=3, description="家长和孩子一起阅读、分享读后感。",
            sessions=[(now + dt.timedelta(minutes=20), now + dt.timedelta(hours=2), 40)],
        )
        services.activity_submit(actor=teacher, activity=reading)
        rs = reading.sessions.get()
        fams = _families(cls)
        for user, _gid, sid in fams[: max(1, len(fams) * 2 // 3)]:
            try:
                services.signup_create(actor=user, session_id=rs.pk, include_self=True, student_ids=[sid])
                counts["signups"] += 1
            except Exception:  # noqa: BLE001,S112 — a sibling already signed up by the other guardian
                continue
        if fams:
            half = fams[: len(fams) // 3]
            services.checkin_manual(actor=teacher, session=rs, guardian_ids=[f[1] for f in half], student_ids=[f[2] for f in half])
        counts["activities"] += 1
        if n == 0 and partner is not None:
            tour = services.activity_create(
                actor=teacher, owner_unit=cls, audience_units=[cls], kind=ActivityKind.STUDY_TOUR, title="博物馆研学：家乡的历史",
                venue=partner.name, off_campus=True, co_organisers=[partner], safety_plan="乘大巴往返，每车2名教师随行；配备急救包；全程清点人数。",
                responsible_name=teacher.name, responsible_contact="0571-88000000", audience=Audience.STUDENTS, announce=False,
                sessions=[(now + dt.timedelta(days=14), now + dt.timedelta(days=14, hours=4), 45)],
            )
            services.activity_submit(actor=teacher, activity=tour)  # waits for the school admin's approval
            counts["activities"] += 1
        # This month's family day, with posts from some families.
        today = timezone.localdate()
        campaign = services.campaign_create(
            actor=admin, owner_unit=school, audience_units=[school], kind=CampaignKind.FAMILY_DAY, title=f"{today.month}月家庭日：家务小能手",
            description="和孩子一起完成一项家务，拍照记录并写下感受。", starts_on=today.replace(day=1), ends_on=today + dt.timedelta(days=20),
        )
        for cls in classes[:3]:
            for user, _gid, sid in _families(cls):
                if rnd.random() < 0.45:
                    services.campaign_post_create(actor=user, campaign=campaign, student_id=sid, text=rnd.choice([
                        "今天和孩子一起包饺子，孩子学会了擀皮。", "孩子主动整理了自己的房间，还帮奶奶择菜。", "一起打扫阳台，孩子说劳动最光荣！",
                    ]), files=[png_upload("demo.png")] if rnd.random() < 0.3 else [])
                    counts["posts"] += 1
        out(f"activities demo: school {n + 1}/{len(schools)} done; so far {counts}")  # progress on a first start
    out(f"activities demo: {counts}")
    return counts
