"""The demo district generator: a realistic, consistent district that every role can log in to."""

import datetime as dt
import io
import json
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, RULES_VERSION
from accounts.models import RoleAssignment, User
from accounts.roles import RULES, Role
from audit.models import AuditEvent
from audit.services import verify_chain
from core.crypto import digest
from core.logging import ID_NUMBER_RE, PHONE_RE
from org.models import ALLOWED_CHILDREN, Kind, OrgUnit, Stage
from people.models import (
    GRANDPARENT_RELATIONS,
    Consent,
    ConsentPurpose,
    Guardian,
    Guardianship,
    Household,
    Student,
)
from people.validators import id_number_birth_date, id_number_check, id_number_gender, phone_check
from periods.models import Period, PeriodKind
from periods.services import school_year_start_for

STUDENTS = 300


@pytest.fixture(scope="module")
def _built(django_db_setup, django_db_blocker, tmp_path_factory):
    """One build for the whole module, inside a transaction rolled back at the end; each test then
    runs in its own savepoint (the db fixture) on top of it, so tests cannot disturb each other."""
    var_dir = tmp_path_factory.mktemp("var")
    out = io.StringIO()
    # Same fast hasher as conftest's per-test fixture, which has not run yet at module scope.
    fast = override_settings(VAR_DIR=var_dir, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast, transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            call_command("build_demo", students=STUDENTS, seed=1, stdout=out)
        sql = [q["sql"] for q in queries.captured_queries]
        yield {"out": out.getvalue(), "sql": sql, "logins": var_dir / "demo_logins.json", "var_dir": var_dir}
        transaction.set_rollback(True)


@pytest.fixture
def demo(_built, db, settings):
    settings.VAR_DIR = _built["var_dir"]
    return _built


def _counts():
    return {
        m.__name__: m.objects.count()
        for m in (OrgUnit, Student, Guardian, Guardianship, Household, User, RoleAssignment, Consent, AuditEvent, Period)
    }


def test_structure_counts_and_mixed_stages(demo):
    district = OrgUnit.objects.get(kind=Kind.DISTRICT)
    assert district.name == "示范区"
    streets = OrgUnit.objects.filter(kind=Kind.STREET)
    assert streets.count() >= 4
    for street in streets:
        assert 3 <= street.children.filter(kind=Kind.COMMUNITY).count() <= 6
    departments = set(OrgUnit.objects.filter(kind=Kind.DEPARTMENT).values_list("name", flat=True))
    for name in ("民政局", "妇联", "卫健局", "公安分局", "司法局", "团委", "关工委"):
        assert any(name in d for d in departments), name
    partners = OrgUnit.objects.filter(kind=Kind.PARTNER)
    assert partners.count() >= 8
    assert {"museum", "library", "farm", "hospital", "ngo"} <= set(partners.values_list("partner_category", flat=True))
    schools = OrgUnit.objects.filter(kind=Kind.SCHOOL)
    assert schools.count() >= 8
    assert len(set(schools.values_list("stage", flat=True))) >= 4

    expected_years = {
        Stage.KINDERGARTEN: [-2, -1, 0], Stage.PRIMARY: list(range(1, 7)), Stage.JUNIOR: [7, 8, 9],
        Stage.SENIOR: [10, 11, 12], Stage.NINE_YEAR: list(range(1, 10)),
    }
    for school in schools:
        years = sorted(school.children.values_list("grade_year", flat=True))
        assert years == expected_years[school.stage], school.stage
    classes = OrgUnit.objects.filter(kind=Kind.CLASS).select_related("parent")
    codes = [c.invite_code for c in classes]
    assert all(codes) and len(set(codes)) == len(codes)
    names = {c.name for c in classes}
    assert {"小(1)班", "三(1)班", "初一(1)班", "高二(1)班"} <= names
    assert all(c.grade_year == c.parent.grade_year and c.name.endswith("班") for c in classes)
    assert Student.objects.count() == STUDENTS
    assert all(Student.objects.filter(school_class=c).exists() for c in classes)


def test_every_unit_path_depth_and_district_follow_its_parent(demo):
    units = {u.pk: u for u in OrgUnit.objects.all()}
    assert len(units) > 100
    for u in units.values():
        if u.parent_id is None:
            assert (u.path, u.depth, u.district_id) == (f"/{u.pk}/", 0, u.pk)
            continue
        parent = units[u.parent_id]
        assert u.path == f"{parent.path}{u.pk}/"
        assert u.depth == parent.depth + 1
        assert u.district_id == parent.district_id
        assert u.kind in ALLOWED_CHILDREN[Kind(parent.kind)]


def test_students_have_valid_consistent_identity(demo):
    students = list(Student.objects.select_related("school_class"))
    year = school_year_start_for(timezone.localdate())
    ids = [s.id_number for s in students]
    assert len(set(ids)) == len(ids)
    for s in students:
        assert id_number_check(s.id_number) is None
        assert id_number_birth_date(s.id_number) == s.birth_date
        assert id_number_gender(s.id_number) == s.gender
        assert s.student_no == "G" + s.id_number
        assert s.id_digest == digest(s.id_number)
        assert s.school_id == s.school_class.parent.parent_id
        # Age on 1 September of this school year ≈ grade_year + 6 (a few started a year late).
        age = year - s.birth_date.year - ((s.birth_date.month, s.birth_date.day) > (9, 1))
        assert s.school_class.grade_year + 5 <= age <= s.school_class.grade_year + 7


def test_guardians_families_and_relations_are_realistic(demo):
    guardians = list(Guardian.objects.all())
    phones = [g.phone for g in guardians]
    assert len(set(phones)) == len(phones)
    assert all(phone_check(p) is None for p in phones)
    assert all(phone_check(p) is None for p in User.objects.values_list("phone", flat=True))
    # Every activated guardian logs in with the phone the school has on file.
    activated = Guardian.objects.filter(user__isnull=False).select_related("user")
    assert all(g.user.phone == g.phone and g.user.name == g.name for g in activated)
    assert all(g.phone_digest == digest(g.phone) for g in guardians)
    assert len(guardians) / Student.objects.count() >= 1.6
    household_of = {g.pk: g.household_id for g in guardians}
    assert all(household_of.values())

    links = list(Guardianship.objects.select_related("student"))
    assert any(link.relation in GRANDPARENT_RELATIONS for link in links)
    by_student = defaultdict(list)
    children = defaultdict(list)
    for link in links:
        by_student[link.student_id].append(link)
        children[link.guardian_id].append(link.student)
    assert len(by_student) == Student.objects.count()
    for student_links in by_student.values():
        assert sum(link.is_primary for link in student_links) == 1
        # The guardians of one child are one household.
        assert len({household_of[link.guardian_id] for link in student_links}) == 1
    two = [kids for kids in children.values() if len(kids) == 2]
    assert two
    assert any(kids[0].school_id != kids[1].school_id for kids in two)
    # Left-behind children raised by grandparents only.
    assert any(all(link.relation in GRANDPARENT_RELATIONS for link in ls) for ls in by_student.values())


def test_every_role_is_held_and_assignments_fit_their_units(demo):
    held = set(RoleAssignment.objects.values_list("role", flat=True))
    assert held == set(Role.values) - {Role.GUARDIAN}
    assert Guardianship.objects.filter(guardian__user__isnull=False).exists()
    for a in RoleAssignment.objects.select_related("unit"):
        assert a.district_id == a.unit.district_id
        assert a.unit.kind in RULES[a.role].unit_kinds
    carers = RoleAssignment.objects.filter(student__isnull=False)
    assert carers.exists() and all(c.role == Role.GRID_WORKER for c in carers)
    for school in OrgUnit.objects.filter(kind=Kind.SCHOOL):
        roles = set(RoleAssignment.objects.filter(unit=school).values_list("role", flat=True))
        assert {Role.SCHOOL_ADMIN, Role.PSYCH_TEACHER, Role.HEALTH_VP} <= roles
    for cls in OrgUnit.objects.filter(kind=Kind.CLASS):
        assert RoleAssignment.objects.filter(unit=cls, role=Role.CLASS_TEACHER).count() == 1


def test_consent_records_for_activated_guardians(demo):
    activated = set(Guardian.objects.filter(user__isnull=False).values_list("id", flat=True))
    assert 0.5 < len(activated) / Guardian.objects.count() < 0.9
    platform = Consent.objects.filter(purpose=ConsentPurpose.PLATFORM, withdrawn_at__isnull=True)
    assert set(platform.values_list("guardian_id", flat=True)) == activated
    assert set(platform.values_list("rules_version", flat=True)) == {RULES_VERSION}
    assert set(Consent.objects.values_list("guardian_id", flat=True)) == activated
    assert Consent.objects.exclude(purpose=ConsentPurpose.PLATFORM).exists()
    now = timezone.now()
    withdrawn = Consent.objects.filter(withdrawn_at__isnull=False)
    assert withdrawn.exists()
    assert all(c.given_at < c.withdrawn_at < now for c in withdrawn)
    assert not Consent.objects.filter(given_at__gte=now).exists()


def test_periods_audit_and_quiet_output(demo):
    year = school_year_start_for(timezone.localdate())
    starts = set(Period.objects.filter(kind=PeriodKind.SCHOOL_YEAR).values_list("start", flat=True))
    assert starts == {dt.date(year - 1, 9, 1), dt.date(year, 9, 1)}
    summary = AuditEvent.objects.get(action="demo.build")
    assert summary.changes["students"] == STUDENTS
    assert verify_chain().ok
    # Progress lines carry counts only: no phone number or ID number is printed.
    assert not PHONE_RE.search(demo["out"]) and not ID_NUMBER_RE.search(demo["out"])
    # People, accounts and roles are bulk-inserted: a handful of queries, not one per person.
    people_sql = [q for q in demo["sql"] if '"people_' in q or '"accounts_' in q]
    assert len(people_sql) < 100 < Guardian.objects.count()


def test_running_again_adds_nothing(demo):
    before = _counts()
    out = io.StringIO()
    call_command("build_demo", students=STUDENTS, seed=1, if_empty=True, stdout=out)
    assert "demo district already present" in out.getvalue()
    call_command("build_demo", students=STUDENTS, seed=1, stdout=io.StringIO())
    assert _counts() == before
    assert json.loads(demo["logins"].read_text(encoding="utf-8"))["accounts"]


def test_demo_logins_cover_every_role_and_work(demo):
    data = json.loads(demo["logins"].read_text(encoding="utf-8"))
    assert data["password"] == DEMO_PASSWORD
    accounts = data["accounts"]
    roles = Counter(a["role"] for a in accounts)
    assert set(roles) == set(Role.values)
    assert roles[Role.GUARDIAN] == 2 and all(n == 1 for r, n in roles.items() if r != Role.GUARDIAN)
    assert len({a["phone"] for a in accounts}) == len(accounts)
    assert all(a["name"] and a["scope"] and a["role_label"] for a in accounts)

    parent, grandparent = [a for a in accounts if a["role"] == Role.GUARDIAN]
    kids = Student.objects.filter(guardianships__guardian__user__phone=parent["phone"])
    assert kids.count() == 2 and len({k.school_id for k in kids}) == 2
    assert "祖辈" in grandparent["role_label"]
    assert Guardianship.objects.filter(
        guardian__user__phone=grandparent["phone"], relation__in=GRANDPARENT_RELATIONS
    ).exists()

    login_url = reverse("accounts:login")
    for account in accounts:
        client = Client()
        response = client.post(login_url, {"username": account["phone"], "password": DEMO_PASSWORD})
        assert response.status_code == 302, account["role"]
        assert response["Location"] != login_url
        assert int(client.session["_auth_user_id"]) == User.objects.get(phone=account["phone"]).pk
