"""The test world and notices the browser test needs, built in the database Django is set up with.

Loaded by tests/browser_world.py once Django is set up (these modules import models).
"""

import datetime as dt
import json
import sys

from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone

from notices import services
from notices.audience import resolve
from tests.world import PASSWORD, build_world


def main() -> int:
    # The hash records its own iteration count, so the server verifies these cheap hashes as usual;
    # building two dozen accounts at the production cost would only slow the test down.
    PBKDF2PasswordHasher.iterations = 1000

    world = build_world()
    notices = build_notices(world)
    out = {
        "password": PASSWORD,
        "phones": {key: user.phone for key, user in world.users.items()},
        "ids": {key: obj.pk for bag in (world.units, world.students) for key, obj in bag.items()},
        "names": {key: obj.name for bag in (world.units, world.students) for key, obj in bag.items()},
        "notices": notices,
    }
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


def build_notices(world) -> dict[str, int]:
    """Notices sent as the teachers would (notices.services, the fan-out job run to the end), some of them
    already read by families: a class's homework (read by parent_a1), a consent form (unread), and a
    school-wide notice read by grandparent_a1 and parent_a2 (who also confirmed it)."""

    def send(actor, unit, title, body, **kwargs):
        audience = resolve(actor, unit_ids=[unit.pk], include_guardians=True, staff_roles=[], student_nos=[])
        notice = services.notice_create(actor=actor, title=title, body=body, audience=audience, **kwargs)
        # Huey runs the job on commit in the test settings; run whatever is still queued, as the worker would.
        services.run_pending_jobs(notice)
        return notice

    homework = send(
        world.teacher_a1, world.class_a1, "本周家庭作业安排", "语文：背诵第12课。\n数学：完成单元练习。"
    )
    consent = send(
        world.teacher_a1,
        world.class_a1,
        "春季研学活动家长同意书",
        "学校计划组织学生赴区博物馆研学，统一乘坐大巴往返。请选择“同意”或“不同意”，如有晕车等情况请注明。",
        reply_kind="consent",
        reply_deadline=timezone.now() + dt.timedelta(days=3),
    )
    safety = send(
        world.school_admin_a,
        world.school_a,
        "关于寒假安全教育的通知",
        "请家长做好寒假期间孩子的防溺水、交通和用火用电安全教育。",
        priority="important",
        reply_kind="confirm",
    )
    # Staff receive notices too: the roles that only receive (subject, psychology and health teachers,
    # grid workers) find one waiting for their reply, as in the demo.
    staff = resolve(world.district_admin, unit_ids=[world.district.pk], include_guardians=False,
                    staff_roles=["subject_teacher", "psych_teacher", "health_vp", "street_staff", "grid_worker"], student_nos=[])
    meeting = services.notice_create(actor=world.district_admin, title="全区家校社协同育人工作推进会通知",
                                     body="下周二下午2:30在区教育局召开推进会，请确认收到。", audience=staff, reply_kind="confirm")
    services.run_pending_jobs(meeting)
    services.notice_open(user=world.parent_a1, notice_id=homework.pk)
    services.notice_open(user=world.grandparent_a1, notice_id=safety.pk)
    services.notice_open(user=world.parent_a2, notice_id=safety.pk)
    services.notice_reply(user=world.parent_a2, notice_id=safety.pk, choice="confirm")
    return {"homework": homework.pk, "consent": consent.pk, "safety": safety.pk, "staff_meeting": meeting.pk}

