"""The hand-written SQL (core/sql.py, accounts/sql.py, notices/sql.py, activities/sql.py) against known rows
on PostgreSQL: each statement's result has the shape and meaning its caller relies on (docs/decisions/0014).
The fan-out's inserts (notices/fanout.py) are covered by tests/test_notices_fanout.py until they move."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken, RoleAssignment
from accounts.tokens import token_statement, user_from_row
from activities import services
from activities.testing import make_activity
from core.rows import hot_query
from core.scoping import _scope_rows, system_scope
from core.sql import SCOPE_SQL, guardian_rule_sql
from ledger import rollup
from ledger.models import FamilyPeriod, Participation, PeriodRollup
from notices import sql as notices_sql
from notices.models import Receipt, ReceiptClass
from notices.selectors import _counted_classes
from people.models import Guardian, Guardianship
from periods.models import Period
from tests.test_notices_helpers import notice_settings, send  # noqa: F401

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the hand-written SQL runs on PostgreSQL"),
]


def test_the_guardian_rule_fragment_is_the_orm_rule(world):
    with connection.cursor() as cur:
        cur.execute(f"SELECT g.id FROM people_guardian g WHERE {guardian_rule_sql('g', '%s')}", [world.parent_a1.pk])  # noqa: S608
        found = [r[0] for r in cur.fetchall()]
    assert found == list(Guardian.objects.filter(user=world.parent_a1, is_active=True).values_list("id", flat=True))
    assert guardian_rule_sql("g", "%s") in SCOPE_SQL
    assert guardian_rule_sql("g", "%s") in notices_sql.open_receipt("r.id", "n.id")


def test_scope_rows_are_the_role_assignments_and_guardianships(world):
    now = timezone.now()
    rows = _scope_rows(world.teacher_a1.pk, now)
    assert rows and all(len(r) == 8 for r in rows)
    roles = {(r[1], r[2]) for r in rows if r[0] == "r"}
    assert roles == set(RoleAssignment.objects.current().filter(user=world.teacher_a1).values_list("role", "unit_id"))
    guardian = _scope_rows(world.parent_a1.pk, now)
    links = Guardianship.objects.filter(guardian__user=world.parent_a1, guardian__is_active=True, student__is_active=True)
    assert {(r[3], r[7]) for r in guardian if r[0] == "g"} == set(links.values_list("student_id", "guardian_id"))
    assert all(r[5] and r[5].startswith("/") for r in guardian)  # the child's class path
    assert _scope_rows(world.outsider.pk, now) == []


def test_the_token_statement_finds_only_a_live_token_of_an_active_user(world):
    now = timezone.now()
    token, key = ApiToken.issue(user=world.parent_a1)
    sql, width = token_statement()
    row = hot_query(sql, [ApiToken.hash_key(key), now])
    assert len(row) == width and row[0] == token.pk
    assert user_from_row(row, now) == world.parent_a1
    assert hot_query(sql, [ApiToken.hash_key("not-a-token"), now]) is None
    assert hot_query(sql, [ApiToken.hash_key(key), token.expires_at + dt.timedelta(seconds=1)]) is None
    type(world.parent_a1).objects.system(reason="test").filter(pk=world.parent_a1.pk).update(is_active=False)
    assert hot_query(sql, [ApiToken.hash_key(key), now]) is None


@pytest.fixture
def notice(world, django_capture_on_commit_callbacks, notice_settings):  # noqa: F811
    return send(django_capture_on_commit_callbacks, world.district_admin, [world.district])


def test_opening_marks_the_own_receipt_read_once(world, notice):
    now = timezone.now()
    receipt = Receipt.objects.open_guardian_own(world.parent_a1, notice.pk, now)
    assert receipt is not None and receipt.notice.pk == notice.pk and receipt.read_at == now
    assert receipt.guardian.user_id == world.parent_a1.pk
    assert receipt.children  # the names of the addressed children who are this guardian's
    later = Receipt.objects.open_guardian_own(world.parent_a1, notice.pk, now + dt.timedelta(hours=1))
    assert later.read_at == now  # the first read stays
    assert Receipt.objects.open_guardian_own(world.teacher_a1, notice.pk, now) is None  # no guardian receipt


def test_opening_by_token_checks_the_token_in_the_same_statement(world, notice):
    now = timezone.now()
    _token, key = ApiToken.issue(user=world.parent_a1)
    user, receipt = Receipt.objects.open_guardian_own_by_token(ApiToken.hash_key(key), notice.pk, now)
    assert user == world.parent_a1 and receipt.notice.pk == notice.pk
    assert Receipt.objects.open_guardian_own_by_token(ApiToken.hash_key("bad"), notice.pk, now) == (None, None)


def test_counted_classes_add_up_to_the_receipts(world, notice):
    Receipt.objects.open_guardian_own(world.parent_a1, notice.pk, timezone.now())
    counted = _counted_classes(notice, None)
    assert counted is not None
    classes, read, replied = counted
    first_class = Receipt.objects.filter(notice=notice, guardian__isnull=False).exclude(school_class=None)
    further = ReceiptClass.objects.filter(notice=notice)
    assert sum(c.total for c in classes) == first_class.count() + further.count()
    assert read == first_class.filter(read_at__isnull=False).count() >= 1
    assert replied == 0
    one = classes[0].unit.id
    only, _r, _p = _counted_classes(notice, [one])
    assert [c.unit.id for c in only] == [one]


def test_receipts_in_classes_include_the_further_class(world, notice):
    class_id = world.child_a1.school_class_id
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT r.id FROM notices_receipt r WHERE r.notice_id = %s AND ({notices_sql.receipt_in_classes(1)})",  # noqa: S608
            [notice.pk, class_id, class_id],
        )
        found = {r[0] for r in cur.fetchall()}
    expected = set(Receipt.objects.filter(notice=notice, school_class_id=class_id).values_list("id", flat=True))
    expected |= set(ReceiptClass.objects.filter(notice=notice, school_class_id=class_id).values_list("receipt_id", flat=True))
    assert found == expected and found


def test_checkins_insert_each_person_once_and_say_who_is_new(world):
    _activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, starts_in=-dt.timedelta(minutes=30))
    guardian = world.guardians["parent_a1"].pk
    with system_scope("test"):
        first = services.checkin_manual(actor=world.school_admin_a, session=session, guardian_ids=[guardian], student_ids=[world.child_a1.pk])
        again = services.checkin_manual(actor=world.school_admin_a, session=session, guardian_ids=[guardian], student_ids=[])
    assert first.guardians == [guardian] and first.students == [world.child_a1.pk] and first.already == 0
    assert again.guardians == [] and again.already == 1


def test_the_period_roll_up_back_fills_once(world):
    today = timezone.localdate()
    period = Period.objects.create(district=world.district, kind="semester", name="本学期",
                                   start=today - dt.timedelta(days=30), end=today + dt.timedelta(days=30))
    child = world.child_a1
    # Three sessions taken part in (one row per session and child), the last outside the period.
    for n, (day, source) in enumerate(((today, "activity"), (today - dt.timedelta(days=1), "activity"), (today - dt.timedelta(days=90), "activity"))):
        Participation.objects.create(district=world.district, student=child, school=child.school, school_class=child.school_class,
                                     class_path=child.school_class.path, day=day, source=source, source_key=f"activity.session:{n}")
    rows_before = Participation.objects.filter(district=world.district, day__gte=period.start, day__lte=period.end)
    rollup.ensure(period.pk)
    rollup.ensure(period.pk)  # idempotent
    assert PeriodRollup.objects.filter(period=period).count() == 1
    expected = set(rows_before.values_list("student_id", "source").distinct())
    assert expected == {(child.pk, "activity")}  # once per family and source, the day outside left out
    assert set(FamilyPeriod.objects.filter(period=period).values_list("student_id", "source")) == expected
