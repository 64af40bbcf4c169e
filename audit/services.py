"""Writing audit rows: who did what, when, from where; each row chained to the previous by hash."""

from __future__ import annotations

import contextvars
import hashlib
import ipaddress
import json
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from audit.models import AccessEvent, AuditEvent, ChainedEvent

GENESIS = "0" * 64
# Fixed advisory-lock keys: one chain per table, appends serialised so each row links to its predecessor.
_LOCK_KEYS = {AuditEvent: 7_340_001, AccessEvent: 7_340_002}


@dataclass(frozen=True)
class Actor:
    id: int | None
    label: str
    ip: str | None = None


SYSTEM = Actor(None, "system")
_current: contextvars.ContextVar[Actor] = contextvars.ContextVar("gongyu_audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


@contextmanager
def acting_as(actor: Actor):
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def actor_for(user, ip: str | None = None, label: str | None = None) -> Actor:
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(None, label or "anonymous", ip)
    return Actor(user.pk, label or f"user:{user.pk}", ip)


def normalise_ip(ip: str | None) -> str | None:
    """The address as the database will return it (PostgreSQL's inet rewrites IPv6 text), or None.

    The hash is computed before the insert, so a differently spelled address would break the chain.
    """
    if not ip:
        return None
    text = str(ip).strip().split("%", 1)[0]  # zone ids are meaningless off-host and inet refuses them
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return clean_ipv6_address(text) if addr.version == 6 else str(addr)


def _canonical(row: ChainedEvent, fields: dict) -> bytes:
    payload = {
        "prev": row.prev_hash,
        "at": row.at.isoformat(),
        "actor_id": row.actor_id,
        "actor_label": row.actor_label,
        "ip": row.ip,
        "model": row.model,
        "object_id": row.object_id,
        **fields,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def row_hash(row: ChainedEvent) -> str:
    if isinstance(row, AuditEvent):
        fields = {"action": row.action, "changes": row.changes}
    else:
        fields = {"reason": row.reason}
    return hashlib.sha256(_canonical(row, fields)).hexdigest()


def _append(event_class: type[ChainedEvent], *, actor: Actor | None, **fields) -> ChainedEvent:
    actor = actor or current_actor()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEYS[event_class]])
        # On SQLite the IMMEDIATE transaction already holds the database's single write lock.
        last = event_class.objects.order_by("-id").values_list("hash", flat=True).first()
        row = event_class(
            at=timezone.now(), actor_id=actor.id, actor_label=actor.label[:80], ip=normalise_ip(actor.ip), prev_hash=last or GENESIS, **fields
        )
        # JSON round-trip so the hash is computed over exactly what the database will return.
        if isinstance(row, AuditEvent):
            row.changes = json.loads(json.dumps(row.changes, default=str))
        row.hash = row_hash(row)
        row.save(force_insert=True)
        return row


def record(action: str, *, model: str, object_id, changes: dict | None = None, actor: Actor | None = None) -> AuditEvent:
    """Record one event. action is dotted and stable, e.g. 'create', 'update', 'roster.import', 'auth.login'."""
    return _append(AuditEvent, actor=actor, action=action, model=model, object_id=str(object_id or ""), changes=changes or {})


def record_access(*, user, obj, reason: str = "", ip: str | None = None, actor: Actor | None = None) -> AccessEvent:
    """Call on every read of a sensitive record (care files, psych records, unmasked identity data).
    actor: who acted when there is no user (a command run as the system)."""
    actor = actor or actor_for(user, ip=ip or current_actor().ip)
    return _append(AccessEvent, actor=actor, model=obj._meta.label_lower, object_id=str(obj.pk), reason=reason[:200])


@dataclass
class ChainReport:
    checked: int
    first_broken_id: int | None = None
    problem: str = ""
    last_id: int | None = None  # the head of the verified chain: record it elsewhere as an anchor
    last_hash: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify_chain(model: type[ChainedEvent] = AuditEvent, batch: int = 5000) -> ChainReport:
    """Walk the chain in id order; report the first row whose link or content does not match."""
    prev = GENESIS
    checked = 0
    last_id = None
    for row in model.objects.order_by("id").iterator(chunk_size=batch):
        if row.prev_hash != prev:
            return ChainReport(checked, row.pk, "prev_hash does not match the previous row (a row was removed or inserted)")
        if row_hash(row) != row.hash:
            return ChainReport(checked, row.pk, "content does not match its hash (the row was altered)")
        prev, last_id = row.hash, row.pk
        checked += 1
    return ChainReport(checked, last_id=last_id, last_hash=prev if last_id else "")
