"""Field encryption: ID numbers, 学籍号 and phones are ciphertext at rest, readable through the model, findable
by digest, and survive a key rotation."""

import importlib
import io

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from audit.models import AuditEvent
from core import crypto
from core.crypto import decrypt, digest, encrypt, mask_id_number, mask_phone, mask_student_no
from people.models import Guardian, Student

ID = "110101201501010011"
NEW_KEY = "new-field-key-0123456789abcdefghijklmnopqrstuvwxyz"


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - fixed names
        return cur.fetchone()[0]


def test_id_number_and_phone_are_stored_encrypted(world):
    student = world.child_a1
    guardian = world.guardians["unactivated_a1"]
    raw_id = _raw("people_student", "id_number", student.pk)
    raw_phone = _raw("people_guardian", "phone", guardian.pk)
    for raw, plain in ((raw_id, ID), (raw_phone, "13912345678")):
        assert raw.startswith("gAAAA")  # a Fernet token
        assert plain not in raw and plain[-4:] not in raw
    # Every non-empty value in these columns is a token, and none holds any guardian's phone in clear.
    phones = [g.phone for g in Guardian.objects.all() if g.phone]
    with connection.cursor() as cur:
        cur.execute("SELECT id_number FROM people_student UNION ALL SELECT phone FROM people_guardian")
        values = [v for (v,) in cur.fetchall() if v]
    assert len(values) == 1 + len(phones) == 7
    for v in values:
        assert v.startswith("gAAAA") and decrypt(v)
        assert not any(p in v for p in phones + [ID])


def test_values_decrypt_on_read(world):
    assert Student.objects.get(pk=world.child_a1.pk).id_number == ID
    assert Guardian.objects.get(pk=world.guardians["unactivated_a1"].pk).phone == "13912345678"
    assert Student.objects.filter(pk=world.child_a1.pk).values_list("id_number", flat=True).get() == ID
    # Empty stays empty (not an encrypted empty string), so "has no ID number" is a plain query.
    assert _raw("people_student", "id_number", world.child_a2.pk) == ""
    assert Student.objects.filter(id_number="").count() == 3


def test_ciphertext_is_randomised_but_digest_is_stable(world):
    assert encrypt(ID) != encrypt(ID)
    assert decrypt(encrypt(ID)) == ID
    assert digest(ID) == digest(ID) == digest(f" {ID} ")
    assert digest("11010120150101001x") == digest("11010120150101001X")
    assert digest(ID) != digest("110101201501010029")
    assert digest("") == ""
    assert world.child_a1.id_digest == digest(ID)


def test_lookup_by_digest(world):
    assert list(Student.objects.filter(id_digest=digest(ID))) == [world.child_a1]
    guardian = world.guardians["unactivated_a1"]
    assert list(Guardian.objects.filter(phone_digest=digest("13912345678"))) == [guardian]
    # Changing the value moves the digest with it.
    guardian.phone = "13700001111"
    guardian.save()
    assert not Guardian.objects.filter(phone_digest=digest("13912345678")).exists()
    assert Guardian.objects.get(phone_digest=digest("13700001111")) == guardian


def test_comparing_ciphertext_with_a_value_is_refused(world):
    # It could never match (randomised ciphertext); a silent empty result would hide the bug.
    for lookup in ({"id_number": ID}, {"id_number__contains": "0101"}, {"id_number__startswith": "1101"}):
        with pytest.raises(FieldError):
            list(Student.objects.filter(**lookup))


def test_key_rotation(world, settings):
    old_key = settings.GONGYU_FIELD_KEYS[0]
    student = world.child_a1
    old_token = _raw("people_student", "id_number", student.pk)
    old_digest = digest(ID)

    settings.GONGYU_FIELD_KEYS = [NEW_KEY, old_key]  # the setting_changed signal clears the key caches
    assert Student.objects.get(pk=student.pk).id_number == ID  # old ciphertext still decrypts
    assert digest(ID) == old_digest  # the digest key is the LAST key: lookups survive the rotation
    assert Student.objects.get(id_digest=digest(ID)).pk == student.pk

    other = Student.objects.get(pk=world.child_a2.pk)
    other.id_number = "110101201502020021"
    other.save()
    new_token = _raw("people_student", "id_number", other.pk)

    settings.GONGYU_FIELD_KEYS = [NEW_KEY]
    assert decrypt(new_token) == "110101201502020021"  # new writes use the new key
    with pytest.raises(ValueError):
        decrypt(old_token)

    settings.GONGYU_FIELD_KEYS = [old_key]
    with pytest.raises(ValueError):
        decrypt(new_token)


def test_rotation_command_reencrypts_and_keeps_digests(world, settings):
    old_key = settings.GONGYU_FIELD_KEYS[0]
    old_digest = world.child_a1.id_digest
    settings.GONGYU_FIELD_KEYS = [NEW_KEY, old_key]
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "people.student: 4 rows re-encrypted" in out.getvalue()
    assert "people.guardian: 6 rows re-encrypted" in out.getvalue()

    # Every value now decrypts with the new key alone, and is unchanged; digests did not move.
    settings.GONGYU_FIELD_KEYS = [NEW_KEY]
    settings.GONGYU_DIGEST_KEY = old_key  # the old key may leave the list once the digest key is pinned
    assert Student.objects.get(pk=world.child_a1.pk).id_number == ID
    assert Guardian.objects.get(pk=world.guardians["unactivated_a1"].pk).phone == "13912345678"
    assert Student.objects.get(id_digest=digest(ID)).pk == world.child_a1.pk
    assert digest(ID) == old_digest
    # One summary row per model, not one per value (the values did not change).
    actions = list(AuditEvent.objects.filter(pk__gt=last).values_list("action", "model"))
    assert ("crypto.rotate", "people.student") in actions and ("crypto.rotate", "people.guardian") in actions
    assert {a for a, _m in actions} == {"crypto.rotate"}


def test_new_digest_key_recomputes_every_digest(world, settings):
    settings.GONGYU_DIGEST_KEY = NEW_KEY
    assert digest(ID) != world.child_a1.id_digest
    assert not Student.objects.filter(id_digest=digest(ID)).exists()  # stale until recomputed
    crypto.rotate_encrypted_fields()
    assert Student.objects.get(id_digest=digest(ID)).pk == world.child_a1.pk
    assert Guardian.objects.get(phone_digest=digest("13912345678")).pk == world.guardians["unactivated_a1"].pk


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("", ""), ("12345", "*****"), ("010-12345678", "010****5678")],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [(ID, "110***********0011"), ("11010120150101001X", "110***********001X"), ("", ""), ("1234567", "*******")],
)
def test_mask_id_number(value, masked):
    assert mask_id_number(value) == masked
    assert len(mask_id_number(value)) == len(value)


# --- the 学籍号 ("G" + the ID number) is treated exactly like the ID number -----------------------------
STUDENT_NO = "G" + ID


def test_student_no_is_stored_encrypted_and_found_by_digest(world):
    with connection.cursor() as cur:
        cur.execute("SELECT student_no, student_no_digest FROM people_student")
        rows = cur.fetchall()
    assert len(rows) == 4
    for token, stored_digest in rows:
        assert token.startswith("gAAAA") and ID[-8:] not in token and ID[-4:] not in stored_digest
        assert stored_digest == digest(decrypt(token))
    assert Student.objects.get(pk=world.child_a1.pk).student_no == STUDENT_NO
    assert list(Student.objects.filter(student_no_digest=digest(STUDENT_NO))) == [world.child_a1]
    assert list(Student.objects.with_student_no(STUDENT_NO.lower(), "G-NOT-THERE")) == [world.child_a1]
    for lookup in ({"student_no": STUDENT_NO}, {"student_no__contains": "0101"}, {"student_no__iendswith": "0011"}):
        with pytest.raises(FieldError):
            list(Student.objects.filter(**lookup))


def test_student_no_digest_follows_the_value_and_is_unique_in_the_district(world):
    student = world.child_a2
    student.student_no = "G110101201502020099"
    student.save()
    assert Student.objects.with_student_no("G110101201502020099").get() == student
    assert not Student.objects.with_student_no("G110101201502020022").exists()
    # bulk_create bypasses save(): the digest is still filled, so the unique rule still holds.
    twin = Student(district=world.district, school=world.school_a, school_class=world.class_a1, name="重号", student_no=STUDENT_NO)
    with pytest.raises(IntegrityError), transaction.atomic():
        Student.objects.bulk_create([twin])


def test_rotation_reencrypts_the_student_no_and_keeps_its_digest(world, settings):
    old_key = settings.GONGYU_FIELD_KEYS[0]
    old_token = _raw("people_student", "student_no", world.child_a1.pk)
    settings.GONGYU_FIELD_KEYS = [NEW_KEY, old_key]
    crypto.rotate_encrypted_fields()
    settings.GONGYU_FIELD_KEYS = [NEW_KEY]
    settings.GONGYU_DIGEST_KEY = old_key
    new_token = _raw("people_student", "student_no", world.child_a1.pk)
    assert new_token != old_token and decrypt(new_token) == STUDENT_NO
    assert Student.objects.with_student_no(STUDENT_NO).get().pk == world.child_a1.pk
    # A new digest key: every 学籍号 digest is recomputed too.
    settings.GONGYU_DIGEST_KEY = "another-digest-key-0123456789abcdefghijklmnop"
    assert not Student.objects.with_student_no(STUDENT_NO).exists()
    crypto.rotate_encrypted_fields()
    assert Student.objects.with_student_no(STUDENT_NO).get().pk == world.child_a1.pk


def test_migration_encrypts_stored_student_nos_and_fills_their_digests(world):
    migration = importlib.import_module("people.migrations.0003_student_no_encrypted")
    # A row as it was before the migration: the 学籍号 in clear, no digest.
    with connection.cursor() as cur:
        cur.execute("UPDATE people_student SET student_no = %s, student_no_digest = '' WHERE id = %s", [STUDENT_NO, world.child_a1.pk])
    editor = type("Editor", (), {"connection": connection})()
    migration.encrypt_rows(None, editor)
    migration.encrypt_rows(None, editor)  # safe to run again
    token = _raw("people_student", "student_no", world.child_a1.pk)
    assert token.startswith("gAAAA") and decrypt(token) == STUDENT_NO
    assert Student.objects.with_student_no(STUDENT_NO).get().pk == world.child_a1.pk
    assert Student.objects.get(pk=world.child_a2.pk).student_no == "G110101201502020022"  # already encrypted: unchanged
    migration.decrypt_rows(None, editor)
    assert _raw("people_student", "student_no", world.child_a1.pk) == STUDENT_NO


@pytest.mark.parametrize(
    ("value", "masked"),
    [(STUDENT_NO, "G…0011"), ("G11010120150101001X", "G…001X"), ("12345678", "…5678"), ("", ""), ("NEW001", "******")],
)
def test_mask_student_no(value, masked):
    assert mask_student_no(value) == masked
    # Shows nothing that the masked ID number does not already show.
    assert not value or value[1:-4] not in masked
