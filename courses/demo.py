"""Demo content for the parent school: two courses per school (offline lessons held as activity sessions,
a live lesson) and topics its guardians proposed and voted for. Added through the same services the
pages use; a district that already has courses is left as it is."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from accounts.models import RoleAssignment
from accounts.roles import Role
from courses import services as cs
from courses.models import Course, CourseMode
from org.models import Kind, OrgUnit
from people.models import Guardianship


@transaction.atomic
def build(district: OrgUnit, *, seed: int = 2026, out=print) -> dict:
    if Course.objects.filter(district=district).exists():
        out("courses demo: already present, nothing added")
        return {}
    rnd = random.Random(seed)
    counts = {"courses": 0}
    for school in OrgUnit.objects.filter(district=district, kind=Kind.SCHOOL, is_active=True).order_by("path")[:4]:
        ra = RoleAssignment.objects.filter(role=Role.SCHOOL_ADMIN, unit=school, is_active=True, student__isnull=True).select_related("user").first()
        if ra is None:
            continue
        counts["courses"] += _school_courses(school, ra.user, rnd)
    out(f"courses demo: {counts}")
    return counts


def _school_courses(school: OrgUnit, admin, rnd) -> int:
    now = timezone.now()
    basic = cs.course_create(actor=admin, owner_unit=school, title="家庭教育基础：好习惯养成", category="basic", stage=school.stage or "",
                             mode=CourseMode.OFFLINE, lecturer_name="区家庭教育讲师团 李老师", description="每学期面向全体家长开设。")
    for i, title in enumerate(["习惯养成的关键期", "亲子沟通的技巧"], start=1):
        lesson = cs.lesson_create(actor=admin, course=basic, title=title, order=i, hours="2",
                                  intro="观看3分钟情景短片：早晨出门前的“拖拉大战”。", discussion="分组讨论：孩子拖拉时，我们通常怎么做？",
                                  summary="总结三条做法：提前约定、给选择、及时肯定。", homework="本周记录孩子的一个好习惯，并写下您的鼓励方式。",
                                  extension="微课：《5分钟学会正向激励》")
        cs.lesson_schedule(actor=admin, lesson=lesson, starts_at=now + dt.timedelta(days=7 * i), ends_at=now + dt.timedelta(days=7 * i, hours=2),
                           capacity=120, venue="学校报告厅")
    cs.course_publish(actor=admin, course=basic)
    topic = cs.course_create(actor=admin, owner_unit=school, title="专题：青春期前的心理准备", category="topic", stage=school.stage or "",
                             mode=CourseMode.LIVE, lecturer_name="心理教师 王老师")
    live_start = (now + dt.timedelta(days=3)).replace(hour=19, minute=30, second=0, microsecond=0)
    cs.lesson_create(actor=admin, course=topic, title="情绪从哪里来", hours="1.5", live_url="https://meeting.tencent.com/dm/demo-gongyu",
                     intro="观看短片：孩子考试失利后的一个晚上。", discussion="直播连线：孩子发脾气时，家长先做什么？",
                     summary="情绪没有好坏，先接纳再引导。", homework="本周和孩子一起画一张“情绪温度计”。",
                     starts_at=live_start, ends_at=live_start + dt.timedelta(hours=1, minutes=30), capacity=300)
    cs.course_publish(actor=admin, course=topic)
    # Demand: topics proposed and voted by the school's guardians.
    links = list(Guardianship.objects.filter(student__school=school, guardian__user__isnull=False).select_related("guardian__user")[:60])
    topics = []
    for link, title in zip(links[:4], ["隔代教育中如何与老人沟通", "孩子沉迷手机怎么办", "如何陪孩子做作业不发火", "二孩家庭的公平"], strict=False):
        try:
            topics.append(cs.topic_propose(actor=link.guardian.user, school=school, stage=school.stage or "", title=title))
        except Exception:  # noqa: BLE001,S112
            continue
    for link in links[4:]:
        for t in topics:
            if rnd.random() < 0.4:
                try:
                    cs.topic_vote(actor=link.guardian.user, topic=t)
                except Exception:  # noqa: BLE001,S112 — already voted through a sibling's guardian
                    continue
    return 2
