"""Writing audit rows: who did what, when, from where; rows are inserted without a lock and sealed into an HMAC chain after commit (ADR 0009)."""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from audit import sql
from audit.models import AccessEvent, AuditEvent, ChainedEvent

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
# Only the sealer takes these (one per table); writers never wait on them.
_SEAL_LOCK_KEYS = {AuditEvent: 7_340_011, AccessEvent: 7_340_012}
_SEAL_EVERY_SECONDS = 5.0  # after a commit, a process tries to seal at most this often (decision 0009)
_last_seal_try: dict[type, float] = {}
# What hands an after-commit seal to a worker, callable(model label): audit.tasks installs a Huey task, so on
# PostgreSQL a request never hashes rows in its own time (bench checkin-burst: p99 66–77 ms with the seal in
# the request, 27 ms without). None: seal in this process.
hand_off: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Actor:
    id: int | None
    label: str
    ip: str | None = None
    on_behalf: bool = False  # a service acting for someone other than the requesting user, on purpose


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


def _canonical(row: ChainedEvent) -> bytes:
    if isinstance(row, AuditEvent):
        fields = {"action": row.action, "changes": row.changes}
    else:
        fields = {"reason": row.reason}
    payload = {
        "id": row.pk,
        "seq": row.seq,
        "key": row.key_id,
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


def _key(key_id: str) -> bytes | None:
    secret = settings.GONGYU_AUDIT_KEYS.get(key_id)
    return secret.encode("utf-8") if secret else None


def row_hash(row: ChainedEvent, key: bytes | None = None) -> str:
    """HMAC-SHA256 of the row's canonical form, its position and its predecessor, under the row's key."""
    key = key or _key(row.key_id)
    if key is None:
        raise KeyError(row.key_id)
    return hmac.new(key, _canonical(row), hashlib.sha256).hexdigest()


def _check_actor(actor: Actor) -> None:
    """The actor is passed explicitly; in DEBUG and tests a request/task context naming someone else is a bug."""
    if not (settings.DEBUG or settings.GONGYU_ENV == "test"):
        return
    ctx = _current.get()
    if ctx.id is not None and actor.id is not None and ctx.id != actor.id and not actor.on_behalf:
        raise ActorMismatch(f"audit row recorded for actor {actor.id} inside the context of user {ctx.id}")


class ActorMismatch(AssertionError):
    """A write recorded with an actor other than the requesting user (DEBUG and tests only)."""


def as_actor(actor) -> Actor:
    """An Actor from what a service was given: an Actor, a User (the request's address kept), or None (the system)."""
    if isinstance(actor, Actor):
        return actor
    if actor is None:
        ctx = _current.get()
        # No user given: the system acts, from the request's address when there is one.
        return Actor(None, "system", ctx.ip) if ctx.id is None else SYSTEM
    return actor_for(actor, ip=_current.get().ip)


def _append(event_class: type[ChainedEvent], *, actor: Actor, **fields) -> ChainedEvent:
    """Insert the row unsealed: no lock, no read of the chain head; the sealer links it after commit."""
    _check_actor(actor)
    row = event_class(at=timezone.now(), actor_id=actor.id, actor_label=actor.label[:80], ip=normalise_ip(actor.ip), **fields)
    row.save(force_insert=True)
    _seal_after_commit(event_class)
    return row


_IMPLICIT = object()


def record(action: str, *, model: str, object_id, changes: dict | None = None, actor=_IMPLICIT) -> AuditEvent:
    """Record one event. action is dotted and stable, e.g. 'create', 'update', 'roster.import', 'auth.login'.

    actor: who acted — an Actor, a User, or None for the system; services pass it explicitly.
    """
    actor = current_actor() if actor is _IMPLICIT else as_actor(actor)
    # JSON round-trip so the row holds exactly what the database will return (the sealer hashes that).
    return _append(AuditEvent, actor=actor, action=action, model=model, object_id=str(object_id or ""),
                   changes=json.loads(json.dumps(changes or {}, default=str)))


def record_many(action: str, *, model: str, rows, actor) -> int:
    """One row per object for a bulk write (bulk_create/update bypass the registry's signals): rows is an
    iterable of (object_id, changes). Unsealed like every append; returns the count.

    On PostgreSQL one INSERT … SELECT FROM unnest() per 5,000 rows (audit/sql.py): an import's 27,500 rows
    cost one JSON encoding each and a few statements, not a model instance each (bench roster-import)."""
    actor = as_actor(actor)
    _check_actor(actor)
    at, ip, label = timezone.now(), normalise_ip(actor.ip), actor.label[:80]
    # The JSON the database will hand back (the sealer hashes that): encoded once, as record() does.
    encoded = [(str(object_id), json.dumps(changes or {}, default=str, ensure_ascii=False)) for object_id, changes in rows]
    if not encoded:
        return 0
    if connection.vendor == "postgresql":
        statement = sql.insert_events(connection.ops.quote_name(AuditEvent._meta.db_table))
        with connection.cursor() as cur:
            for start in range(0, len(encoded), _MANY_BATCH):
                chunk = encoded[start:start + _MANY_BATCH]
                cur.execute(statement, [at, actor.id, label, ip, action, model,
                                        [oid for oid, _ch in chunk], [ch for _oid, ch in chunk]])
    else:
        AuditEvent.objects.bulk_create(
            [AuditEvent(at=at, actor_id=actor.id, actor_label=label, ip=ip, action=action, model=model, object_id=oid,
                        changes=json.loads(ch)) for oid, ch in encoded],
            batch_size=1000,
        )
    if len(encoded) <= _SEAL_AFTER_COMMIT_UP_TO:
        _seal_after_commit(AuditEvent)
    # A bigger bulk write (an import) is not made to wait for sealing it: the periodic sealer
    # (audit.tasks.audit_seal, every minute) links its rows in commit order.
    return len(encoded)


_MANY_BATCH = 5000


def record_many_from(action: str, *, model: str, select_sql: str, params: list, actor) -> int:
    """record_many for rows the database describes itself (PostgreSQL only): select_sql yields (object id
    text, changes jsonb) per object; the caller's values never pass through Python. Returns the count."""
    if connection.vendor != "postgresql":
        raise NotImplementedError("record_many_from runs on PostgreSQL; use record_many")
    actor = as_actor(actor)
    _check_actor(actor)
    statement = sql.insert_events_from(connection.ops.quote_name(AuditEvent._meta.db_table), select_sql)
    with connection.cursor() as cur:
        cur.execute(statement, [timezone.now(), actor.id, actor.label[:80], normalise_ip(actor.ip), action, model, *params])
        count = cur.rowcount
    if 0 < count <= _SEAL_AFTER_COMMIT_UP_TO:
        _seal_after_commit(AuditEvent)
    return count
_SEAL_AFTER_COMMIT_UP_TO = 500


def record_access(*, user, obj, reason: str = "", ip: str | None = None, actor: Actor | None = None) -> AccessEvent:
    """Call on every read of a sensitive record (care files, psych records, unmasked identity data).
    actor: who acted when there is no user (a command run as the system)."""
    actor = actor or actor_for(user, ip=ip or current_actor().ip)
    return _append(AccessEvent, actor=actor, model=obj._meta.label_lower, object_id=str(obj.pk), reason=reason[:200])


# --- sealing ----------------------------------------------------------------------------------------------


def _seal_after_commit(model: type[ChainedEvent]) -> None:
    """Once per transaction and table, however many rows it appends (an import or a fan-out appends many)."""
    if connection.in_atomic_block and any(getattr(fn, "audit_model", None) is model for _sids, fn, *_rest in connection.run_on_commit):
        return

    def callback():
        _seal_soon(model)

    callback.audit_model = model
    transaction.on_commit(callback)


def _seal_soon(model: type[ChainedEvent]) -> None:
    """After an audited commit: seal what is committed, unless this process tried a moment ago or a sealer runs.

    On SQLite every commit seals (writers are serialised by the database anyway); on PostgreSQL each process
    tries at most every few seconds, so sealing costs writers little and rows stay unsealed only briefly.
    """
    now = time.monotonic()
    if connection.vendor == "postgresql" and now - _last_seal_try.get(model, 0.0) < _SEAL_EVERY_SECONDS:
        return
    _last_seal_try[model] = now
    if connection.vendor == "postgresql" and hand_off is not None:
        try:
            hand_off(model._meta.label_lower)
            return
        except Exception:  # the queue is down: seal here rather than leave it all to the minute sealer
            logger.warning("audit: handing the seal to a worker failed; sealing in this process", exc_info=True)
    try:
        # One batch at most: a bulk write (an import's 27,000 per-object rows) is not made to wait for its
        # own sealing; the periodic sealer (audit.tasks.audit_seal, every minute) links the rest.
        _seal_table(model, wait=False, batch=2000, max_batches=1)
    except DatabaseError:
        # Sealing is catch-up work: the periodic task and audit_verify seal whatever is left.
        logger.warning("audit: sealing after commit failed; the periodic sealer will catch up", exc_info=True)


def _seal_table(model: type[ChainedEvent], *, wait: bool, batch: int, max_batches: int | None = None) -> int | None:
    table = connection.ops.quote_name(model._meta.db_table)
    sealed = 0
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                if wait:
                    cur.execute(sql.SEAL_LOCK, [_SEAL_LOCK_KEYS[model]])
                else:
                    cur.execute(sql.SEAL_TRY_LOCK, [_SEAL_LOCK_KEYS[model]])
                    if not cur.fetchone()[0]:
                        return None  # another process is sealing: it will take our rows too, or the next one will
        # On SQLite the IMMEDIATE transaction already holds the database's single write lock.
        head = model.objects.exclude(seq=None).order_by("-seq").values_list("seq", "hash").first()
        seq, prev = head or (0, GENESIS)
        key_id = settings.GONGYU_AUDIT_KEY_ID
        key = _key(key_id)
        while True:
            # Commit order, not id order: a row whose id is lower but committed later is sealed in a later
            # batch, after rows with higher ids. The chain's order is seq.
            rows = list(model.objects.filter(hash=None).order_by("id")[:batch])
            if not rows or (max_batches is not None and sealed >= max_batches * batch):
                return sealed
            updates = []
            for row in rows:
                seq += 1
                row.seq, row.prev_hash, row.key_id = seq, prev, key_id
                row.hash = prev = row_hash(row, key)
                updates.append((row.seq, row.prev_hash, row.key_id, row.hash, row.pk))
            with connection.cursor() as cur:
                cur.executemany(
                    sql.seal_update(table),
                    updates,
                )
            sealed += len(rows)


def seal_model(label: str) -> int:
    """A worker's seal of one table after commits elsewhere (hand_off): whatever is committed, no waiting."""
    model = {m._meta.label_lower: m for m in (AuditEvent, AccessEvent)}[label]
    return _seal_table(model, wait=False, batch=2000) or 0


def seal(*, wait: bool = True, batch: int = 2000) -> int:
    """Link every committed unsealed row into its chain, in commit order; returns how many were sealed.

    One sealer at a time per table (an advisory lock only sealers take); wait=False gives up at once if
    another process is sealing.
    """
    total = 0
    for model in (AuditEvent, AccessEvent):
        total += _seal_table(model, wait=wait, batch=batch) or 0
    return total


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


def verify_chain(model: type[ChainedEvent] = AuditEvent, batch: int = 5000, *, seal_first: bool = True) -> ChainReport:
    """Walk the chain in seal order; report the first row whose link, position, key or content does not match.

    Seals first (waiting for a running sealer), so rows committed a moment ago are checked too. A row whose
    hash was recomputed without the key fails its HMAC; a row under a key id not in the key ring is reported.
    """
    if seal_first:
        _seal_table(model, wait=True, batch=batch)
    prev = GENESIS
    checked = 0
    last_id = None
    for row in model.objects.exclude(seq=None).order_by("seq").iterator(chunk_size=batch):
        if row.prev_hash != prev:
            return ChainReport(checked, row.pk, "prev_hash does not match the previous row (a row was removed or inserted)")
        if row.seq != checked + 1:
            return ChainReport(checked, row.pk, f"position {row.seq} where {checked + 1} was expected (a row was removed)")
        key = _key(row.key_id)
        if key is None:
            return ChainReport(checked, row.pk, f"sealed under key id {row.key_id!r}, which is not in the key ring "
                                                "(GONGYU_AUDIT_KEYS): restore the retired key, or the row was forged")
        if not hmac.compare_digest(row_hash(row, key), row.hash):
            return ChainReport(checked, row.pk, "content does not match its hash (the row was altered, "
                                                "or its hash was recomputed without the audit key)")
        prev, last_id = row.hash, row.pk
        checked += 1
    return ChainReport(checked, last_id=last_id, last_hash=prev if last_id else "")
