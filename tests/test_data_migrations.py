"""The data migrations that move rows, run for real on this database (SQLite and PostgreSQL alike): migrate
back to the state before, write old-shape rows through the historical models, migrate forward, look.

- notices/0009_pushes_move_to_messaging: notices' deliveries and channel bindings are copied into
  messaging's tables (ids kept, so an SMS keeps its out-id), and back again on the way down (ADR 0008).
- audit/0003_keyed_chain: the unkeyed SHA-256 chain is checked, the outcome recorded in an 'audit.rekey'
  row, and every row unsealed, so that the sealer re-links it under the audit key; afterwards the chain
  verifies with audit_verify's own function (ADR 0009).

Schema changes on SQLite cannot run inside the test's transaction, hence transactional tests; each one
migrates the database back to the latest state when it ends, whatever happened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json

import pytest
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit.models import AccessEvent, AuditEvent
from audit.services import verify_chain
from messaging.models import Delivery, GuardianChannel, Message

pytestmark = pytest.mark.django_db(transaction=True)

NOTICES_BEFORE = ("notices", "0008_a_reply_implies_a_read")
NOTICES_AFTER = ("notices", "0009_pushes_move_to_messaging")
AUDIT_BEFORE = ("audit", "0002_append_only_triggers")
AUDIT_AFTER = ("audit", "0003_keyed_chain")
keyed_chain = importlib.import_module("audit.migrations.0003_keyed_chain")


def migrate(*targets):
    """Migrate to these nodes; the historical apps of that state, for old-shape rows."""
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets))
    return MigrationExecutor(connection).loader.project_state(list(targets)).apps


@pytest.fixture
def to_latest():
    """Whatever the test does, the database ends migrated to the latest state (the next tests need it)."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    executor = MigrationExecutor(connection)
    assert not executor.migration_plan(executor.loader.graph.leaf_nodes())


# --- notices' pushes into messaging ---------------------------------------------------------------------
def _old_notice_world(apps):
    OrgUnit, Guardian = apps.get_model("org", "OrgUnit"), apps.get_model("people", "Guardian")
    district = OrgUnit.objects.create(kind="district", name="迁移区", path="")
    district.path = f"/{district.pk}/"
    district.save()
    school = OrgUnit.objects.create(kind="school", name="迁移小学", parent=district, district=district, depth=1)
    school.path = f"{district.path}{school.pk}/"
    school.save()
    mum = Guardian.objects.create(name="王妈妈", phone="13800000001", district=district)
    dad = Guardian.objects.create(name="王爸爸", phone="13800000002", district=district)
    Notice, Receipt = apps.get_model("notices", "Notice"), apps.get_model("notices", "Receipt")
    notice = Notice.objects.create(district=district, sender_unit=school, title="停课通知", body="b", priority="emergency",
                                   status="published", publish_at=timezone.now(), audience={})
    receipts = [Receipt.objects.create(notice=notice, guardian=g, created_at=timezone.now()) for g in (mum, dad)]
    return notice, receipts, (mum, dad)


def test_notice_deliveries_and_channels_move_into_messaging_and_back(to_latest):
    old = migrate(NOTICES_BEFORE)
    notice, (r_mum, r_dad), (mum, dad) = _old_notice_world(old)
    OldDelivery, OldChannel = old.get_model("notices", "Delivery"), old.get_model("notices", "GuardianChannel")
    now = timezone.now().replace(microsecond=0)
    claimed = now - dt.timedelta(seconds=40)
    rows = [
        # the first round: an SMS the gateway has (sent), one still handing over (sending, claimed), an e-mail
        OldDelivery.objects.create(receipt=r_mum, notice=notice, channel="sms", kind="notice", round=1, status="sent",
                                   not_before=now, attempts=1, sent_at=now, provider_ref="gw-1", created_at=now),
        OldDelivery.objects.create(receipt=r_dad, notice=notice, channel="sms", kind="notice", round=1, status="sending",
                                   not_before=now, attempts=2, claimed_at=claimed, error="Timeout", created_at=now),
        OldDelivery.objects.create(receipt=r_dad, notice=notice, channel="email", kind="notice", round=1, status="pending",
                                   not_before=now, created_at=now),
        # the escalation's second round to the same guardian: a message of its own
        OldDelivery.objects.create(receipt=r_dad, notice=notice, channel="sms", kind="escalate", round=2, status="failed",
                                   not_before=now, attempts=5, error="Refused", created_at=now + dt.timedelta(minutes=5)),
    ]
    channels = [OldChannel.objects.create(guardian=mum, channel="wechat", address="openid-mum", enabled=True),
                OldChannel.objects.create(guardian=dad, channel="email", address="dad@example.cn", enabled=False)]

    migrate(NOTICES_AFTER)  # messaging stays where it is (its later migrations do not depend on notices)

    messages = {m.key: m for m in Message.objects.all()}
    assert set(messages) == {f"notice:{notice.pk}:notice:1", f"notice:{notice.pk}:escalate:2"}
    first = messages[f"notice:{notice.pk}:notice:1"]
    assert (first.source, first.kind, first.urgency, first.title, first.link) == (
        f"notice:{notice.pk}", "notice", "emergency", "停课通知", f"/notices/r/{notice.pk}/")
    moved = {d.pk: d for d in Delivery.objects.all()}
    assert set(moved) == {r.pk for r in rows}  # ids kept: an SMS's out-id gy-<id> is what the gateway saw
    for old_row in rows:
        new = moved[old_row.pk]
        receipt = r_mum if old_row.receipt_id == r_mum.pk else r_dad
        assert (new.ref, new.guardian_id, new.source, new.channel, new.status, new.attempts, new.provider_ref, new.error) == (
            receipt.pk, receipt.guardian_id, f"notice:{notice.pk}", old_row.channel, old_row.status, old_row.attempts,
            old_row.provider_ref, old_row.error)
        assert new.message.key == f"notice:{notice.pk}:{old_row.kind}:{old_row.round}"
    # A claim in flight keeps its time as its last heartbeat, so the stale-claim release finds it.
    assert moved[rows[1].pk].heartbeat_at == claimed and moved[rows[1].pk].claimed_at == claimed
    assert {(c.pk, c.guardian_id, c.channel, c.address, c.enabled) for c in GuardianChannel.objects.all()} == {
        (c.pk, c.guardian_id, c.channel, c.address, c.enabled) for c in channels}
    # New rows take ids after the copied ones (PostgreSQL's sequences were moved on).
    fresh = Delivery.objects.create(message=first, source=first.source, kind="notice", urgency="emergency", ref=r_mum.pk,
                                    guardian_id=mum.pk, channel="wechat", not_before=now, created_at=now)
    assert fresh.pk > max(moved)
    fresh.delete()

    # Down again: the old tables get the same rows back, rounds read out of the message keys.
    old = migrate(NOTICES_BEFORE)
    back = {d.pk: d for d in old.get_model("notices", "Delivery").objects.all()}
    assert {pk: (d.receipt_id, d.notice_id, d.channel, d.kind, d.round, d.status, d.attempts) for pk, d in back.items()} == {
        r.pk: (r.receipt_id, r.notice_id, r.channel, r.kind, r.round, r.status, r.attempts) for r in rows}
    assert set(old.get_model("notices", "GuardianChannel").objects.values_list("id", "address")) == {
        (c.pk, c.address) for c in channels}
    assert not Delivery.objects.exists() and not Message.objects.exists()


# --- the audit chain re-keyed ---------------------------------------------------------------------------
def _legacy_hash(payload: dict) -> str:
    # The unkeyed chain's hash as the old code computed it (audit before decision 0009), written out again.
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _legacy_chain(model, rows: list[dict], *, tamper_at: int | None = None) -> list:
    """Append rows the way the unkeyed writer did; tamper_at: that row's content changes after hashing."""
    prev, made = "0" * 64, []
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=3)
    for i, fields in enumerate(rows):
        at = start + dt.timedelta(minutes=i)
        base = {"at": at, "actor_id": 7, "actor_label": "张老师", "ip": "10.0.0.8", "model": "people.student", "object_id": str(i + 1)}
        digest = _legacy_hash({"prev": prev, **{**base, "at": at.isoformat()}, **fields})
        if i == tamper_at:
            fields = {k: (f"{v}（改）" if isinstance(v, str) else v) for k, v in fields.items()}
        made.append(model.objects.create(prev_hash=prev, hash=digest, **base, **fields))
        prev = digest
    return made


def test_the_audit_chain_is_checked_then_resealed_under_the_key(to_latest):
    old = migrate(AUDIT_BEFORE)
    try:
        audit_rows = _legacy_chain(old.get_model("audit", "AuditEvent"), [
            {"action": "update", "changes": {"name": ["王小明", "王晓明"]}},
            {"action": "create", "changes": {}},
            {"action": "delete", "changes": {"reason": "转学"}},
        ])
        access_rows = _legacy_chain(old.get_model("audit", "AccessEvent"),
                                    [{"reason": "查看家长手机号"}, {"reason": "导出家长手机号"}, {"reason": "班主任联系家长"}],
                                    tamper_at=1)

        migrate(AUDIT_AFTER)

        # The unkeyed chain's state before re-sealing is on record: the audit chain was intact, the access
        # chain broken at its second row (the tampered one).
        rekey = AuditEvent.objects.get(action="audit.rekey")
        assert rekey.changes["audit"] == {"rows": 3, "verified": 3, "first_broken_id": None,
                                          "head": f"{audit_rows[-1].pk}:{audit_rows[-1].hash}"}
        assert rekey.changes["access"] == {"rows": 3, "verified": 1, "first_broken_id": access_rows[1].pk}
        # Every row is unsealed for the sealer, which links them under the audit key in id order.
        assert not AuditEvent.objects.exclude(hash=None).exists() and not AccessEvent.objects.exclude(hash=None).exists()
        audit_report, access_report = verify_chain(AuditEvent), verify_chain(AccessEvent)
        assert audit_report.ok and audit_report.checked == 4 and audit_report.last_id == rekey.pk
        assert access_report.ok and access_report.checked == 3
        assert list(AuditEvent.objects.order_by("seq").values_list("id", flat=True)) == [*(r.pk for r in audit_rows), rekey.pk]
        # The old content is kept as it was (the re-seal links rows, it does not rewrite them).
        assert AuditEvent.objects.get(pk=audit_rows[0].pk).changes == {"name": ["王小明", "王晓明"]}
        # And the new triggers let a sealed row change no more (the database's refusal, not the ORM's).
        with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cur:
            cur.execute("UPDATE audit_auditevent SET action = 'hidden' WHERE id = %s", [audit_rows[0].pk])
    finally:
        # Audit rows are append-only even for the test's flush (SQLite deletes rows one by one).
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        with connection.cursor() as cur:
            keyed_chain._drop_triggers(cur, connection.vendor)
            cur.execute("DELETE FROM audit_accessevent")
            cur.execute("DELETE FROM audit_auditevent")
            keyed_chain._create_triggers(cur, connection.vendor, keyed=True)
