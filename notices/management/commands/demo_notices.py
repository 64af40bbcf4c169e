"""manage.py demo_notices: add notices (通知公告) with read receipts and replies, and a few consultations
(问题咨询) and micro-guides (微指南), to the demo district (after build_demo).

Everything goes through the product's services, as a teacher and the guardians would: notices.services
creates each notice and its fan-out job, the job is run here to the end (the same job_run the worker runs;
a copy the worker picks up later finds it done and skips it), and guardians open and reply through
notice_open / notice_reply. Only the clock is moved afterwards — publication, receipt and read times are
spread over the past days, as activities.demo moves its sessions — so that the inbox and the report look
lived in. Safe to run again: a notice whose sender already sent one with the same title is left alone (and
so are its reads), and the same holds for the consultations, guides and the expert."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from core.demo import DemoCommand
from org.models import Kind, OrgUnit

SEED = 2026
# A district-wide notice of a big demo district would take minutes of single opens: beyond this many
# readers per notice, the rest stay unread (the default 3,000-student district stays well below).
MAX_OPENS_PER_NOTICE = 20_000
# Replies go through notices.services one by one (each writes a reply row and an audit record, and may
# answer for the household): ~10 ms each on SQLite, so the first demo start is capped at this many per
# notice. Reads are marked in one statement per notice, exactly as opening does (read time, further classes).
MAX_REPLIES_PER_NOTICE = 400
TIME_SLOTS = 48  # reads are spread over this many moments between publication and now


@dataclass(frozen=True)
class Spec:
    key: str
    sender: str  # demo account key (accounts.demo.DEMO_ACCOUNTS)
    unit: str  # "district", "school" or "class": the sender's own unit
    title: str
    body: str
    priority: str = "normal"
    reply_kind: str = "none"
    # Published at this local time (hour, minute) that many days ago — the day before when that is not yet
    # half an hour past — or, without `at`, simply `ago` before now.
    at: tuple[int, int] | None = None
    days_ago: int = 0
    ago: dt.timedelta = dt.timedelta(hours=1)
    read_share: float = 0.7  # share of the notice's guardian receipts read
    reply_share: float = 0.0  # share of the readers who reply (the family's first reply counts for all)
    deadline_days: int | None = None  # replies close at 18:00 that many days ahead
    publish_in: dt.timedelta | None = None  # scheduled: published this far ahead
    withdraw_reason: str = ""
    include_guardians: bool = True
    staff_roles: tuple[str, ...] = ()  # also (or only) to the staff holding these roles in the unit


SPECS = [
    Spec(
        key="safety",
        sender="district_admin",
        unit="district",
        title="关于寒假安全教育的通知",
        priority="important",
        reply_kind="confirm",
        at=(10, 0),
        days_ago=3,
        read_share=0.66,
        reply_share=0.6,
        body=(
            "<p>各位家长：</p>"
            "<p>寒假即将开始，为让孩子度过一个安全、健康、快乐的假期，请家长切实履行监护责任，重点做好以下几点：</p>"
            "<ol><li><strong>防溺水</strong>：不到河塘、水库等无人看管的水域玩耍、游泳、滑冰。</li>"
            "<li><strong>交通安全</strong>：不满12周岁不骑自行车上路，乘车系好安全带，不乘坐无证、超载车辆。</li>"
            "<li><strong>消防与用电</strong>：教育孩子不玩火、不燃放违规烟花爆竹，安全使用取暖设备。</li>"
            "<li><strong>网络安全</strong>：合理安排上网时间，警惕网络诈骗和不良信息。</li>"
            "<li><strong>心理健康</strong>：多陪伴、多沟通，发现孩子情绪异常及时联系班主任或心理老师。</li></ol>"
            "<p>请阅读后点击“确认收到”。祝全区家庭寒假平安！</p>"
        ),
    ),
    Spec(
        key="consent",
        sender="school_admin",
        unit="school",
        title="春季研学活动家长同意书",
        reply_kind="consent",
        at=(16, 20),
        days_ago=1,
        deadline_days=4,
        read_share=0.68,
        reply_share=0.8,
        body=(
            "<p>尊敬的家长：</p>"
            "<p>学校计划组织学生赴区博物馆开展“家乡的历史”春季研学活动，具体安排如下：</p>"
            "<table><tbody><tr><th>时间</th><td>下周三 8:00—15:30</td></tr>"
            "<tr><th>交通</th><td>统一乘坐大巴往返，每车2名教师随行</td></tr>"
            "<tr><th>费用</th><td>免费（午餐自带）</td></tr>"
            "<tr><th>安全</th><td>全程购买意外险，配备急救包，分组清点人数</td></tr></tbody></table>"
            "<p>请在截止时间前选择“同意”或“不同意”，如有过敏、晕车等情况请在意见栏中注明。</p>"
        ),
    ),
    Spec(
        key="homework",
        sender="class_teacher",
        unit="class",
        title="本周家庭作业安排",
        at=(7, 40),
        read_share=0.66,
        body=(
            "<p>各位家长好，本周家庭作业安排如下，请督促孩子按时完成，不必额外加量：</p>"
            "<ul><li>语文：背诵第12课，完成《练习册》第30—31页。</li>"
            "<li>数学：口算每天一页，周四前完成单元练习。</li>"
            "<li>英语：每天跟读课文10分钟。</li>"
            "<li>亲子阅读：每天20分钟，周五在班级群分享一句读后感。</li></ul>"
            "<p>书面作业控制在60分钟以内，如孩子超时较多请告诉我。</p>"
        ),
    ),
    Spec(
        key="storm",
        sender="school_admin",
        unit="school",
        title="暴雨红色预警：明日停课通知",
        priority="emergency",
        ago=dt.timedelta(minutes=40),
        read_share=0.8,
        body=(
            "<p>各位家长：</p>"
            "<p>区气象台已发布暴雨红色预警。根据区教育局要求，<strong>明天全校停课一天</strong>，学生居家学习，"
            "复课时间另行通知。</p>"
            "<p>请家长看护好孩子，不要外出、不要靠近河道和低洼地带。停课期间学习任务由班主任在班级群发布。</p>"
        ),
    ),
    Spec(
        key="withdrawn",
        sender="class_teacher",
        unit="class",
        title="周五家长开放日安排",
        at=(12, 5),
        days_ago=2,
        read_share=0.45,
        withdraw_reason="因天气原因，家长开放日改期举行，具体时间另行通知，给您带来不便敬请谅解。",
        body="<p>本周五上午9:00—11:00举行家长开放日，欢迎家长进班听课，请携带本人身份证件从东门入校。</p>",
    ),
    Spec(
        # To staff only: subject and psychology teachers, health vice-principals, street and grid workers
        # receive notices too, and find this one waiting for their 确认收到 on first log-in.
        key="staff_meeting",
        sender="district_admin",
        unit="district",
        title="全区家校社协同育人工作推进会通知",
        reply_kind="confirm",
        at=(9, 30),
        days_ago=1,
        include_guardians=False,
        staff_roles=("school_admin", "class_teacher", "subject_teacher", "psych_teacher", "health_vp", "street_staff", "grid_worker"),
        body=(
            "<p>各学校、街道工作站、社区：</p>"
            "<p>定于下周二下午2:30在区教育局三楼会议室召开全区家校社协同育人工作推进会，内容包括本学期责任清单完成情况、"
            "家长学校课程安排和社区实践基地对接。请各单位负责同志准时参会，并点击“确认收到”。</p>"
        ),
    ),
    Spec(
        key="scheduled",
        sender="class_teacher",
        unit="class",
        title="期末家长会通知",
        publish_in=dt.timedelta(days=2),
        reply_kind="confirm",
        body=(
            "<p>各位家长：本学期期末家长会定于下周五下午4:00在本班教室召开，内容包括期末学习情况、寒假安排和"
            "家长交流，请每个家庭至少一位家长参加。请点击“确认收到”。</p>"
        ),
    ),
]

CONSENT_COMMENTS = [
    "孩子有些晕车，请老师帮忙安排前排座位。",
    "孩子对花生过敏，午餐会自备。",
    "谢谢老师安排！",
    "请注意防晒。",
]
DISAGREE_COMMENTS = ["当天家里有事，不能参加。", "孩子身体不适，这次就不去了。"]


def _demo_user(key: str):
    from accounts.demo import DEMO_PHONE
    from accounts.models import User

    return User.objects.filter(phone=DEMO_PHONE[key], is_active=True).first()


def _own_unit(user, kind: str) -> OrgUnit | None:
    from accounts.models import RoleAssignment

    ra = (
        RoleAssignment.objects.filter(user=user, is_active=True, student__isnull=True, unit__kind=kind)
        .select_related("unit")
        .order_by("id")
        .first()
    )
    return ra.unit if ra else None


class Builder:
    def __init__(self, district: OrgUnit, *, seed: int, out):
        self.district = district
        self.rnd = random.Random(seed)
        self.out = out
        self.now = timezone.now()
        self.counts = defaultdict(int)

    # --- notices ---------------------------------------------------------------------------------------

    def senders(self) -> dict[str, tuple]:
        """(user, unit) of each sending demo account, or raise when the district is not the demo one."""
        found = {}
        for key, kind in (
            ("district_admin", Kind.DISTRICT),
            ("school_admin", Kind.SCHOOL),
            ("class_teacher", Kind.CLASS),
        ):
            user = _demo_user(key)
            unit = _own_unit(user, kind) if user else None
            if unit is None or (unit.district_id or unit.pk) != self.district.pk:
                raise CommandError("没有找到示范区的演示账号（1390000xxxx），请先运行 build_demo。")
            found[key] = (user, unit)
        return found

    def demo_guardians(self) -> dict[str, object]:
        from people.models import Guardian

        out = {}
        for key in ("guardian", "grandparent"):
            user = _demo_user(key)
            guardian = Guardian.objects.filter(user=user).first() if user else None
            if guardian is not None:
                out[key] = guardian
        return out

    def notices(self) -> None:
        from notices import services
        from notices.audience import resolve
        from notices.models import Notice

        senders = self.senders()
        guardians = self.demo_guardians()
        skip_households = {g.household_id for g in guardians.values() if g.household_id}
        for number, spec in enumerate(SPECS, 1):
            user, unit = senders[spec.sender]
            if Notice.objects.filter(sender=user, title=spec.title).exists():
                self.counts["notices_present"] += 1
                continue
            self._progress(number, spec)
            audience = resolve(
                user, unit_ids=[unit.pk], include_guardians=spec.include_guardians, staff_roles=list(spec.staff_roles),
                student_nos=[],
            )
            notice = services.notice_create(
                actor=user,
                title=spec.title,
                body=spec.body,
                audience=audience,
                priority=spec.priority,
                reply_kind=spec.reply_kind,
                reply_deadline=self._local(spec.deadline_days, 18, 0) if spec.deadline_days else None,
                publish_at=self._publish_at(spec),
            )
            self.counts["notices"] += 1
            if spec.publish_in is not None:
                continue  # scheduled: the worker publishes it when its time comes
            services.run_pending_jobs(notice)
            published = self._published(spec)
            self._backdate(notice, published)
            read_ids = self._read(notice, spec, skip_households)
            read_ids |= self._demo_family_reads(notice, spec, guardians)
            self._spread(notice, published, read_ids)
            if spec.priority == "emergency":
                self._escalate(notice)
            if spec.withdraw_reason:
                services.notice_withdraw(actor=user, notice=notice, reason=spec.withdraw_reason)

    def _progress(self, number: int, spec: Spec) -> None:
        """A line per notice (with the counts so far): the first demo start spends about a minute here."""
        done = ", ".join(f"{k} {v}" for k, v in self.counts.items() if k != "notices_present") or "nothing yet"
        seconds = (timezone.now() - self.now).total_seconds()
        self.out(f"notices demo: notice {number}/{len(SPECS)} ({spec.key}); so far {done} ({seconds:.0f}s)")

    def _local(self, days: int, hour: int, minute: int) -> dt.datetime:
        """That local time of the day `days` from today (negative: in the past)."""
        day = timezone.localtime(self.now) + dt.timedelta(days=days)
        return day.replace(hour=hour, minute=minute, second=0, microsecond=0)

    def _publish_at(self, spec: Spec) -> dt.datetime | None:
        if spec.publish_in is None:
            return None
        return self._local(spec.publish_in.days, 8, 0)

    def _published(self, spec: Spec) -> dt.datetime:
        if spec.at is None:
            return self.now - spec.ago
        when = self._local(-spec.days_ago, *spec.at)
        while when > self.now - dt.timedelta(minutes=30):
            when -= dt.timedelta(days=1)
        return when

    def _awake(self, start: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """The waking hours (07:00–22:30 local) between start and now: when families read."""
        spans = []
        day = timezone.localtime(start).replace(hour=0, minute=0, second=0, microsecond=0)
        while day < self.now:
            a = max(start, day.replace(hour=7))
            b = min(self.now, day.replace(hour=22, minute=30))
            if b > a:
                spans.append((a, b))
            day = timezone.localtime(day + dt.timedelta(days=1, hours=2)).replace(hour=0)
        return spans or [(start, max(self.now, start + dt.timedelta(minutes=5)))]

    @staticmethod
    def _moment(spans, share: float) -> dt.datetime:
        total = sum((b - a for a, b in spans), dt.timedelta())
        left = total * share
        for a, b in spans:
            if left <= b - a:
                return a + left
            left -= b - a
        return spans[-1][1]

    def _backdate(self, notice, published: dt.datetime) -> None:
        from messaging.models import Delivery
        from notices.models import Notice, Receipt

        Notice.objects.filter(pk=notice.pk).update(publish_at=published, published_at=published)
        Receipt.objects.filter(notice=notice).update(created_at=published)
        Delivery.objects.filter(source=f"notice:{notice.pk}").update(created_at=published)
        notice.refresh_from_db()

    def _read(self, notice, spec: Spec, skip_households: set[int]) -> set[int]:
        """Guardians with an account open the notice (and some reply) until about read_share of the receipts
        are read. Guardians without an account cannot open it: their share stays unread, as in life."""
        from accounts.models import User
        from notices import services
        from notices.models import Receipt

        rows = list(
            Receipt.objects.filter(notice=notice, guardian__isnull=False)
            .order_by("id")
            .values_list("id", "household_id", "guardian__user_id")
        )
        if not rows:
            return set()
        candidates = [r for r in rows if r[2] is not None and r[1] not in skip_households]
        want = min(len(candidates), round(spec.read_share * len(rows)), MAX_OPENS_PER_NOTICE)
        chosen = sorted(self.rnd.sample(candidates, want)) if want else []
        read_ids = {receipt_id for receipt_id, _household, _user in chosen}
        # What notice_open does for each of them, in one statement: the read time, copied to further classes.
        Receipt.objects.filter(pk__in=read_ids, read_at__isnull=True).update(read_at=timezone.now())
        services.sync_extra_classes(read_ids)
        self.counts["opened"] += len(read_ids)
        if spec.reply_kind != "none":
            repliers = [user_id for _receipt, _household, user_id in chosen if self.rnd.random() < spec.reply_share]
            users = User.objects.in_bulk(repliers[:MAX_REPLIES_PER_NOTICE])
            for user_id in repliers[:MAX_REPLIES_PER_NOTICE]:
                # Not when the household has already answered for them (a per-household notice).
                if not Receipt.objects.filter(notice=notice, guardian__user_id=user_id, replied_at__isnull=False).exists():
                    self._reply(users[user_id], notice, spec)
        return read_ids

    def _reply(self, user, notice, spec: Spec) -> None:
        from notices import services

        if spec.reply_kind == "confirm":
            choice, comment = "confirm", ""
        elif self.rnd.random() < 0.9:
            choice = "agree"
            comment = self.rnd.choice(CONSENT_COMMENTS) if self.rnd.random() < 0.2 else ""
        else:
            choice, comment = "disagree", self.rnd.choice(DISAGREE_COMMENTS)
        services.notice_reply(user=user, notice_id=notice.pk, choice=choice, comment=comment)
        self.counts["replied"] += 1

    def _demo_family_reads(self, notice, spec: Spec, guardians: dict) -> set[int]:
        """The memorable guardian log-ins get a known state: the district notice read and confirmed and the
        homework read, the consent form and the emergency waiting — something to try in the demo."""
        from django.http import Http404

        from notices import services

        plan = {"guardian": {"safety": "confirm", "homework": None}, "grandparent": {"homework": None}}
        read = set()
        for key, guardian in guardians.items():
            if spec.key not in plan.get(key, {}):
                continue
            user = guardian.user
            try:
                receipt = services.notice_open(user=user, notice_id=notice.pk)
            except Http404:  # not addressed to this family
                continue
            read.add(receipt.pk)
            choice = plan[key][spec.key]
            if choice and receipt.replied_at is None:
                services.notice_reply(user=user, notice_id=notice.pk, choice=choice)
        return read

    def _spread(self, notice, published: dt.datetime, read_ids: set[int]) -> None:
        """Reads happened over the time since publication (most of them early), a family's together."""
        from notices import services
        from notices.models import Receipt, Reply

        if not read_ids:
            return
        spans = self._awake(published)
        rows = Receipt.objects.filter(pk__in=read_ids).order_by("id").values_list("id", "household_id")
        slot_of_family: dict[object, int] = {}
        slots: dict[int, list[int]] = defaultdict(list)
        for receipt_id, household in rows:
            family = household or ("r", receipt_id)
            if family not in slot_of_family:
                slot_of_family[family] = min(TIME_SLOTS - 1, int(TIME_SLOTS * self.rnd.random() ** 2))
            slots[slot_of_family[family]].append(receipt_id)
        # Replies by household: the other guardians' receipts carry the replier's time.
        replied = Receipt.objects.filter(notice=notice, replied_at__isnull=False)
        family_slot = {h: s for h, s in slot_of_family.items() if not isinstance(h, tuple)}
        for slot, ids in sorted(slots.items()):
            at = self._moment(spans, (slot + 0.5) / TIME_SLOTS)
            read_at = max(published + dt.timedelta(minutes=1), min(at, self.now - dt.timedelta(minutes=1)))
            reply_at = min(read_at + dt.timedelta(minutes=3), self.now)
            Receipt.objects.filter(pk__in=ids).update(read_at=read_at)
            households = [h for h, s in family_slot.items() if s == slot]
            same = replied.filter(pk__in=ids) | replied.filter(household_id__in=households)
            Reply.objects.filter(receipt__in=same.values("pk")).update(created_at=reply_at)
            # Guardians the household replied for read it with the reply (a reply implies a read).
            replied.filter(household_id__in=households).exclude(pk__in=ids).update(read_at=reply_at)
            same.update(replied_at=reply_at)
        all_ids = sorted(read_ids | set(replied.values_list("pk", flat=True)))
        for start in range(0, len(all_ids), 500):
            services.sync_extra_classes(all_ids[start : start + 500])

    def _escalate(self, notice) -> None:
        """An unread emergency after its time: the worker's SMS re-send, run now so the demo shows it done."""
        from notices import services
        from notices.models import JobKind, NoticeJob

        if services.escalate_due() or NoticeJob.objects.filter(notice=notice, kind=JobKind.ESCALATE).exists():
            services.run_pending_jobs(notice)

    # --- consultations and micro-guides --------------------------------------------------------------------

    def homeschool(self) -> None:
        """Two answered consultations (to the class teacher, to the expert pool), one still waiting, and two
        micro-guides; through homeschool.services. Skipped quietly where the demo lacks an account."""
        from homeschool import services as hs
        from homeschool.models import Consultation, Expert, MicroGuide, Target, Topic

        district_admin, teacher = _demo_user("district_admin"), _demo_user("class_teacher")
        guardian, grandparent, lecturer = (
            _demo_user("guardian"),
            _demo_user("grandparent"),
            _demo_user("volunteer"),
        )
        demo_class = _own_unit(teacher, Kind.CLASS) if teacher else None
        if (
            lecturer
            and district_admin
            and not Expert.objects.filter(district=self.district, user=lecturer).exists()
        ):
            try:
                hs.expert_add(
                    actor=district_admin,
                    district=self.district,
                    phone=lecturer.phone,
                    title="区家庭教育讲师团 · 亲子沟通",
                )
                self.counts["experts"] += 1
            except (PermissionDenied, ValidationError) as exc:
                self.out(f"notices demo: expert pool skipped ({exc})")

        def child_of(user, *, in_class=None):
            from people.models import Student

            qs = Student.objects.filter(guardianships__guardian__user=user, is_active=True).order_by("id")
            if in_class is not None:
                qs = qs.filter(school_class=in_class)
            return qs.first()

        def ask(user, student, target, topic, subject, body, answerer, answer):
            if user is None or student is None:
                return
            if Consultation.objects.filter(asked_by=user, subject=subject).exists():
                return
            try:
                consultation = hs.consultation_ask(
                    actor=user, student=student, target=target, subject=subject, body=body, topic=topic
                )
                self.counts["consultations"] += 1
                if answerer is not None and answer:
                    hs.consultation_reply(actor=answerer, consultation=consultation, body=answer)
                    self.counts["consultation_answers"] += 1
            except (PermissionDenied, ValidationError) as exc:
                self.out(f"notices demo: consultation skipped ({exc})")

        ask(
            grandparent,
            child_of(grandparent, in_class=demo_class),
            Target.TEACHER,
            Topic.TALK,
            "孩子回家不愿意说学校里的事，怎么办？",
            "我是孩子奶奶，平时接送孩子。最近问孩子在学校怎么样，总是一句“还行”就不说了，想请老师帮忙看看孩子在学校情况如何。",
            teacher,
            "奶奶您好！孩子在校表现不错，上课也积极发言。回家后可以换个问法，比如“今天谁让你笑了？”"
            "“午饭吃了什么？”这样具体的小问题更容易打开话匣子。我这周也会找孩子聊一聊，有情况随时联系。",
        )
        older = None
        if guardian is not None:
            from people.models import Student

            kids = list(
                Student.objects.filter(guardianships__guardian__user=guardian, is_active=True).select_related(
                    "school_class__parent"
                )
            )
            kids.sort(key=lambda s: s.school_class.parent.grade_year if s.school_class.parent else 0)
            older = kids[-1] if kids else None
        expert = (
            lecturer
            if lecturer
            and Expert.objects.filter(district=self.district, user=lecturer, is_active=True).exists()
            else None
        )
        ask(
            guardian,
            older,
            Target.EXPERT,
            Topic.SCREEN,
            "孩子周末玩手机停不下来，怎么约定比较好？",
            "孩子上初中后周末经常玩手机到很晚，一说就发脾气。想请专家指导一下怎么和孩子约定使用时间。",
            expert,
            "您好！建议和孩子一起商量、写下“手机使用约定”：每天用多长时间、几点以后手机放到客厅充电、"
            "完成作业后再使用。约定由孩子参与制定，执行时家长以身作则；孩子做到了及时肯定，没做到按约定处理，"
            "避免当场争吵。也可以一起安排周末的户外活动，减少无聊时刻。",
        )
        if demo_class is not None:
            from people.models import Guardian

            asker = (
                Guardian.objects.filter(
                    guardianships__student__school_class=demo_class, user__isnull=False, user__is_active=True
                )
                .exclude(user__in=[u for u in (guardian, grandparent) if u])
                .order_by("id")
                .first()
            )
            if asker is not None:
                ask(
                    asker.user,
                    child_of(asker.user, in_class=demo_class),
                    Target.TEACHER,
                    Topic.HABITS,
                    "孩子作业经常写到晚上九点多，正常吗？",
                    "最近孩子每天作业都要写到九点多，中间也会走神。想了解一下是作业量大还是孩子效率的问题。",
                    None,
                    "",
                )

        def guide(author, unit, title, summary, body, topic, stage=""):
            if (
                author is None
                or unit is None
                or MicroGuide.objects.filter(author=author, title=title).exists()
            ):
                return
            try:
                hs.guide_publish(
                    actor=author,
                    author_unit=unit,
                    title=title,
                    body=body,
                    topic=topic,
                    stage=stage,
                    summary=summary,
                )
                self.counts["guides"] += 1
            except (PermissionDenied, ValidationError) as exc:
                self.out(f"notices demo: micro-guide skipped ({exc})")

        guide(
            expert,
            self.district,
            "寒假亲子安全五件事",
            "防溺水、交通、用火用电、网络、情绪：每件事一句话讲给孩子听。",
            "<ol><li>水边不独行：没有大人陪同不去河边、塘边。</li><li>过马路看灯、走斑马线。</li>"
            "<li>不玩火，出门前检查电器。</li><li>陌生人网上要钱要照片，一律告诉爸妈。</li>"
            "<li>心情不好说出来，家人一直都在。</li></ol>",
            Topic.SAFETY,
        )
        guide(
            teacher,
            demo_class,
            "陪孩子写作业不发火的三个办法",
            "先定时间、再陪开头、最后只看结果。",
            "<p><strong>一、先定时间</strong>：和孩子约定开始和结束时间，用计时器代替催促。</p>"
            "<p><strong>二、陪好开头</strong>：前十分钟陪在旁边，帮孩子理清要做什么，然后离开。</p>"
            "<p><strong>三、只看结果</strong>：写完再检查，错题让孩子自己找原因，不逐题盯。</p>",
            Topic.HABITS,
        )

    def build(self) -> dict:
        from notices.models import Notice, Receipt

        self.notices()
        self.out("notices demo: consultations and micro-guides")
        self.homeschool()
        ours = Notice.objects.filter(district=self.district, title__in=[s.title for s in SPECS])
        receipts = Receipt.objects.filter(notice__in=ours, guardian__isnull=False)
        total, read = receipts.count(), receipts.filter(read_at__isnull=False).count()
        summary = {
            "notices": ours.count(),
            "receipts": total,
            "read": read,
            "read_pct": round(100 * read / total, 1) if total else 0,
            "replied": receipts.filter(replied_at__isnull=False).count(),
        }
        added = {k: v for k, v in self.counts.items() if k != "notices_present"}
        if not added:
            self.out(f"notices demo: already present, nothing added ({summary})")
        else:
            self.out(f"notices demo: added {dict(added)}; now {summary}")
        return {"added": added, **summary}


class Command(DemoCommand):  # refuses under production settings
    help = "Add demo notices (with reads and replies), consultations and micro-guides to the demo district."

    def add_arguments(self, parser):
        parser.add_argument("--district", help="district code (default: the first district)")
        parser.add_argument(
            "--seed", type=int, default=SEED, help="random seed: the same seed reads the same receipts"
        )

    def handle(self, *args, district=None, seed=SEED, **options):
        qs = OrgUnit.objects.filter(kind=Kind.DISTRICT)
        target = qs.filter(code=district).first() if district else qs.order_by("id").first()
        if target is None:
            raise CommandError("没有找到区县，请先运行 build_demo。")
        with transaction.atomic():  # all or nothing: an interrupted run leaves no half-read notice behind
            Builder(target, seed=seed, out=self.stdout.write).build()
