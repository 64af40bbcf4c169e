"""The demo district: one realistic 教联体 experiment zone, generated from a seed.

Upper units (district, streets, communities, departments, partners, schools, grades) go through
org.services.unit_create, so they are built and audited like any other unit. Classes, people,
accounts, roles and consents are bulk-inserted in chunks (the 100,000-student district would take
hours row by row); because bulk inserts bypass save() and the audit signals, this module sets the
digest columns itself and writes one summary audit row for the whole build.

Nothing here prints or logs a name, phone or ID number: progress lines carry counts only. The one
place phones appear is the demo log-in file (settings.VAR_DIR / "demo_logins.json").
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import accumulate

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from faker import Faker
from faker.providers.person.zh_CN import Provider as ZhPerson

from accounts.models import RoleAssignment, User
from accounts.roles import Role
from audit.services import record
from core.crypto import digest
from org.models import Kind, OrgUnit, PartnerCategory, Stage, new_invite_code
from org.services import unit_create
from people.models import (
    Consent,
    ConsentPurpose,
    Guardian,
    Guardianship,
    Household,
    Relation,
    Student,
)
from people.validators import make_id_number
from periods.services import school_year_ensure, school_year_start_for

DEMO_PASSWORD = "gongyu-demo"
DISTRICT_NAME = "示范区"
# The district's own 6-digit region code: most children were born here, so their ID numbers start with it.
DISTRICT_CODE = "330110"
RULES_VERSION = "2026.1"
BATCH = 2000
FAMILY_CHUNK = 2500

# One memorable log-in per role. The whole 1390000xxxx block is reserved: generated numbers never use it.
RESERVED_BLOCK = (13900000000, 13900010000)
DEMO_ACCOUNTS = [
    # (key, phone, role, label override)
    ("district_admin", "13900000001", Role.DISTRICT_ADMIN, None),
    ("department_liaison", "13900000002", Role.DEPARTMENT_LIAISON, None),
    ("street_staff", "13900000003", Role.STREET_STAFF, None),
    ("school_admin", "13900000004", Role.SCHOOL_ADMIN, None),
    ("class_teacher", "13900000005", Role.CLASS_TEACHER, None),
    ("subject_teacher", "13900000006", Role.SUBJECT_TEACHER, None),
    ("psych_teacher", "13900000007", Role.PSYCH_TEACHER, None),
    ("health_vp", "13900000008", Role.HEALTH_VP, None),
    ("guardian", "13900000009", Role.GUARDIAN, "家长（两个孩子）"),
    ("grandparent", "13900000010", Role.GUARDIAN, "家长（祖辈）"),
    ("grid_worker", "13900000011", Role.GRID_WORKER, None),
    ("partner_contact", "13900000012", Role.PARTNER_CONTACT, None),
    ("volunteer", "13900000013", Role.VOLUNTEER, None),
]
DEMO_PHONE = {key: phone for key, phone, _role, _label in DEMO_ACCOUNTS}

# --- Names of places -------------------------------------------------------------------------------
STREETS = [
    "城关街道", "新桥镇", "东湖街道", "青石镇", "西山街道", "柳溪镇", "南园街道", "白鹭镇",
    "北塘街道", "桃源镇", "文昌街道", "龙泉镇", "金沙镇", "梅岭镇", "长乐镇", "凤鸣镇",
]
COMMUNITY_WORDS = [
    "幸福", "和平", "光明", "建设", "团结", "新民", "永安", "春华", "翠园", "锦绣", "阳光", "朝阳", "育才",
    "桂花", "枫林", "丽景", "滨江", "花园", "康乐", "安居", "怡和", "长青", "紫荆", "银杏", "书香", "明珠",
    "松涛", "荷塘", "紫薇", "东苑", "西苑", "南湖", "北辰", "文华", "景秀", "玉泉", "金桥", "华庭", "青年",
]
VILLAGE_WORDS = [
    "李家", "王庄", "张湾", "陈家坝", "石门", "柳树湾", "上河", "下塘", "大坪", "黄泥岗", "杨柳", "梨园",
    "马家", "周村", "河口", "高桥", "竹林", "双井", "沙田", "枣林", "水口", "前进", "红星", "五星", "东升",
    "长岭", "花溪", "白石", "青山", "松林", "新塘", "古楼", "桥头", "龙湾", "牛角", "凤凰", "泉水", "罗家",
]
DEPARTMENTS = [
    ("民政局", "MZ"), ("妇联", "FL"), ("卫健局", "WJ"), ("公安分局", "GA"), ("司法局", "SF"), ("团委", "TW"),
    ("关工委", "GGW"),
]
PARTNERS = [
    ("示范区博物馆", PartnerCategory.MUSEUM, None),
    ("革命烈士纪念馆", PartnerCategory.MUSEUM, None),
    ("示范区图书馆", PartnerCategory.LIBRARY, None),
    ("示范区科技馆", PartnerCategory.SCIENCE, None),
    ("示范区人民医院", PartnerCategory.HOSPITAL, None),
    ("示范区妇幼保健院", PartnerCategory.HOSPITAL, None),
    ("阳光家庭教育服务中心", PartnerCategory.NGO, None),
    ("青少年心理健康服务中心", PartnerCategory.NGO, None),
    ("绿源食品有限公司（职业体验基地）", PartnerCategory.ENTERPRISE, None),
    ("示范区青少年宫", PartnerCategory.OTHER, None),
    # Farms belong to towns: a partner may sit under a street.
    ("{town}现代农业示范园（劳动教育基地）", PartnerCategory.FARM, 1),
    ("{town}农耕文化园", PartnerCategory.FARM, 3),
]

# --- Schools, grades, classes ----------------------------------------------------------------------
CN = "一二三四五六七八九十"
# The first eight schools cover every stage, so that even the smallest demo is mixed.
FIRST_STAGES = [
    Stage.PRIMARY, Stage.JUNIOR, Stage.KINDERGARTEN, Stage.PRIMARY,
    Stage.NINE_YEAR, Stage.SENIOR, Stage.PRIMARY, Stage.KINDERGARTEN,
]
LATER_STAGES = [
    Stage.PRIMARY, Stage.KINDERGARTEN, Stage.PRIMARY, Stage.JUNIOR, Stage.KINDERGARTEN,
    Stage.PRIMARY, Stage.SENIOR, Stage.JUNIOR, Stage.NINE_YEAR, Stage.KINDERGARTEN,
]
SCHOOL_NAMES = {
    Stage.KINDERGARTEN: ("中心幼儿园", "幼儿园"),
    Stage.PRIMARY: ("实验小学", "小学"),
    Stage.JUNIOR: ("中学", "中学"),
    Stage.SENIOR: ("高级中学", "高级中学"),
    Stage.NINE_YEAR: ("九年一贯制学校", "实验学校"),
}
# First grade_year of each stage: entry year = school year start - (grade_year - first).
STAGE_FIRST_GRADE = {Stage.KINDERGARTEN: -2, Stage.PRIMARY: 1, Stage.JUNIOR: 7, Stage.SENIOR: 10, Stage.NINE_YEAR: 1}
# Kindergartens are smaller: fewer, smaller classes per year group.
STAGE_SIZE = {Stage.KINDERGARTEN: 0.7, Stage.PRIMARY: 1.0, Stage.JUNIOR: 1.1, Stage.SENIOR: 1.2, Stage.NINE_YEAR: 0.8}


def grade_defs(stage: str) -> list[tuple[int, str, str]]:
    """(grade_year, grade name, short form used in class names) for a stage.

    Class names follow one pattern, "<short>(<n>)班": 大(1)班, 三(2)班, 初一(3)班, 高二(1)班; a
    nine-year school calls its upper grades 七(1)班 as such schools do."""
    primary = [(g, f"{CN[g - 1]}年级", CN[g - 1]) for g in range(1, 7)]
    return {
        Stage.KINDERGARTEN: [(-2, "小班", "小"), (-1, "中班", "中"), (0, "大班", "大")],
        Stage.PRIMARY: primary,
        Stage.JUNIOR: [(7, "七年级", "初一"), (8, "八年级", "初二"), (9, "九年级", "初三")],
        Stage.SENIOR: [(10, "高一", "高一"), (11, "高二", "高二"), (12, "高三", "高三")],
        Stage.NINE_YEAR: primary + [(7, "七年级", "七"), (8, "八年级", "八"), (9, "九年级", "九")],
    }[stage]


def cn_number(n: int) -> str:
    if n <= 10:
        return CN[n - 1]
    tens, ones = divmod(n, 10)
    return f"{CN[tens - 1] if tens > 1 else ''}十{CN[ones - 1] if ones else ''}"


SUBJECTS = {
    Stage.KINDERGARTEN: ["配班教师", "保育员", "音乐", "美术"],
    Stage.PRIMARY: ["数学", "英语", "科学", "体育", "音乐", "美术", "道德与法治", "信息科技"],
    Stage.NINE_YEAR: ["数学", "英语", "科学", "物理", "历史", "体育", "道德与法治", "劳动"],
    Stage.JUNIOR: ["数学", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治", "体育"],
    Stage.SENIOR: ["数学", "英语", "物理", "化学", "生物", "历史", "地理", "思想政治", "体育"],
}
CLASS_TEACHER_TITLE = {Stage.KINDERGARTEN: "主班教师"}

# --- People --------------------------------------------------------------------------------------------
BOY_NAMES = (
    "子轩 浩然 宇轩 梓睿 俊熙 皓轩 沐阳 一鸣 思远 承泽 奕辰 宇航 明哲 博文 嘉懿 天佑 锦程 亦凡 子墨 泽宇 "
    "昊然 铭轩 瑞霖 景行 书航 若愚 逸飞 晨阳 煜祺 家豪 俊杰 梓豪 宸睿 辰逸 乐天 文博 致远 安邦 睿哲 "
    "梓晨 浩宇 子豪 嘉乐 云帆 伟 强 杰 涛 磊 鑫 宇 浩 凯 晨"
).split()
GIRL_NAMES = (
    "欣怡 梓涵 雨桐 一诺 梓萱 诗涵 紫萱 可馨 语嫣 思琪 雨欣 梦瑶 佳怡 若汐 芷若 子涵 依诺 沐晴 晨曦 "
    "语桐 思彤 欣妍 可欣 心怡 婉清 悦溪 梦琪 雅琪 嘉怡 安然 书瑶 清妍 雨萱 诗琪 静怡 艺涵 梓琪 佳琪 "
    "佳欣 子琪 雪 婷 琳 悦 萌 颖 倩 瑶"
).split()
# Where families came from (region codes of ID numbers): mostly the district itself, some migrants.
HOME_REGION_SHARE = 0.75
OTHER_REGIONS = ["341221", "411627", "421182", "510722", "522121", "362421", "431121", "130682", "330183", "330109"]
MOBILE_PREFIXES = [
    134, 135, 136, 137, 138, 139, 147, 150, 151, 152, 157, 158, 159, 172, 178, 182, 183, 184, 187, 188, 195,
    197, 198, 130, 131, 132, 145, 155, 156, 166, 175, 176, 185, 186, 196, 133, 149, 153, 173, 177, 180, 181,
    189, 190, 191, 193, 199,
]

# Family compositions and their shares. 留守 families (parents working away) have grandparents only,
# sometimes with the absent father still listed; the shares give ≈1.8 guardians per student.
FAMILY_KINDS = [
    ("parents", 0.60),
    ("parents_grandparent", 0.10),
    ("mother", 0.07),
    ("mother_grandparent", 0.03),
    ("father", 0.03),
    ("grandparents", 0.09),
    ("grandparents_absent_father", 0.03),
    ("grandparent", 0.03),
    ("other", 0.02),
]
LEFT_BEHIND_KINDS = frozenset({"grandparents", "grandparents_absent_father", "grandparent"})
# How likely each kind of guardian has activated an account.
ACTIVATION = {"parent": 0.78, "grandparent": 0.45, "other": 0.5}
SIBLING_PAIR_PROB = 0.095  # ≈ 9.5 % of families end up with two children
OPTIONAL_CONSENTS = [
    # (purpose, per child?, share of activated guardians who gave it)
    (ConsentPurpose.PHOTO_PUBLICITY, False, 0.5),
    (ConsentPurpose.GROWTH_SHARING, True, 0.35),
    (ConsentPurpose.PSYCH_SCREENING, True, 0.3),
    (ConsentPurpose.CARE_FILE, True, 0.08),
    (ConsentPurpose.REFERRAL, True, 0.02),
]
WITHDRAWN_SHARE = 0.04


@dataclass
class ClassInfo:
    id: int
    school_id: int
    street: int
    stage: str
    grade_year: int
    entry_year: int
    size: int = 0


@dataclass
class Family:
    kind: str
    students: list[int]  # indexes into the student plan
    demo: str = ""  # "guardian" / "grandparent" for the families behind the memorable log-ins


@dataclass
class Built:
    district: OrgUnit | None = None
    streets: list[OrgUnit] = field(default_factory=list)
    communities: dict[int, list[OrgUnit]] = field(default_factory=dict)
    departments: list[OrgUnit] = field(default_factory=list)
    partners: list[OrgUnit] = field(default_factory=list)
    schools: list[OrgUnit] = field(default_factory=list)
    school_street: dict[int, int] = field(default_factory=dict)
    classes: list[ClassInfo] = field(default_factory=list)
    left_behind: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))  # street → student ids
    demo_class: int | None = None  # index into classes
    demo_carer_student: int | None = None
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class DemoBuilder:
    def __init__(self, *, students: int = 3000, seed: int = 2026, out=print):
        self.n_students = students
        self.seed = seed
        self.out = out
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.rng = self.fake.random  # every random choice flows from the one seeded generator
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.year = school_year_start_for(self.today)
        self.b = Built()
        self.started = time.monotonic()
        self.password = make_password(DEMO_PASSWORD)  # hashed once, shared by every demo account
        self.used_phones: set[int] = {int(p) for p in User.objects.values_list("phone", flat=True) if p.isdigit()}
        self.used_ids: set[str] = set()
        self.used_codes: set[str] = set(OrgUnit.objects.exclude(invite_code="").values_list("invite_code", flat=True))
        surnames = list(ZhPerson.last_names.items())
        self._surnames = [s for s, _w in surnames]
        self._surname_cum = list(accumulate(w for _s, w in surnames))

    # --- small helpers -----------------------------------------------------------------------------
    def say(self, msg: str) -> None:
        self.out(f"[demo] {msg} ({time.monotonic() - self.started:.1f}s)")

    def surname(self) -> str:
        return self.rng.choices(self._surnames, cum_weights=self._surname_cum)[0]

    def adult_name(self, gender: str, surname: str | None = None) -> str:
        given = ZhPerson.first_names_male if gender == "M" else ZhPerson.first_names_female
        return (surname or self.surname()) + self.rng.choice(given)

    def child_name(self, gender: str, surname: str) -> str:
        return surname + self.rng.choice(BOY_NAMES if gender == "M" else GIRL_NAMES)

    def phone(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) * 100_000_000 + self.rng.randrange(100_000_000)
            if number in self.used_phones or RESERVED_BLOCK[0] <= number < RESERVED_BLOCK[1]:
                continue
            self.used_phones.add(number)
            return str(number)

    def invite_code(self) -> str:
        while True:
            code = new_invite_code()
            if code not in self.used_codes:
                self.used_codes.add(code)
                return code

    def id_number(self, birth: dt.date, gender: str) -> str:
        region = DISTRICT_CODE if self.rng.random() < HOME_REGION_SHARE else self.rng.choice(OTHER_REGIONS)
        while True:
            number = make_id_number(region, birth, self.rng.randrange(500), gender)
            if number[:17] not in self.used_ids:
                self.used_ids.add(number[:17])
                return number

    def address(self) -> str:
        return f"{DISTRICT_NAME}{self.fake.street_name()}{self.rng.randint(1, 399)}号"

    def past(self, days_max: int, days_min: int = 1) -> dt.datetime:
        seconds = self.rng.randint(days_min * 86400, days_max * 86400)
        return self.now - dt.timedelta(seconds=seconds)

    # --- phase 1: the organisation ------------------------------------------------------------------
    def n_schools(self) -> int:
        return max(8, round(self.n_students / 800))

    def build_org(self) -> None:
        b = self.b
        unit = self._unit
        b.district = unit(Kind.DISTRICT, DISTRICT_NAME, None, code=DISTRICT_CODE, address="示范区人民路1号")
        n_schools = self.n_schools()
        n_streets = max(4, min(len(STREETS), round(n_schools / 9)))
        community_words = list(COMMUNITY_WORDS)
        village_words = list(VILLAGE_WORDS)
        self.rng.shuffle(community_words)
        self.rng.shuffle(village_words)
        for i, street_name in enumerate(STREETS[:n_streets]):
            street = unit(Kind.STREET, street_name, b.district, code=f"{DISTRICT_CODE}{i + 1:03d}")
            b.streets.append(street)
            b.communities[i] = []
            is_town = street_name.endswith("镇")
            for j in range(self.rng.randint(3, 6)):
                # A town has its seat (a 社区) and villages; a sub-district has 社区 only.
                if is_town and j > 0:
                    name = (village_words.pop() if village_words else f"{street_name[:-1]}{cn_number(j)}") + "村"
                elif is_town:
                    name = f"{street_name[:-1]}社区"
                else:
                    name = (community_words.pop() if community_words else f"{street_name[:-2]}{cn_number(j + 1)}") + "社区"
                b.communities[i].append(unit(Kind.COMMUNITY, name, street, code=f"{street.code}{j + 1:03d}"))
        for name, code in DEPARTMENTS:
            b.departments.append(unit(Kind.DEPARTMENT, f"{DISTRICT_NAME}{name}", b.district, code=code))
        towns = [s for s in b.streets if s.name.endswith("镇")]
        for k, (name, category, town_index) in enumerate(PARTNERS):
            parent = b.district
            if town_index is not None and towns:
                parent = towns[town_index % len(towns)]
                name = name.format(town=parent.name[:-1])
            b.partners.append(
                unit(Kind.PARTNER, name, parent, code=f"HZ{k + 1:02d}", partner_category=category, address=self.address())
            )
        self.say(f"organisation: {len(b.streets)} streets/towns, {sum(map(len, b.communities.values()))} communities, "
                 f"{len(b.departments)} departments, {len(b.partners)} partners")
        self._build_schools(n_schools)

    def _unit(self, kind, name, parent, **fields) -> OrgUnit:
        self.b.counts[f"units.{kind}"] += 1
        return unit_create(actor=None, kind=kind, name=name, parent=parent, **fields)

    @staticmethod
    def _bulk_units(units: list[OrgUnit]) -> list[OrgUnit]:
        """Insert units whose parents exist, with district, depth and path exactly as unit_create sets them."""
        for u in units:
            u.district_id = u.parent.district_id
            u.depth = u.parent.depth + 1
        OrgUnit.objects.bulk_create(units, batch_size=BATCH)
        for u in units:
            u.path = f"{u.parent.path}{u.pk}/"  # the id is known only after the insert
        OrgUnit.objects.bulk_update(units, ["path"], batch_size=BATCH)
        return units

    def _build_schools(self, n_schools: int) -> None:
        b = self.b
        stages = [FIRST_STAGES[i] if i < len(FIRST_STAGES) else LATER_STAGES[(i - len(FIRST_STAGES)) % len(LATER_STAGES)]
                  for i in range(n_schools)]
        per_street_stage: dict[tuple[int, str], int] = defaultdict(int)
        plans = []  # (school, stage, street index, size factor)
        for i, stage in enumerate(stages):
            street_index = i % len(b.streets)
            street = b.streets[street_index]
            per_street_stage[street_index, stage] += 1
            n = per_street_stage[street_index, stage]
            prefix = street.name[:-2] if street.name.endswith("街道") else street.name[:-1]
            first, later = SCHOOL_NAMES[stage]
            name = f"{prefix}{first}" if n == 1 else f"{prefix}第{cn_number(n)}{later}"
            school = self._unit(Kind.SCHOOL, name, street, code=f"2{DISTRICT_CODE}{i + 1:03d}", stage=stage,
                                address=self.address())
            b.schools.append(school)
            b.school_street[school.pk] = street_index
            plans.append((school, stage, street_index, STAGE_SIZE[stage] * self.rng.uniform(0.6, 1.4)))
        # Enough classes for ≈ 40 students each, shared out by school size; at least one per year
        # group (a tiny demo then has small classes rather than missing grades).
        shares = _apportion(round(self.n_students / 40), [len(grade_defs(st)) * f for _s, st, _i, f in plans])
        # Grades and classes (most of the tree's rows) are bulk-inserted level by level; the summary
        # audit row covers them.
        grade_rows = []  # (school, stage, street index, grade short name, classes in it, grade unit)
        for (school, stage, street_index, _f), share in zip(plans, shares, strict=True):
            grades = grade_defs(stage)
            per_grade = _apportion(max(share, len(grades)), [1] * len(grades))
            for (grade_year, grade_name, short), n_classes in zip(grades, per_grade, strict=True):
                entry_year = self.year - (grade_year - STAGE_FIRST_GRADE[stage])
                grade = OrgUnit(kind=Kind.GRADE, name=grade_name, parent=school, stage=stage, grade_year=grade_year,
                                entry_year=entry_year, sort_order=grade_year)
                grade_rows.append((school, stage, street_index, short, n_classes, grade))
        grade_units = self._bulk_units([row[-1] for row in grade_rows])
        class_rows = []  # (ClassInfo without id, OrgUnit)
        for school, stage, street_index, short, n_classes, grade in grade_rows:
            for no in range(1, n_classes + 1):
                obj = OrgUnit(
                    kind=Kind.CLASS, name=f"{short}({no})班", parent=grade, stage=stage, grade_year=grade.grade_year,
                    class_no=no, entry_year=grade.entry_year, invite_code=self.invite_code(), sort_order=no,
                )
                class_rows.append((ClassInfo(0, school.pk, street_index, stage, grade.grade_year, grade.entry_year), obj))
        self._bulk_units([obj for _i, obj in class_rows])
        for info, obj in class_rows:
            info.id = obj.pk
        b.classes = [info for info, _obj in class_rows]
        b.counts[f"units.{Kind.GRADE}"] += len(grade_units)
        b.counts[f"units.{Kind.CLASS}"] += len(class_rows)
        # Students per class: 35–45 (kindergarten classes are smaller), scaled to exactly the requested total.
        weights = [self.rng.randint(24, 32) if c.stage == Stage.KINDERGARTEN else self.rng.randint(36, 45) for c in b.classes]
        for info, size in zip(b.classes, _apportion(self.n_students, weights), strict=True):
            info.size = size
        stage_set = sorted({s for _sc, s, _i, _f in plans})
        self.say(f"schools: {len(b.schools)} ({', '.join(stage_set)}), {len(b.classes)} classes")

    # --- phase 2: families ------------------------------------------------------------------------
    def plan_families(self) -> tuple[list[int], list[Family]]:
        """Students as class indexes, and families grouping them (some with two children)."""
        b = self.b
        student_class = [ci for ci, info in enumerate(b.classes) for _ in range(info.size)]
        by_street: dict[int, list[int]] = defaultdict(list)
        for s, ci in enumerate(student_class):
            by_street[b.classes[ci].street].append(s)
        kinds = [k for k, _w in FAMILY_KINDS]
        kind_cum = list(accumulate(w for _k, w in FAMILY_KINDS))
        everyone = list(range(len(student_class)))
        self.rng.shuffle(everyone)
        taken = [False] * len(student_class)

        def sibling_for(s: int, candidates: list[int], start: int) -> int | None:
            # Siblings are one to eight school years apart.
            gy = b.classes[student_class[s]].grade_year
            for other in candidates[start:start + 40]:
                if not taken[other] and 1 <= abs(b.classes[student_class[other]].grade_year - gy) <= 8:
                    return other
            return None

        families: list[Family] = []
        for street_index in sorted(by_street):
            pool = by_street[street_index]
            self.rng.shuffle(pool)
            for i, s in enumerate(pool):
                if taken[s]:
                    continue
                taken[s] = True
                members = [s]
                if self.rng.random() < SIBLING_PAIR_PROB:
                    # Mostly both children go to schools of their own street; a quarter of families
                    # send the older one to a school elsewhere in the district (a junior school, say).
                    if self.rng.random() < 0.25:
                        other = sibling_for(s, everyone, self.rng.randrange(len(everyone)))
                    else:
                        other = sibling_for(s, pool, i + 1)
                    if other is not None:
                        taken[other] = True
                        members.append(other)
                kind = self.rng.choices(kinds, cum_weights=kind_cum)[0]
                families.append(Family(kind, members))
        self.rng.shuffle(families)
        self._pick_demo_families(student_class, families)
        return student_class, families

    def _pick_demo_families(self, student_class: list[int], families: list[Family]) -> None:
        """The families behind the memorable guardian log-ins: a mother of two children in two schools
        (primary and junior where possible), and a grandparent raising a child in the same class."""
        b = self.b

        def stages(f):
            return {b.classes[student_class[s]].stage for s in f.students}

        def schools(f):
            return {b.classes[student_class[s]].school_id for s in f.students}

        pairs = [f for f in families if len(f.students) == 2]
        demo = (next((f for f in pairs if stages(f) == {Stage.PRIMARY, Stage.JUNIOR}), None)
                or next((f for f in pairs if len(schools(f)) == 2), None)
                or (pairs[0] if pairs else families[0]))
        demo.kind, demo.demo = "parents", "guardian"
        # The younger child's class is the demo class: its teachers are the demo staff.
        youngest = min(demo.students, key=lambda s: b.classes[student_class[s]].grade_year)
        b.demo_class = student_class[youngest]
        same_class = [f for f in families if f is not demo and len(f.students) == 1 and student_class[f.students[0]] == b.demo_class]
        same_school = [f for f in families if f is not demo and len(f.students) == 1
                       and b.classes[student_class[f.students[0]]].school_id == b.classes[b.demo_class].school_id]
        grand = (same_class or same_school or [f for f in families if f is not demo])[0]
        grand.kind, grand.demo = "grandparents", "grandparent"

    def _members(self, family: Family) -> tuple[str, list[tuple[str, str, str, bool]]]:
        """(child surname, [(relation, gender, name, lives_with)]) for a family of this kind."""
        father_surname = self.surname()
        mother_surname = self.surname()
        father = (Relation.FATHER, "M", self.adult_name("M", father_surname), True)
        mother = (Relation.MOTHER, "F", self.adult_name("F", mother_surname), True)
        grandparents = {
            Relation.PATERNAL_GRANDFATHER: ("M", father_surname),
            Relation.PATERNAL_GRANDMOTHER: ("F", None),
            Relation.MATERNAL_GRANDFATHER: ("M", mother_surname),
            Relation.MATERNAL_GRANDMOTHER: ("F", None),
        }

        def grandparent(relation, lives_with=True):
            gender, surname = grandparents[relation]
            return (relation, gender, self.adult_name(gender, surname), lives_with)

        def one_grandparent(lives_with=True):
            relation = self.rng.choices(list(grandparents), weights=[2, 4, 1, 3])[0]
            return grandparent(relation, lives_with)

        kind = family.kind
        if kind == "parents":
            members = [mother, father]
        elif kind == "parents_grandparent":
            members = [mother, father, one_grandparent(self.rng.random() < 0.6)]
        elif kind == "mother":
            members = [mother]
        elif kind == "mother_grandparent":
            members = [mother, one_grandparent()]
        elif kind == "father":
            members = [father]
        elif kind in ("grandparents", "grandparents_absent_father"):
            side = (Relation.PATERNAL_GRANDMOTHER, Relation.PATERNAL_GRANDFATHER)
            if family.demo != "grandparent" and self.rng.random() < 0.3:
                side = (Relation.MATERNAL_GRANDMOTHER, Relation.MATERNAL_GRANDFATHER)
            members = [grandparent(side[0]), grandparent(side[1])]
            if kind == "grandparents_absent_father":
                members.append((Relation.FATHER, "M", father[2], False))
        elif kind == "grandparent":
            members = [one_grandparent()]
        else:
            gender = self.rng.choice("MF")
            members = [(Relation.OTHER, gender, self.adult_name(gender), True)]
        surname = father_surname if self.rng.random() < 0.92 else mother_surname
        return surname, members

    def _birth(self, grade_year: int) -> dt.date:
        # School entry at six: born 1 Sep (Y-6-g) … 31 Aug (Y-5-g); a few started a year late.
        start = dt.date(self.year - 6 - grade_year, 9, 1)
        if self.rng.random() < 0.03:
            start = start.replace(year=start.year - 1)
        return start + dt.timedelta(days=self.rng.randrange(365))

    def build_people(self) -> None:
        student_class, families = self.plan_families()
        self.say(f"planned {len(student_class)} students in {len(families)} families")
        total = len(families)
        next_report = 0.0
        for start in range(0, total, FAMILY_CHUNK):
            self._insert_families(student_class, families[start:start + FAMILY_CHUNK])
            done = min(start + FAMILY_CHUNK, total) / total
            if done >= next_report or done == 1:
                c = self.b.counts
                self.say(f"people {done:4.0%}: {c['students']} students, {c['guardians']} guardians, {c['users.guardian']} accounts")
                next_report = done + 0.1

    def _insert_families(self, student_class: list[int], families: list[Family]) -> None:
        b, rng, c = self.b, self.rng, self.b.counts
        district_id = b.district.pk
        households = Household.objects.bulk_create([Household(district_id=district_id) for _ in families], batch_size=BATCH)
        students: list[Student] = []
        student_family: list[int] = []
        guardian_rows = []  # (family index, relation, gender, name, lives_with, phone, activated_at)
        for fi, family in enumerate(families):
            surname, members = self._members(family)
            for s in family.students:
                info = b.classes[student_class[s]]
                gender = "M" if rng.random() < 0.52 else "F"
                birth = self._birth(info.grade_year)
                idn = self.id_number(birth, gender)
                students.append(Student(
                    district_id=district_id, school_id=info.school_id, school_class_id=info.id,
                    name=self.child_name(gender, surname), gender=gender, birth_date=birth,
                    student_no="G" + idn, id_number=idn, id_digest=digest(idn),
                ))
                student_family.append(fi)
            for k, (relation, gender, name, lives_with) in enumerate(members):
                group = "parent" if relation in (Relation.FATHER, Relation.MOTHER) else (
                    "other" if relation == Relation.OTHER else "grandparent")
                phone = self.phone()
                activated = rng.random() < ACTIVATION[group]
                if family.demo and k == 0:
                    phone, activated = DEMO_PHONE[family.demo], True
                activated_at = self.past(300, 2) if activated else None  # under rules 2026.1
                guardian_rows.append((fi, relation, gender, name, lives_with, phone, activated_at))
        Student.objects.bulk_create(students, batch_size=BATCH)
        family_students: dict[int, list[Student]] = defaultdict(list)
        for st, fi in zip(students, student_family, strict=True):
            family_students[fi].append(st)
        for fi, family in enumerate(families):
            if family.kind in LEFT_BEHIND_KINDS:
                for st in family_students[fi]:
                    b.left_behind[b.school_street[st.school_id]].append(st.pk)
                    if family.demo == "grandparent":
                        b.demo_carer_student = st.pk
        users = [
            User(phone=phone, name=name, password=self.password, date_joined=at, password_changed_at=at)
            for _fi, _rel, _g, name, _lw, phone, at in guardian_rows if at is not None
        ]
        User.objects.bulk_create(users, batch_size=BATCH)
        user_ids = iter(u.pk for u in users)
        guardians = []
        for fi, _rel, _g, name, _lw, phone, at in guardian_rows:
            guardians.append(Guardian(
                district_id=district_id, household_id=households[fi].pk, name=name, phone=phone,
                phone_digest=digest(phone), user_id=next(user_ids) if at is not None else None,
            ))
        Guardian.objects.bulk_create(guardians, batch_size=BATCH)
        links, consents = [], []
        primary_done: set[int] = set()
        for g, (fi, relation, _g, _n, lives_with, _p, at) in zip(guardians, guardian_rows, strict=True):
            kids = family_students[fi]
            for st in kids:
                # The first listed guardian (the mother where there is one) is the primary contact.
                primary = st.pk not in primary_done
                primary_done.add(st.pk)
                links.append(Guardianship(guardian_id=g.pk, student_id=st.pk, relation=relation, is_primary=primary,
                                          lives_with=lives_with, verified_at=at))
            if at is None:
                continue
            given = at + dt.timedelta(minutes=rng.randint(1, 10))
            consents.append(Consent(district_id=district_id, guardian_id=g.pk, purpose=ConsentPurpose.PLATFORM,
                                    rules_version=RULES_VERSION, given_at=given))
            for purpose, per_child, share in OPTIONAL_CONSENTS:
                for st in (kids if per_child else [None]):
                    if rng.random() >= share:
                        continue
                    when = given + dt.timedelta(days=rng.randint(0, 60))
                    when = min(when, self.now - dt.timedelta(hours=1))
                    withdrawn = None
                    if rng.random() < WITHDRAWN_SHARE:
                        withdrawn = when + (self.now - when) * rng.uniform(0.1, 0.9)
                        c["consents.withdrawn"] += 1
                    consents.append(Consent(
                        district_id=district_id, guardian_id=g.pk, student_id=st.pk if st else None, purpose=purpose,
                        rules_version=RULES_VERSION, given_at=when, withdrawn_at=withdrawn,
                    ))
        Guardianship.objects.bulk_create(links, batch_size=BATCH)
        Consent.objects.bulk_create(consents, batch_size=BATCH)
        c["households"] += len(households)
        c["students"] += len(students)
        c["guardians"] += len(guardians)
        c["users.guardian"] += len(users)
        c["guardianships"] += len(links)
        c["consents"] += len(consents)
        c["families.two_children"] += sum(1 for f in families if len(f.students) == 2)
        c["guardians.grandparent"] += sum(1 for r in guardian_rows if r[1] not in (Relation.FATHER, Relation.MOTHER, Relation.OTHER))

    # --- phase 3: staff -----------------------------------------------------------------------------
    def build_staff(self) -> None:
        b, rng = self.b, self.rng
        district = b.district
        users: list[User] = []
        grants: list[tuple[int, str, int, int | None, str]] = []  # (user index, role, unit id, student id, title)
        joined = self.now - dt.timedelta(days=500)

        def person(key: str | None = None, female_share: float = 0.5) -> int:
            gender = "F" if rng.random() < female_share else "M"
            phone = DEMO_PHONE[key] if key else self.phone()
            users.append(User(phone=phone, name=self.adult_name(gender), password=self.password,
                              date_joined=joined, password_changed_at=joined))
            return len(users) - 1

        def grant(who: int, role: str, unit_id: int, title: str = "", student_id: int | None = None) -> None:
            grants.append((who, role, unit_id, student_id, title))

        demo_class = b.classes[b.demo_class]
        demo_school_id = demo_class.school_id
        demo_street = demo_class.street

        grant(person("district_admin"), Role.DISTRICT_ADMIN, district.pk, "教育局基础教育科")
        grant(person(), Role.DISTRICT_ADMIN, district.pk, "教育局德育科")
        for i, dept in enumerate(b.departments):
            grant(person("department_liaison" if i == 0 else None), Role.DEPARTMENT_LIAISON, dept.pk, "联络员")
        for i, street in enumerate(b.streets):
            grant(person("street_staff" if i == demo_street else None), Role.STREET_STAFF, street.pk, "社会事务办")
            if rng.random() < 0.5:
                grant(person(), Role.STREET_STAFF, street.pk, "综治中心")

        classes_by_school: dict[int, list[ClassInfo]] = defaultdict(list)
        for info in b.classes:
            classes_by_school[info.school_id].append(info)
        for school in b.schools:
            demo = school.pk == demo_school_id
            grant(person("school_admin" if demo else None), Role.SCHOOL_ADMIN, school.pk, "德育处主任")
            grant(person("psych_teacher" if demo else None, 0.8), Role.PSYCH_TEACHER, school.pk, "心理健康教育")
            grant(person("health_vp" if demo else None, 0.6), Role.HEALTH_VP, school.pk, "健康副校长")
            classes = classes_by_school[school.pk]
            for info in classes:
                key = "class_teacher" if info is demo_class else None
                grant(person(key, 0.75), Role.CLASS_TEACHER, info.id, CLASS_TEACHER_TITLE.get(info.stage, "语文"))
            subjects = SUBJECTS[school.stage]
            n_teachers = max(1, round(len(classes) * 0.7))
            for t in range(n_teachers):
                taught = rng.sample(classes, min(len(classes), rng.randint(2, 4)))
                key = None
                if demo and t == 0:
                    key = "subject_teacher"  # teaches the demo class first, so the log-in list names it
                    taught = [demo_class] + [c for c in taught if c is not demo_class][: len(taught) - 1]
                who = person(key, 0.65)
                title = subjects[t % len(subjects)]
                for info in taught:
                    grant(who, Role.SUBJECT_TEACHER, info.id, title)

        # Grid workers, some of them carers for left-behind children of their street's schools.
        for si, communities in b.communities.items():
            candidates = [s for s in b.left_behind.get(si, []) if s != b.demo_carer_student]
            rng.shuffle(candidates)
            for ci, community in enumerate(communities):
                demo = si == demo_street and ci == 0
                for n in range(rng.choice((1, 1, 2))):
                    who = person("grid_worker" if demo and n == 0 else None, 0.6)
                    grant(who, Role.GRID_WORKER, community.pk, "网格员")
                    cared = [candidates.pop() for _ in range(min(len(candidates), rng.randint(0, 3)))]
                    if demo and n == 0 and b.demo_carer_student:
                        cared.append(b.demo_carer_student)
                    for student_id in cared:
                        grant(who, Role.GRID_WORKER, community.pk, "关爱联系人", student_id=student_id)
                if rng.random() < 0.4:
                    grant(person(None, 0.5), Role.VOLUNTEER, community.pk, rng.choice(["五老志愿者", "社区志愿者"]))
        for partner in b.partners:
            grant(person("partner_contact" if partner is b.partners[0] else None), Role.PARTNER_CONTACT, partner.pk, "联系人")
            grant(person(), Role.VOLUNTEER, partner.pk, "场馆志愿者")
        # The district's lecturer pool (讲师团) for the parent school.
        for i in range(4 + len(b.schools) // 20):
            grant(person("volunteer" if i == 0 else None), Role.VOLUNTEER, district.pk, "家庭教育讲师")
        for school in b.schools:
            if rng.random() < 0.2:
                grant(person(), Role.VOLUNTEER, school.pk, "校外辅导员")

        User.objects.bulk_create(users, batch_size=BATCH)
        assignments = [
            RoleAssignment(user_id=users[who].pk, role=role, unit_id=unit_id, student_id=student_id,
                           district_id=district.pk, title=title, starts_at=joined)
            for who, role, unit_id, student_id, title in grants
        ]
        RoleAssignment.objects.bulk_create(assignments, batch_size=BATCH)
        self.b.counts["users.staff"] += len(users)
        self.b.counts["role_assignments"] += len(assignments)
        self.b.counts["role_assignments.carer"] += sum(1 for g in grants if g[3] is not None)
        self.say(f"staff: {len(users)} accounts, {len(assignments)} role assignments")

    # --- the whole build ----------------------------------------------------------------------------
    def build(self) -> dict:
        taken = User.objects.filter(phone__in=list(DEMO_PHONE.values())).count()
        if taken:
            raise DemoConflict(f"{taken} demo phone numbers (1390000xxxx) already belong to accounts")
        # One transaction: an interrupted build leaves nothing behind, so --if-empty never sees half a district.
        with transaction.atomic():
            self.build_org()
            self.build_people()
            self.build_staff()
            for start_year in (self.year - 1, self.year):
                school_year_ensure(district=self.b.district, start_year=start_year)
            counts = {k: v for k, v in sorted(self.b.counts.items())}
            counts["seconds"] = round(time.monotonic() - self.started, 1)
            record("demo.build", actor=None, model="org.orgunit", object_id=self.b.district.pk,
                   changes={"seed": self.seed, "requested_students": self.n_students, **counts})
        return counts


class DemoConflict(Exception):
    pass


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split total in proportion to weights, in integers that add up exactly (largest remainder)."""
    wsum = sum(weights)
    raw = [total * w / wsum for w in weights]
    out = [int(x) for x in raw]
    rest = total - sum(out)
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[:rest]:
        out[i] += 1
    return out


# --- the log-in list -----------------------------------------------------------------------------------
def _scope_label(unit: OrgUnit, names: dict[int, OrgUnit]) -> str:
    """District / school / class (streets shown only for units outside schools)."""
    chain = [names[i] for i in unit.ancestor_ids if i in names] + [unit]
    in_school = any(u.kind == Kind.SCHOOL for u in chain)
    shown = [u.name for u in chain if u.kind != Kind.GRADE and not (in_school and u.kind == Kind.STREET)]
    return " / ".join(shown)


def demo_logins() -> list[dict]:
    """One entry per demo account present in the database, in the order of Role."""
    phones = [phone for _k, phone, _r, _l in DEMO_ACCOUNTS]
    users = {u.phone: u for u in User.objects.filter(phone__in=phones)}
    out = []
    for _key, phone, role, label in DEMO_ACCOUNTS:
        user = users.get(phone)
        if user is None:
            continue
        if role == Role.GUARDIAN:
            guardian = Guardian.objects.filter(user=user).first()
            if guardian is None:
                continue
            classes = OrgUnit.objects.filter(students__guardianships__guardian=guardian).select_related("parent__parent")
            scope = "、".join(sorted(c.full_name for c in classes))
        else:
            assignment = (RoleAssignment.objects.filter(user=user, role=role, student__isnull=True)
                          .select_related("unit").order_by("id").first())
            if assignment is None:
                continue
            ancestors = {u.pk: u for u in OrgUnit.objects.filter(id__in=assignment.unit.ancestor_ids)}
            scope = _scope_label(assignment.unit, ancestors)
        out.append({"role": str(role), "role_label": label or str(Role(role).label), "phone": phone,
                    "name": user.name, "scope": scope})
    order = {r: i for i, r in enumerate(Role.values)}
    out.sort(key=lambda e: order[e["role"]])
    return out


def write_logins() -> tuple[str, int]:
    path = settings.VAR_DIR / "demo_logins.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    accounts = demo_logins()
    payload = {"password": DEMO_PASSWORD, "accounts": accounts}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return str(path), len(accounts)
