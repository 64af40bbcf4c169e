"""The audit log: who changed what, when and from where; append-only; hash-chained and verifiable."""

import hashlib
import hmac
import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db import connection as conn
from django.urls import reverse
from django.utils import timezone

from accounts.models import RoleAssignment, User
from accounts.roles import Role
from audit import services as audit_services
from audit.models import AccessEvent, AppendOnlyError, AuditEvent
from audit.registry import deferred_create, registered_models
from audit.services import (
    GENESIS,
    Actor,
    ActorMismatch,
    acting_as,
    actor_for,
    record,
    record_access,
    record_many,
    seal,
    verify_chain,
)
from gongyu.env import envint
from org.models import Kind, OrgUnit, School
from org.services import unit_create, unit_update
from people.models import Consent, ConsentPurpose, Guardian, Guardianship, Household, Relation, Student
from tests.world import PASSWORD, make_user

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
PHONE = "13712345678"
ID_NUMBER = "110101201601010018"


def _last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _since(last: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=last).order_by("id"))


def _one(last: int) -> AuditEvent:
    rows = _since(last)
    assert len(rows) == 1, [(r.action, r.model, r.changes) for r in rows]
    return rows[0]


def _no_plaintext(rows, *secrets):
    text = json.dumps([r.changes for r in rows], ensure_ascii=False)
    for secret in secrets:
        assert secret not in text


# --- every audited model: create, update, delete = exactly one row each -------------------------------


def _factories(w):
    """(model, create(), update(obj) -> expected changed field, sensitive fields set on create)."""

    def student():
        return Student.objects.create(
            district=w.district, school=w.school_a, school_class=w.class_a1, name="新同学", student_no="G-NEW-1", id_number=ID_NUMBER
        )

    def guardian():
        return Guardian.objects.create(district=w.district, name="新家长", phone=PHONE, id_number=ID_NUMBER)

    def rename(field, value):
        def update(obj):
            setattr(obj, field, value)
            obj.save()
            return field

        return update

    return [
        (User, lambda: User.objects.create_user(PHONE, "pw-Strong-2026!", name="新用户"), rename("name", "改名"), {"phone"}),
        (RoleAssignment, lambda: RoleAssignment.objects.create(
            user=w.outsider, role=Role.SUBJECT_TEACHER, unit=w.class_a2, district=w.district), rename("title", "数学"), set()),
        (OrgUnit, lambda: OrgUnit.objects.create(kind=Kind.COMMUNITY, name="临时社区", parent=w.street_1, district=w.district),
         rename("name", "新社区"), set()),
        (Student, student, rename("name", "改名同学"), {"id_number"}),
        (Guardian, guardian, rename("name", "改名家长"), {"phone", "id_number"}),
        (Guardianship, lambda: Guardianship.objects.create(guardian=w.guardians["parent_a2"], student=w.child_a1, relation=Relation.OTHER),
         rename("is_primary", True), set()),
        (Household, lambda: Household.objects.create(district=w.district), rename("district_id", w.other_district.pk), set()),
        (Consent, lambda: Consent.objects.create(
            district=w.district, guardian=w.guardians["parent_a1"], purpose=ConsentPurpose.PHOTO_PUBLICITY, rules_version="2026.1",
            given_at=timezone.now()), rename("withdrawn_at", timezone.now()), set()),
    ]


def test_the_registry_covers_people_and_org_data():
    assert set(registered_models()) >= {User, RoleAssignment, OrgUnit, Student, Guardian, Guardianship, Household, Consent}


@pytest.mark.parametrize("index", range(8), ids=["user", "role", "orgunit", "student", "guardian", "guardianship", "household", "consent"])
def test_create_update_delete_write_exactly_one_row_each(world, index):
    model, create, update, sensitive = _factories(world)[index]
    label = model._meta.label_lower

    last = _last_id()
    obj = create()
    row = _one(last)
    assert (row.action, row.model, row.object_id) == ("create", label, str(obj.pk))
    assert (row.actor_id, row.actor_label, row.ip) == (None, "system", None)  # no request: the system acted
    assert abs((timezone.now() - row.at).total_seconds()) < 60
    for name in sensitive:
        assert row.changes[name] == "***"

    last = _last_id()
    field = update(obj)
    row = _one(last)
    assert (row.action, row.model, row.object_id) == ("update", label, str(obj.pk))
    assert list(row.changes) == [model._meta.get_field(field).attname]

    last = _last_id()
    pk = obj.pk
    obj.delete()
    row = _one(last)
    assert (row.action, row.model, row.object_id) == ("delete", label, str(pk))
    assert row.changes  # what was deleted, so that it can be reconstructed
    for name in sensitive:
        assert row.changes[name] == "***"
    _no_plaintext(_since(0), PHONE, ID_NUMBER, PHONE[-4:] + '"')


def test_saving_without_a_change_writes_nothing(world):
    student = Student.objects.get(pk=world.child_a1.pk)
    last = _last_id()
    student.save()
    assert _since(last) == []


def test_sensitive_changes_are_recorded_as_changed_never_as_text(world):
    guardian = world.guardians["unactivated_a1"]
    last = _last_id()
    guardian.phone = PHONE
    guardian.id_number = ID_NUMBER
    guardian.save()
    row = _one(last)
    assert row.changes == {"phone": ["***", "***"], "id_number": ["", "***"]}  # no digest column either

    # User.phone is a plain column, but it is a phone number all the same.
    user = make_user("x")
    last = _last_id()
    user.phone = PHONE
    user.save()
    assert _one(last).changes == {"phone": ["***", "***"]}
    _no_plaintext(_since(0), PHONE, ID_NUMBER, "13912345678", "110101201501010011")


def test_passwords_and_digests_are_never_recorded(world):
    user = make_user("pw")
    last = _last_id()
    user.set_password("Another-pass-2026")
    user.save()
    row = _one(last)  # password_changed_at changed, and is the only thing said about it
    assert set(row.changes) == {"password_changed_at"}
    all_keys = {k for r in _since(0) for k in r.changes}
    assert not {"password", "phone_digest", "id_digest", "last_login", "session_epoch"} & all_keys


def test_update_fields_records_only_what_was_written(world):
    user = User.objects.get(pk=world.teacher_a1.pk)
    user.name = "not saved"
    user.care_mode = True
    last = _last_id()
    user.save(update_fields=["care_mode"])
    assert _one(last).changes == {"care_mode": [False, True]}


def test_a_proxy_model_is_audited_as_its_table(world):
    school = School.objects.get(pk=world.school_a.pk)
    last = _last_id()
    school.name = "东城实验小学（新校区）"
    school.save()
    row = _one(last)
    assert (row.action, row.model, row.changes["name"][1]) == ("update", "org.orgunit", "东城实验小学（新校区）")


def test_service_actor_is_recorded(world):
    last = _last_id()
    with acting_as(actor_for(world.school_admin_a, ip="10.1.2.3")):
        unit_update(actor=world.school_admin_a, unit=world.class_a1, name="三(1)班·星光")
    row = _one(last)
    assert (row.actor_id, row.actor_label, row.ip) == (world.school_admin_a.pk, f"user:{world.school_admin_a.pk}", "10.1.2.3")


# --- through a real request ------------------------------------------------------------------------------


def test_a_request_is_recorded_with_its_user_and_address(world, client):
    user = world.parent_a1
    client.force_login(user)
    last = _last_id()
    response = client.post(reverse("accounts:care_mode"), REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.66")
    assert response.status_code == 302
    row = _one(last)
    assert (row.action, row.model, row.object_id) == ("update", "accounts.user", str(user.pk))
    # The toggle also notes when the choice was made (care mode is then no longer offered to a grandparent).
    assert row.changes["care_mode"] == [False, True] and set(row.changes) == {"care_mode", "care_mode_chosen_at"}
    assert (row.actor_id, row.actor_label) == (user.pk, f"user:{user.pk}")
    # Without a configured proxy, a client-supplied X-Forwarded-For is not believed.
    assert row.ip == "203.0.113.9"
    assert verify_chain().ok


def test_log_in_and_log_out_are_recorded(world, client):
    user = world.teacher_a1
    last = _last_id()
    client.post(reverse("accounts:login"), {"username": user.phone, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")
    client.post(reverse("accounts:logout"), REMOTE_ADDR="198.51.100.7")
    actions = [(r.action, r.actor_id, r.ip) for r in _since(last) if r.action.startswith("auth.")]
    assert ("auth.login", user.pk, "198.51.100.7") in actions
    assert ("auth.logout", user.pk, "198.51.100.7") in actions


def test_sensitive_read_hook_writes_an_access_row(world):
    before = AccessEvent.objects.count()
    row = record_access(user=world.school_admin_a, obj=world.child_a1, reason="核对身份证号", ip="10.0.0.8")
    assert AccessEvent.objects.count() == before + 1
    assert (row.actor_id, row.model, row.object_id, row.reason, row.ip) == (
        world.school_admin_a.pk, "people.student", str(world.child_a1.pk), "核对身份证号", "10.0.0.8")
    assert verify_chain(AccessEvent).ok


# --- the org tree: the create row shows the final materialised path ---------------------------------------


def test_deferred_create_records_the_final_state_once(world):
    # The sequence unit_create needs: insert, then set the path that contains the new primary key.
    last = _last_id()
    with transaction.atomic():
        unit = OrgUnit(kind=Kind.COMMUNITY, name="新社区", parent=world.street_1, district=world.district, depth=2)
        with deferred_create(unit):
            unit.save()
            unit.path = f"{world.street_1.path}{unit.pk}/"
            OrgUnit.objects.filter(pk=unit.pk).update(path=unit.path)
    row = _one(last)
    assert row.action == "create" and row.changes["path"] == unit.path


def test_deferred_create_records_nothing_when_the_block_fails(world):
    last = _last_id()
    with pytest.raises(RuntimeError), transaction.atomic():
        unit = OrgUnit(kind=Kind.COMMUNITY, name="失败社区", parent=world.street_1, district=world.district)
        with deferred_create(unit):
            unit.save()
            raise RuntimeError
    assert _since(last) == []


def test_unit_create_records_the_final_path(world):
    last = _last_id()
    unit = unit_create(actor=None, kind=Kind.COMMUNITY, name="北社区", parent=world.street_1)
    row = _one(last)
    assert row.changes["path"] == unit.path == f"{world.street_1.path}{unit.pk}/"
    assert row.changes["district_id"] == world.district.pk


# --- append-only and the hash chain ---------------------------------------------------------------------

_TRIGGERS = {
    "postgresql": ["ALTER TABLE {t} DISABLE TRIGGER {t}_append_only"],
    "sqlite": ["DROP TRIGGER {t}_no_update", "DROP TRIGGER {t}_no_delete"],
}


def _drop_append_only(table: str) -> None:
    """Tampering as a database owner would. The test's transaction rolls this back."""
    with connection.cursor() as cur:
        for sql in _TRIGGERS[connection.vendor]:
            cur.execute(sql.format(t=table))


def _set_changes(pk: int, changes: dict) -> None:
    cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cur:
        cur.execute(f"UPDATE audit_auditevent SET changes = {cast} WHERE id = %s", [json.dumps(changes), pk])  # noqa: S608


def _verify_output() -> tuple[str, bool]:
    out = io.StringIO()
    try:
        call_command("audit_verify", stdout=out)
    except CommandError as exc:
        assert "audit chain verification failed" in str(exc)
        return out.getvalue(), False
    return out.getvalue(), True


def test_rows_link_to_their_predecessor(world):
    assert AuditEvent.objects.filter(hash=None).exists()  # written unsealed: no writer reads the chain head
    seal()
    assert not AuditEvent.objects.filter(hash=None).exists()
    rows = list(AuditEvent.objects.order_by("seq"))
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) > 20
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))


def test_verify_reports_ok_with_the_number_of_rows(world):
    record_access(user=world.teacher_a1, obj=world.child_a1, reason="家访前核对")
    output, ok = _verify_output()
    assert ok
    assert f"audit.AuditEvent: OK, {AuditEvent.objects.count()} rows verified" in output
    assert f"audit.AccessEvent: OK, {AccessEvent.objects.count()} rows verified" in output


def test_verify_finds_an_altered_row(world):
    seal()
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    victim = ids[len(ids) // 2]
    original = AuditEvent.objects.get(pk=victim).changes
    _drop_append_only("audit_auditevent")
    _set_changes(victim, {**original, "name": "篡改"})

    report = verify_chain()
    assert (report.ok, report.first_broken_id, report.checked) == (False, victim, ids.index(victim))
    assert "altered" in report.problem
    output, ok = _verify_output()
    assert not ok
    assert f"audit.AuditEvent: BROKEN at row id={victim} after {ids.index(victim)} good rows" in output


def test_verify_finds_a_removed_row(world):
    seal()
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    victim, following = ids[len(ids) // 2], ids[len(ids) // 2 + 1]
    _drop_append_only("audit_auditevent")
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditevent WHERE id = %s", [victim])
    report = verify_chain()
    assert (report.ok, report.first_broken_id) == (False, following)
    assert "removed" in report.problem
    output, ok = _verify_output()
    assert not ok and f"BROKEN at row id={following}" in output


def _verify_output_with(*args) -> tuple[str, bool]:
    out = io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError:
        return out.getvalue(), False
    return out.getvalue(), True


def test_an_anchor_kept_outside_catches_removal_of_the_newest_rows(world):
    report = verify_chain()
    anchor = f"{report.last_id}:{report.last_hash}"
    output, ok = _verify_output()
    assert ok and f"head {anchor}" in output
    record("test.later", model="test", object_id=1)
    output, ok = _verify_output_with("--anchor", anchor)
    assert ok and f"anchor {report.last_id} present" in output

    # Cutting the tail leaves a valid, shorter chain: only the anchor notices.
    _drop_append_only("audit_auditevent")
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditevent WHERE id >= %s", [report.last_id])
    assert verify_chain().ok
    output, ok = _verify_output_with("--anchor", anchor)
    assert not ok and f"anchor {anchor} not found" in output
    output, ok = _verify_output_with("--anchor", "garbage")
    assert not ok


def test_verify_finds_an_altered_access_row(world):
    first = record_access(user=world.teacher_a1, obj=world.child_a1, reason="家访")
    record_access(user=world.teacher_a1, obj=world.child_a1, reason="复核")
    seal()
    _drop_append_only("audit_accessevent")
    with connection.cursor() as cur:
        cur.execute("UPDATE audit_accessevent SET reason = %s WHERE id = %s", ["无", first.pk])
    assert verify_chain(AccessEvent).first_broken_id == first.pk
    output, ok = _verify_output()
    assert not ok and "audit.AuditEvent: OK" in output and f"audit.AccessEvent: BROKEN at row id={first.pk}" in output


def test_an_ipv6_address_keeps_the_chain_valid(world):
    # PostgreSQL's inet type rewrites IPv6 text; the hash must be over what the database returns.
    with acting_as(actor_for(world.teacher_a1, ip="2001:DB8:0:0::1")):
        row = record("test.ipv6", model="test", object_id=1)
    with acting_as(actor_for(world.teacher_a1, ip="not-an-address")):
        record("test.ipv6", model="test", object_id=2)
    assert AuditEvent.objects.get(pk=row.pk).ip == "2001:db8::1"
    assert verify_chain().ok


def test_audit_rows_cannot_be_changed_or_removed(world):
    row = AuditEvent.objects.order_by("id").first()
    access = record_access(user=world.teacher_a1, obj=world.child_a1, reason="核对")
    for table, pk in (("audit_auditevent", row.pk), ("audit_accessevent", access.pk)):
        for sql in (f"UPDATE {table} SET object_id = 'x' WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):  # noqa: S608
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql, [pk])
    # The ORM says no before the database has to.
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=row.pk).update(object_id="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=row.pk).delete()
    with pytest.raises(AppendOnlyError):
        row.delete()
    row.object_id = "x"
    with pytest.raises(AppendOnlyError):
        row.save()
    assert AuditEvent.objects.get(pk=row.pk).object_id != "x"
    assert verify_chain().ok and verify_chain(AccessEvent).ok


# --- the keyed chain, rotation, recomputation without the key -------------------------------------------


def _reseal_from(pk: int, key: bytes | None, *, plain: bool = False) -> None:
    """Recompute every hash from row pk onward, as someone with write access but without the audit key would."""
    rows = list(AuditEvent.objects.filter(seq__gte=AuditEvent.objects.get(pk=pk).seq).order_by("seq"))
    prev = AuditEvent.objects.filter(seq=rows[0].seq - 1).values_list("hash", flat=True).first() or GENESIS
    with connection.cursor() as cur:
        for row in rows:
            row.prev_hash = prev
            canonical = audit_services._canonical(row)
            prev = hashlib.sha256(canonical).hexdigest() if plain else hmac.new(key, canonical, hashlib.sha256).hexdigest()
            cur.execute("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [row.prev_hash, prev, row.pk])


def test_the_chain_is_an_hmac_under_the_configured_key(world):
    row = record("test.keyed", model="test", object_id=1, actor=None)
    seal()
    row = AuditEvent.objects.get(pk=row.pk)
    key = django_settings.GONGYU_AUDIT_KEYS[django_settings.GONGYU_AUDIT_KEY_ID].encode()
    assert row.key_id == django_settings.GONGYU_AUDIT_KEY_ID
    assert row.hash == hmac.new(key, audit_services._canonical(row), hashlib.sha256).hexdigest()
    assert row.hash != hashlib.sha256(audit_services._canonical(row)).hexdigest()


@pytest.mark.parametrize("how", ["wrong key", "plain sha256"])
def test_verify_names_the_first_row_of_a_chain_recomputed_without_the_key(world, how):
    seal()
    ids = list(AuditEvent.objects.order_by("seq").values_list("id", flat=True))
    victim = ids[len(ids) // 2]
    _drop_append_only("audit_auditevent")
    _set_changes(victim, {"name": "篡改"})
    _reseal_from(victim, b"not-the-audit-key-0123456789abcdef", plain=how == "plain sha256")
    # The links are consistent again (what passed audit_verify before the chain was keyed) …
    rows = list(AuditEvent.objects.order_by("seq"))
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    # … but the HMAC is not: verify names the first rewritten row.
    report = verify_chain()
    assert (report.ok, report.first_broken_id, report.checked) == (False, victim, ids.index(victim))
    assert "without the audit key" in report.problem
    output, ok = _verify_output()
    assert not ok and f"audit.AuditEvent: BROKEN at row id={victim}" in output


def test_rows_under_an_old_and_a_new_key_id_verify_after_rotation(world, settings):
    old_id, old_key = settings.GONGYU_AUDIT_KEY_ID, settings.GONGYU_AUDIT_KEYS[settings.GONGYU_AUDIT_KEY_ID]
    record("test.before_rotation", model="test", object_id=1, actor=None)
    seal()
    settings.GONGYU_AUDIT_KEY_ID = "k2"
    settings.GONGYU_AUDIT_KEYS = {"k2": "a-new-audit-key-for-the-rotation-test-0123", old_id: old_key}
    first_new = record("test.after_rotation", model="test", object_id=2, actor=None)
    seal()
    assert set(AuditEvent.objects.values_list("key_id", flat=True)) == {old_id, "k2"}
    assert AuditEvent.objects.get(pk=first_new.pk).key_id == "k2"
    report = verify_chain()
    assert report.ok, report
    assert report.checked == AuditEvent.objects.count()

    # Dropping the retired key from the ring is reported at the first row sealed under it.
    settings.GONGYU_AUDIT_KEYS = {"k2": settings.GONGYU_AUDIT_KEYS["k2"]}
    report = verify_chain()
    first_old = AuditEvent.objects.order_by("seq").first()
    assert (report.ok, report.first_broken_id) == (False, first_old.pk)
    assert "not in the key ring" in report.problem


def test_a_sealed_row_cannot_be_resealed_and_an_unsealed_row_only_sealed(world):
    sealed_row = record("test.sealed", model="test", object_id=1, actor=None)
    seal()
    unsealed = record("test.unsealed", model="test", object_id=2, actor=None)
    attempts = [
        ("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, sealed_row.pk]),
        ("UPDATE audit_auditevent SET seq = seq + 1000 WHERE id = %s", [sealed_row.pk]),
        ("UPDATE audit_auditevent SET seq = 999999 WHERE id = %s", [unsealed.pk]),  # no hash: not a seal
        ("UPDATE audit_auditevent SET hash = %s, object_id = 'x' WHERE id = %s", ["e" * 64, unsealed.pk]),  # seal + change
    ]
    for sql, args in attempts:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, args)
    assert verify_chain().ok


def test_the_actor_is_recorded_as_passed(world):
    teacher = world.teacher_a1
    with acting_as(actor_for(teacher, ip="10.1.2.3")):
        row = record("test.explicit", model="test", object_id=1, actor=teacher)
        system_row = record("test.explicit", model="test", object_id=2, actor=None)
    assert (row.actor_id, row.actor_label, row.ip) == (teacher.pk, f"user:{teacher.pk}", "10.1.2.3")
    assert (system_row.actor_id, system_row.actor_label) == (None, "system")


def test_registry_rows_name_the_actor_the_service_was_given(world):
    """Signals cannot take an argument: the service sets instance._audit_actor, and the registry uses it."""
    admin = world.district_admin
    last = _last_id()
    with acting_as(actor_for(admin, ip="10.9.8.7")):
        unit_update(actor=admin, unit=OrgUnit.objects.get(pk=world.street_1.pk), name="东街道（新）")
    row = _one(last)
    assert (row.action, row.actor_id, row.ip) == ("update", admin.pk, "10.9.8.7")
    last = _last_id()
    unit_create(actor=None, kind=Kind.COMMUNITY, name="系统社区", parent=world.street_1)  # None: the system
    assert (_one(last).actor_id, _one(last).actor_label) == (None, "system")


def test_a_write_recorded_for_someone_other_than_the_requester_is_flagged(world):
    with acting_as(actor_for(world.teacher_a1)), pytest.raises(ActorMismatch):
        record("test.mismatch", model="test", object_id=1, actor=world.subject_teacher_a1)
    # A service that acts for someone else on purpose says so.
    with acting_as(actor_for(world.teacher_a1)):
        row = record("test.on_behalf", model="test", object_id=1, actor=Actor(world.subject_teacher_a1.pk, "job", on_behalf=True))
    assert row.actor_id == world.subject_teacher_a1.pk


def test_a_transaction_seals_once_after_commit_however_many_rows_it_appends(world):
    rows = [record("test.many", model="test", object_id=i, actor=None) for i in range(3)]
    pending = [fn for _sids, fn, *_rest in connection.run_on_commit if getattr(fn, "audit_model", None) is AuditEvent]
    assert len(pending) == 1  # the world's rows and these three: one seal after this test's transaction commits
    audit_services._last_seal_try.clear()  # this process may have tried a moment ago (the throttle)
    pending[0]()  # what the commit runs
    assert all(AuditEvent.objects.get(pk=r.pk).hash for r in rows)


def test_a_bulk_write_records_one_row_per_object_in_the_chain(world):
    last = _last_id()
    students = [world.child_a1, world.child_a2]
    assert audit_services.record_many("roster.import_row", model="people.student", actor=world.teacher_a1,
                                      rows=[(s.pk, {"name": s.name}) for s in students]) == 2
    rows = _since(last)
    assert [(r.object_id, r.changes, r.actor_id) for r in rows] == [(str(s.pk), {"name": s.name}, world.teacher_a1.pk) for s in students]
    assert verify_chain().ok


# --- concurrency (PostgreSQL: writers take no lock; one sealer links rows in commit order) ------------------


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL only: concurrent writers need separate connections")
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain_without_gaps():
    threads, per_thread = 8, 25
    before = AuditEvent.objects.count()
    barrier = threading.Barrier(threads)
    errors = []

    def work(n):
        try:
            barrier.wait()
            for i in range(per_thread):
                with transaction.atomic():  # each append commits (and may seal) on its own connection
                    record("test.concurrent", model="test", object_id=f"{n}-{i}", actor=None)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            conn.close()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []
    report = verify_chain()
    assert report.ok, report
    assert report.checked == before + threads * per_thread
    assert not AuditEvent.objects.filter(hash=None).exists()
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, before + threads * per_thread + 1))
    assert AuditEvent.objects.filter(action="test.concurrent").values("object_id").distinct().count() == threads * per_thread


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL only: a transaction open on another connection")
@pytest.mark.django_db(transaction=True)
def test_a_row_that_commits_after_a_later_id_is_sealed_after_it():
    """Ids are handed out at insert, rows become visible at commit: the chain follows commit order."""
    inserted, release, done = threading.Event(), threading.Event(), []

    def slow_writer():
        try:
            with transaction.atomic():
                done.append(record("test.slow", model="test", object_id=1, actor=None).pk)
                inserted.set()
                release.wait(timeout=30)
        finally:
            conn.close()

    t = threading.Thread(target=slow_writer)
    t.start()
    assert inserted.wait(timeout=30)
    fast = record("test.fast", model="test", object_id=2, actor=None)
    seal()
    assert fast.pk > done[0]
    assert AuditEvent.objects.get(pk=fast.pk).seq is not None
    release.set()
    t.join()
    report = verify_chain()
    assert report.ok, report
    slow, fast = AuditEvent.objects.get(pk=done[0]), AuditEvent.objects.get(pk=fast.pk)
    assert slow.seq == fast.seq + 1 and slow.prev_hash == fast.hash


# --- retention -----------------------------------------------------------------------------------------------


def test_retention_is_at_least_180_days(monkeypatch):
    assert django_settings.GONGYU_AUDIT_RETENTION_DAYS >= 180
    monkeypatch.setenv("GONGYU_AUDIT_RETENTION_DAYS", "179")
    with pytest.raises(ImproperlyConfigured, match="at least 180"):
        envint("GONGYU_AUDIT_RETENTION_DAYS", 365, minimum=180)
    monkeypatch.setenv("GONGYU_AUDIT_RETENTION_DAYS", "180")
    assert envint("GONGYU_AUDIT_RETENTION_DAYS", 365, minimum=180) == 180


def test_settings_refuse_a_short_retention(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "GONGYU_ENV": "test", "GONGYU_VAR_DIR": str(tmp_path), "GONGYU_AUDIT_RETENTION_DAYS": "90"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "gongyu.settings"}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0
    assert "GONGYU_AUDIT_RETENTION_DAYS must be at least 180, got 90" in done.stderr


@pytest.mark.django_db
def test_a_bulk_write_is_not_kept_waiting_for_its_own_sealing(django_capture_on_commit_callbacks, monkeypatch):
    """A small bulk write is sealed after commit; a big one (an import) leaves it all to the periodic sealer,
    which links it in commit order, and the chain verifies."""
    monkeypatch.setattr(audit_services, "_last_seal_try", {})  # this process has not tried to seal a moment ago
    with django_capture_on_commit_callbacks(execute=True):
        record_many("people.bulk_update", model="people.student", rows=[(i, {"name": "***"}) for i in range(1, 501)],
                    actor=None)
    assert AuditEvent.objects.filter(hash=None).count() == 0
    monkeypatch.setattr(audit_services, "_last_seal_try", {})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record_many("roster.import.create", model="people.student", rows=[(i, {"name": "***"}) for i in range(1, 2502)],
                    actor=None)
    assert callbacks == []  # nothing waits on the import's commit
    assert AuditEvent.objects.filter(hash=None).count() == 2501
    assert audit_services.seal() == 2501
    assert AuditEvent.objects.filter(hash=None).count() == 0
    assert verify_chain().ok


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="on SQLite every commit seals in its own process")
def test_a_commit_hands_its_seal_to_a_worker(django_capture_on_commit_callbacks, monkeypatch):
    """A request never hashes rows in its own time on PostgreSQL: the seal goes to a worker (a Huey task)."""
    handed = []
    monkeypatch.setattr(audit_services, "hand_off", handed.append)
    monkeypatch.setattr(audit_services, "_last_seal_try", {})
    with django_capture_on_commit_callbacks(execute=True):
        record("test.handed", model="test", object_id=1, actor=None)
    assert handed == ["audit.auditevent"]
    assert AuditEvent.objects.filter(action="test.handed", hash=None).exists()  # the worker seals it, not the writer
    assert audit_services.seal_model("audit.auditevent") >= 1
    assert not AuditEvent.objects.filter(hash=None).exists() and verify_chain().ok


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="on SQLite every commit seals in its own process")
def test_a_commit_seals_itself_when_the_queue_is_down(django_capture_on_commit_callbacks, monkeypatch):
    def down(label):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(audit_services, "hand_off", down)
    monkeypatch.setattr(audit_services, "_last_seal_try", {})
    with django_capture_on_commit_callbacks(execute=True):
        record("test.queue_down", model="test", object_id=2, actor=None)
    assert not AuditEvent.objects.filter(action="test.queue_down", hash=None).exists()  # sealed here instead
