"""The hand-written SQL (core/sql.py, accounts/sql.py, notices/sql.py, messaging/sql.py, activities/sql.py,
ledger/sql.py) against known rows on PostgreSQL: each statement's result has the shape and meaning its caller
relies on (docs/decisions/0014)."""

import datetime as dt
import json
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Max, Min
from django.utils import timezone

from accounts.models import ApiToken, RoleAssignment
from accounts.tokens import token_statement, user_from_row
from activities import services
from activities.testing import make_activity
from audit import sql as audit_sql
from audit.models import AuditEvent
from audit.services import _SEAL_LOCK_KEYS, _seal_table, record, record_many, record_many_from, verify_chain
from core.rows import hot_query
from core.scoping import _scope_rows, system_scope
from core.sql import SCOPE_SQL, guardian_rule_sql
from ledger import rollup
from ledger import sql as ledger_sql
from ledger.models import FamilyPeriod, Participation, PeriodRollup
from messaging import bulk
from messaging import sql as messaging_sql
from messaging.models import Delivery, GuardianChannel
from notices import sql as notices_sql
from notices.models import NoticeClassCount, Priority, Receipt, ReceiptClass
from notices.selectors import _counted_classes
from notices.services import notice_create
from people.models import Guardian, Guardianship
from periods.models import Period
from roster import sql as roster_sql
from tests.test_notices_helpers import audience, notice_settings, send  # noqa: F401

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


# --- the fan-out's statements (notices/sql.py) and messaging's delivery insert (messaging/sql.py) -----------
@pytest.fixture
def unsent(world, django_capture_on_commit_callbacks, notice_settings):  # noqa: F811
    """A district-wide emergency notice whose fan-out job never ran: no receipts yet, the statements write them."""

    with django_capture_on_commit_callbacks(execute=False):
        notice = notice_create(actor=world.district_admin, title="紧急：停课", body="明天停课。", priority=Priority.EMERGENCY,
                               audience=audience(world.district_admin, [world.district], roles=["class_teacher"]))
    assert not Receipt.objects.filter(notice=notice).exists()
    return notice


def _run(statement, params):
    with connection.cursor() as cur:
        cur.execute(statement, params)
        return max(cur.rowcount, 0)


def _fan_out_receipts(notice, now):
    cond, params = notices_sql.audience_condition(notice.audience)
    assert cond and params
    with connection.cursor() as cur:
        cur.execute(notices_sql.GUARDIAN_ID_RANGE)
        lo, hi = cur.fetchone()
    inserted = _run(notices_sql.receipt_batch(cond, "postgresql"), [notice.pk, now, False, lo, hi + 1, *params])
    further = _run(notices_sql.receipt_classes(cond), [notice.pk, lo, hi + 1, "/%/%/", *params])
    return inserted, further


def _addressed_links(notice):
    paths = notice.audience["unit_paths"]
    links = Guardianship.objects.filter(student__is_active=True, guardian__is_active=True).select_related("student__school_class")
    return [gs for gs in links if any(gs.student.school_class.path.startswith(p) for p in paths)]


def test_the_guardian_id_range_is_that_of_the_guardianships(world, unsent):

    with connection.cursor() as cur:
        cur.execute(notices_sql.GUARDIAN_ID_RANGE)
        row = cur.fetchone()
    span = Guardianship.objects.aggregate(lo=Min("guardian_id"), hi=Max("guardian_id"))
    assert row == (span["lo"], span["hi"])


def test_the_receipt_batch_gives_each_addressed_guardian_one_receipt_naming_their_children(world, unsent):
    now = timezone.now()
    expected: dict[int, list] = {}
    for gs in _addressed_links(unsent):
        expected.setdefault(gs.guardian_id, []).append(gs.student)
    inserted, _further = _fan_out_receipts(unsent, now)
    assert inserted == len(expected) > 1
    rows = Receipt.objects.filter(notice=unsent, guardian__isnull=False)
    found = {r.guardian_id: (r.students, r.school_class_id, r.household_id, r.created_at) for r in rows}
    households = dict(world.guardians["parent_a1"].__class__.objects.filter(pk__in=expected).values_list("pk", "household_id"))
    assert found == {
        gid: ("/" + "/".join(str(s.pk) for s in sorted(kids, key=lambda s: s.pk)) + "/",
              min(kids, key=lambda s: s.pk).school_class_id, households[gid], now)
        for gid, kids in expected.items()
    }
    # A further class of a guardian's children: one class row each, the first class not repeated.
    further = {(rc.receipt.guardian_id, rc.school_class_id) for rc in ReceiptClass.objects.filter(notice=unsent).select_related("receipt")}
    assert further == {
        (gid, s.school_class_id) for gid, kids in expected.items() for s in kids
        if s.school_class_id != min(kids, key=lambda s: s.pk).school_class_id
    }
    assert _fan_out_receipts(unsent, now) == (0, 0)  # a repeated range after a kill writes nothing


def test_the_staff_receipts_are_the_current_holders_of_the_roles(world, unsent):
    now = timezone.now()
    paths = unsent.audience["unit_paths"]
    inserted = _run(notices_sql.staff_receipts(1, len(paths)), [unsent.pk, now, False, now, "class_teacher", *[p + "%" for p in paths]])
    holders = set(
        RoleAssignment.objects.current().filter(role="class_teacher", student__isnull=True, user__is_active=True)
        .values_list("user_id", flat=True)
    )
    assert inserted == len(holders) and holders
    assert set(Receipt.objects.filter(notice=unsent, user__isnull=False).values_list("user_id", flat=True)) == holders
    assert _run(notices_sql.staff_receipts(1, len(paths)), [unsent.pk, now, False, now, "class_teacher", *[p + "%" for p in paths]]) == 0


def test_the_class_counts_count_first_and_further_classes(world, unsent):


    _fan_out_receipts(unsent, timezone.now())
    expected = Counter(Receipt.objects.filter(notice=unsent, guardian__isnull=False).values_list("school_class_id", flat=True))
    expected.update(ReceiptClass.objects.filter(notice=unsent).values_list("school_class_id", flat=True))
    assert _run(notices_sql.CLASS_COUNTS, [unsent.pk] * 3) == len(expected)
    totals = dict(NoticeClassCount.objects.filter(notice=unsent).values_list("school_class_id", "total"))
    assert totals == dict(expected)
    _run(notices_sql.CLASS_COUNTS, [unsent.pk] * 3)  # an upsert: the same totals again
    assert dict(NoticeClassCount.objects.filter(notice=unsent).values_list("school_class_id", "total")) == dict(expected)
    _run(notices_sql.ANALYZE_CLASS_COUNTS, [])


def test_the_push_rows_go_once_to_the_receipts_chosen(world, unsent):

    now = timezone.now()
    _fan_out_receipts(unsent, now)
    wechat_guardian = world.guardians["parent_a1"]
    GuardianChannel.objects.create(guardian=wechat_guardian, channel="wechat", address="openid-a1", enabled=True)
    exists = {c: bulk.channel_exists_sql(c, "g.id") for c in ("sms", "wechat", "email")}
    assert exists["wechat"] == messaging_sql.channel_exists(GuardianChannel._meta.db_table, "wechat", "g.id")
    message = bulk.message_for(f"test:{unsent.pk}", source=f"notice:{unsent.pk}", kind="notice", urgency="emergency",
                               title=unsent.title, now=now)
    where = notices_sql.push_receipts_where(only_unread=False)
    receipts = Receipt.objects.filter(notice=unsent, guardian__isnull=False)
    with_phone = set(receipts.filter(guardian__is_active=True).exclude(guardian__phone_digest="").values_list("id", flat=True))

    def insert(channel, cond, filter_params=()):
        statement = messaging_sql.guardian_deliveries(Delivery._meta.db_table, notices_sql.push_receipts_select(where, cond))
        return _run(statement, [message.pk, message.source, message.kind, message.urgency, channel, "pending", now, now,
                                unsent.pk, *filter_params])

    # Emergency: an SMS to every guardian with a phone, one each, once.
    assert insert("sms", notices_sql.sms_condition(True, **{k: exists[k] for k in ("wechat", "email", "sms")})) == len(with_phone) > 1
    assert set(Delivery.objects.filter(channel="sms").values_list("ref", flat=True)) == with_phone
    assert insert("sms", notices_sql.sms_condition(True, **{k: exists[k] for k in ("wechat", "email", "sms")})) == 0
    # WeChat: only the guardian who bound it.
    assert insert("wechat", exists["wechat"]) == 1
    assert list(Delivery.objects.filter(channel="wechat").values_list("guardian_id", flat=True)) == [wechat_guardian.pk]
    # Normal notices text only those the platform cannot reach otherwise: no account, no WeChat, no e-mail.
    unreachable = set(receipts.filter(guardian__user__isnull=True).exclude(guardian__phone_digest="").values_list("id", flat=True))
    normal = notices_sql.sms_condition(False, **{k: exists[k] for k in ("wechat", "email", "sms")})
    with connection.cursor() as cur:
        cur.execute(notices_sql.push_receipts_select(where, normal), [unsent.pk])
        assert {ref for _g, ref in cur.fetchall()} == unreachable
    # A reminder's rows: unread receipts not reminded since the cutoff.
    read = receipts.first()
    Receipt.objects.filter(pk=read.pk).update(read_at=now)
    reminded = receipts.exclude(pk=read.pk).first()
    Receipt.objects.filter(pk=reminded.pk).update(reminded_at=now)
    unread_where = notices_sql.push_receipts_where(only_unread=True, receipt_filter=notices_sql.REMINDER_DUE)
    with connection.cursor() as cur:
        cur.execute(notices_sql.push_receipts_select(unread_where, "true"), [unsent.pk, now - dt.timedelta(minutes=1)])
        assert {ref for _g, ref in cur.fetchall()} == set(receipts.values_list("id", flat=True)) - {read.pk, reminded.pk}
    assert Guardian.objects.filter(pk=wechat_guardian.pk).exists()


# --- audit/sql.py and the rest of ledger/sql.py -----------------------------------------------------------
def test_the_seal_lock_is_taken_once_and_the_seal_update_links_only_an_unsealed_row(world):

    with connection.cursor() as cur:
        cur.execute(audit_sql.SEAL_LOCK, [_SEAL_LOCK_KEYS[AuditEvent]])
        cur.fetchone()  # void: it returns when the lock is ours
        cur.execute(audit_sql.SEAL_TRY_LOCK, [_SEAL_LOCK_KEYS[AuditEvent]])
        assert cur.fetchone() == (True,)  # re-entrant for the holder; other sessions get False until it commits
    row = record("test.sql_contract", model="test", object_id=1, actor=None)
    assert AuditEvent.objects.filter(pk=row.pk, hash=None).exists()  # sealed after commit, which a test never reaches
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cur:
        cur.executemany(audit_sql.seal_update(table), [(10_001, "p" * 64, "k1", "h" * 64, row.pk)])
        cur.executemany(audit_sql.seal_update(table), [(10_002, "q" * 64, "k2", "x" * 64, row.pk)])  # already sealed
    assert AuditEvent.objects.filter(pk=row.pk).values_list("seq", "prev_hash", "key_id", "hash").get() == (
        10_001, "p" * 64, "k1", "h" * 64,
    )


def test_the_bulk_append_writes_one_unsealed_row_per_object_that_then_seals_and_verifies(world, django_assert_num_queries):
    rows = [(i, {"via": "roster.import", "name": f"学生{i}", "at": dt.date(2026, 9, 1)}) for i in range(1, 5003)]
    with django_assert_num_queries(2):  # 5,002 rows: two statements of at most 5,000
        assert record_many("create", model="people.student", rows=rows, actor=world.teacher_a1) == 5002
    written = AuditEvent.objects.filter(action="create", model="people.student", actor_id=world.teacher_a1.pk)
    assert written.count() == 5002 and not written.exclude(hash=None).exists()
    first = written.get(object_id="1")
    assert first.changes == {"via": "roster.import", "name": "学生1", "at": "2026-09-01"}  # jsonb, as record() writes it
    assert (first.actor_label, first.key_id, first.prev_hash, first.seq) == (f"user:{world.teacher_a1.pk}", "", "", None)
    _seal_table(AuditEvent, wait=True, batch=2000)
    assert not written.filter(hash=None).exists()
    assert verify_chain(AuditEvent).ok


def test_the_roster_imports_audit_rows_are_described_by_the_database_as_python_would_write_them(world):
    """roster/sql.py through audit's record_many_from: the same changes record_many writes on SQLite."""
    student, guardian = world.child_a1, world.guardians["parent_a1"]
    assert student.id_number and guardian.phone
    n = record_many_from("create", model="people.student", select_sql=roster_sql.CREATED_STUDENTS_AUDIT,
                         params=[[student.pk, world.child_b1.pk]], actor=world.teacher_a1)
    m = record_many_from("create", model="people.guardian", select_sql=roster_sql.CREATED_GUARDIANS_AUDIT,
                         params=[[guardian.pk]], actor=world.teacher_a1)
    assert (n, m) == (2, 1)
    row = AuditEvent.objects.get(model="people.student", object_id=str(student.pk), action="create", actor_id=world.teacher_a1.pk)
    assert row.changes == {"via": "roster.import", "name": student.name, "school_class_id": student.school_class_id,
                           "student_no": "***", "id_number": "***"}
    assert row.hash is None and row.actor_label == f"user:{world.teacher_a1.pk}"
    g_row = AuditEvent.objects.get(model="people.guardian", object_id=str(guardian.pk), action="create", actor_id=world.teacher_a1.pk)
    assert g_row.changes == {"via": "roster.import", "name": guardian.name, "phone": "***"}
    assert guardian.phone not in json.dumps(g_row.changes) and student.id_number not in json.dumps(row.changes)


def test_the_ledger_analyze_statement_names_its_table(world):

    statement = ledger_sql.analyze(FamilyPeriod._meta.db_table)
    assert statement == f"ANALYZE {FamilyPeriod._meta.db_table}"
    with connection.cursor() as cur:
        cur.execute(statement)
