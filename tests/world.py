"""A small district with neighbours built in (after healthchecks' hc/test.py): every test has a district
admin, staff of school A, a guardian of class A1, and the same roles one step away — another class,
another school, another street, another family, another district — to try to break the rules from."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from accounts.models import RoleAssignment, User
from accounts.roles import Role
from audit.models import AccessEvent
from org.models import Kind, OrgUnit
from org.services import unit_create
from people.models import Guardian, Guardianship, Household, Relation, Student

PASSWORD = "Gongyu-test-2026!"


@dataclass
class World:
    units: dict[str, OrgUnit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    students: dict[str, Student] = field(default_factory=dict)
    guardians: dict[str, Guardian] = field(default_factory=dict)

    def __getattr__(self, name):  # w.district, w.class_a1, w.teacher_a1, w.child_a1 …
        for bag in (self.units, self.users, self.students, self.guardians):
            if name in bag:
                return bag[name]
        raise AttributeError(name)


_phone_seq = [13800000000]


def _phone() -> str:
    _phone_seq[0] += 1
    return str(_phone_seq[0])


def make_user(name: str, *, password: str = PASSWORD, **extra) -> User:
    return User.objects.create_user(_phone(), password, name=name, **extra)


def grant(user: User, role: str, unit: OrgUnit, student: Student | None = None) -> RoleAssignment:
    return RoleAssignment.objects.create(user=user, role=role, unit=unit, student=student, district_id=unit.district_id)


def _unit(kind, name, parent, **kw):
    return unit_create(actor=None, kind=kind, name=name, parent=parent, **kw)


def build_world() -> World:
    w = World()
    u = w.units
    u["district"] = _unit(Kind.DISTRICT, "测试区", None, code="D1")
    u["street_1"] = _unit(Kind.STREET, "东街道", u["district"], code="S1")
    u["street_2"] = _unit(Kind.STREET, "西街道", u["district"], code="S2")
    u["community_1"] = _unit(Kind.COMMUNITY, "东社区", u["street_1"], code="C1")
    u["community_2"] = _unit(Kind.COMMUNITY, "西社区", u["street_2"], code="C2")
    u["department"] = _unit(Kind.DEPARTMENT, "区民政局", u["district"], code="MZ")
    u["department_2"] = _unit(Kind.DEPARTMENT, "区妇联", u["district"], code="FL")
    u["partner"] = _unit(Kind.PARTNER, "区博物馆", u["district"], code="P1", partner_category="museum")
    u["partner_2"] = _unit(Kind.PARTNER, "区图书馆", u["district"], code="P2", partner_category="library")
    u["school_a"] = _unit(Kind.SCHOOL, "东城实验小学", u["street_1"], code="SA", stage="primary")
    u["school_b"] = _unit(Kind.SCHOOL, "西城第二中学", u["street_2"], code="SB", stage="junior")
    u["grade_a3"] = _unit(Kind.GRADE, "三年级", u["school_a"], grade_year=3)
    u["class_a1"] = _unit(Kind.CLASS, "三(1)班", u["grade_a3"], class_no=1)
    u["class_a2"] = _unit(Kind.CLASS, "三(2)班", u["grade_a3"], class_no=2)
    u["grade_b7"] = _unit(Kind.GRADE, "七年级", u["school_b"], grade_year=7)
    u["class_b1"] = _unit(Kind.CLASS, "七(1)班", u["grade_b7"], class_no=1)
    u["other_district"] = _unit(Kind.DISTRICT, "邻区", None, code="D2")
    u["other_school"] = _unit(Kind.SCHOOL, "邻区小学", u["other_district"], code="OS", stage="primary")
    u["other_grade"] = _unit(Kind.GRADE, "一年级", u["other_school"], grade_year=1)
    u["other_class"] = _unit(Kind.CLASS, "一(1)班", u["other_grade"], class_no=1)

    s = w.students
    for key, cls, no, idn in [
        ("child_a1", "class_a1", "G110101201501010011", "110101201501010011"),
        ("child_a2", "class_a2", "G110101201502020022", ""),
        ("child_b1", "class_b1", "G110101201103030033", ""),
        ("child_other", "other_class", "G220101201704040044", ""),
    ]:
        unit = u[cls]
        school = unit.parent.parent
        s[key] = Student.objects.create(
            district_id=unit.district_id, school=school, school_class=unit, name=f"学生{key[-2:]}", student_no=no, id_number=idn
        )

    us = w.users
    roles = [
        ("district_admin", Role.DISTRICT_ADMIN, "district"),
        ("liaison", Role.DEPARTMENT_LIAISON, "department"),
        ("street_staff_1", Role.STREET_STAFF, "street_1"),
        ("street_staff_2", Role.STREET_STAFF, "street_2"),
        ("school_admin_a", Role.SCHOOL_ADMIN, "school_a"),
        ("school_admin_b", Role.SCHOOL_ADMIN, "school_b"),
        ("teacher_a1", Role.CLASS_TEACHER, "class_a1"),
        ("teacher_a2", Role.CLASS_TEACHER, "class_a2"),
        ("teacher_b1", Role.CLASS_TEACHER, "class_b1"),
        ("subject_teacher_a1", Role.SUBJECT_TEACHER, "class_a1"),
        ("psych_a", Role.PSYCH_TEACHER, "school_a"),
        ("health_vp_a", Role.HEALTH_VP, "school_a"),
        ("grid_worker_1", Role.GRID_WORKER, "community_1"),
        ("partner_contact", Role.PARTNER_CONTACT, "partner"),
        ("volunteer", Role.VOLUNTEER, "partner"),
        ("other_district_admin", Role.DISTRICT_ADMIN, "other_district"),
    ]
    for key, role, unit_key in roles:
        us[key] = make_user(key)
        grant(us[key], role, u[unit_key])
    # A grid worker who cares for one child (carer assignment bound to a student).
    grant(us["grid_worker_1"], Role.GRID_WORKER, u["community_1"], student=s["child_a2"])

    g = w.guardians
    for key, child_keys, relation in [
        ("parent_a1", ["child_a1"], Relation.MOTHER),
        ("grandparent_a1", ["child_a1"], Relation.MATERNAL_GRANDMOTHER),
        ("parent_a2", ["child_a2"], Relation.FATHER),
        ("parent_two_schools", ["child_a2", "child_b1"], Relation.MOTHER),
        ("parent_other", ["child_other"], Relation.MOTHER),
    ]:
        user = make_user(key)
        us[key] = user
        first = s[child_keys[0]]
        g[key] = Guardian.objects.create(district_id=first.district_id, user=user, name=key, phone=user.phone)
        for ck in child_keys:
            Guardianship.objects.create(guardian=g[key], student=s[ck], relation=relation)
    hh = Household.objects.create(district=u["district"])
    Guardian.objects.filter(pk__in=[g["parent_a1"].pk, g["grandparent_a1"].pk]).update(household=hh)
    # A guardian who has no account yet (imported from a roster, not activated).
    g["unactivated_a1"] = Guardian.objects.create(district=u["district"], name="未激活家长", phone="13912345678")
    Guardianship.objects.create(guardian=g["unactivated_a1"], student=s["child_a1"], relation=Relation.FATHER)
    us["outsider"] = make_user("outsider")  # an account with no role at all
    return w


def identity_reads():
    """Access rows of ID numbers and 学籍号 only: a class teacher's default phone showings are rows of their
    own (people.contact), which tests of identity reads must not count."""


    return AccessEvent.objects.filter(
        Q(reason__contains="学籍号") | Q(reason__contains="身份证号") | Q(reason__contains="student_no") | Q(reason__contains="id_number")
    )
