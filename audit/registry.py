"""Which models are audited, and how: every create, update and delete of people and org data is recorded
with the changed field names and values; sensitive values are recorded as changed, never as text.

Writes that bypass model signals (QuerySet.update(), bulk_create(), raw SQL) are not seen here: a
service that uses them records its own event with audit.services.record().
"""

from contextlib import contextmanager

from django.apps import apps
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from audit.services import current_actor, record
from core.crypto import EncryptedCharField, fields_rotated

_registry: dict[type, dict] = {}
SENSITIVE_MARK = "***"
# Never recorded as text, whichever model holds them (User.phone is a plain column, for example).
# The national 学籍号 is "G" + the ID number, so it is an ID number too.
ALWAYS_SENSITIVE = frozenset({"phone", "id_number", "student_no"})
# Never recorded at all: secrets, log-in noise; *_digest columns are keyed hashes of sensitive values.
ALWAYS_EXCLUDED = frozenset({"password", "last_login"})


def _values(instance, names) -> dict:
    return {name: getattr(instance, name) for name in names}


def _shown(name: str, value, sensitive) -> object:
    if name in sensitive:
        return SENSITIVE_MARK if value else ""
    return value


def _actor(instance):
    """Who is changing instance: a service sets instance._audit_actor (a User, an Actor, or None for the
    system) before saving; a model saved without one is attributed to the request's or task's context."""
    return instance.__dict__.get("_audit_actor", current_actor())


def _conf(sender) -> dict:
    return _registry[sender._meta.concrete_model]


def _label(sender) -> str:
    # Proxies (School, SchoolClass …) are rows of their concrete table: one name in the log.
    return sender._meta.concrete_model._meta.label_lower


def _on_pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None or instance._state.adding:
        instance._audit_before = None
        return
    names = _conf(sender)["fields"]
    instance._audit_before = sender._base_manager.filter(pk=instance.pk).values(*names).first()


def _on_post_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    conf = _conf(sender)
    if created:
        if getattr(instance, "_audit_defer_create", False):
            instance._audit_create_pending = True
            return
        _record_create(sender, instance)
        return
    names = conf["fields"]
    if update_fields is not None:
        # Only these columns were written; in-memory edits of other fields did not reach the database.
        names = [n for n in names if n in update_fields or n.removesuffix("_id") in update_fields]
    before = getattr(instance, "_audit_before", None) or {}
    sensitive = conf["sensitive"]
    diff = {}
    for name, value in _values(instance, names).items():
        # values() decrypts encrypted fields, so this compares what the user sees, not ciphertext.
        old = before.get(name)
        if old != value:
            diff[name] = [_shown(name, old, sensitive), _shown(name, value, sensitive)]
    diff.pop("updated_at", None)
    if diff:
        record("update", actor=_actor(instance), model=_label(sender), object_id=instance.pk, changes=diff)


def _snapshot(sender, instance) -> dict:
    conf = _conf(sender)
    return {
        name: _shown(name, value, conf["sensitive"])
        for name, value in _values(instance, conf["fields"]).items()
        if value not in (None, "")
    }


def _record_create(sender, instance) -> None:
    record("create", actor=_actor(instance), model=_label(sender), object_id=instance.pk, changes=_snapshot(sender, instance))


def _on_post_delete(sender, instance, **kwargs):
    # What was deleted, so that the row can be reconstructed (sensitive values still only as ***).
    record("delete", actor=_actor(instance), model=_label(sender), object_id=instance.pk, changes=_snapshot(sender, instance))


@contextmanager
def deferred_create(instance):
    """Record a create only when the block ends, with the instance's final values.

    For creates that need a second write once the primary key is known (a materialised path), so that
    the one 'create' row shows the final state. Use inside the same transaction as the save.
    """
    instance._audit_defer_create = True
    try:
        yield instance
    finally:
        instance._audit_defer_create = False
    if getattr(instance, "_audit_create_pending", False):
        instance._audit_create_pending = False
        _record_create(type(instance), instance)


def register(model, *, sensitive=(), exclude=()):
    """Audit every save and delete of model (and of its proxies).

    Encrypted fields and fields named phone/id_number are always sensitive; passwords, last_login and
    *_digest columns are never recorded.
    """
    concrete = [f for f in model._meta.concrete_fields if not f.primary_key]
    excluded = set(ALWAYS_EXCLUDED) | set(exclude) | {f.attname for f in concrete if f.name.endswith("_digest")}
    fields = [f.attname for f in concrete if f.attname not in excluded and f.name not in excluded]
    auto_sensitive = {f.attname for f in concrete if isinstance(f, EncryptedCharField) or f.name in ALWAYS_SENSITIVE}
    _registry[model] = {"sensitive": frozenset(auto_sensitive | set(sensitive)), "fields": fields}
    senders = [model] + [m for m in apps.get_models() if m._meta.proxy and m._meta.concrete_model is model]
    for sender in senders:
        uid = f"audit:{sender._meta.label_lower}"
        pre_save.connect(_on_pre_save, sender=sender, dispatch_uid=uid + ":pre")
        post_save.connect(_on_post_save, sender=sender, dispatch_uid=uid + ":post")
        post_delete.connect(_on_post_delete, sender=sender, dispatch_uid=uid + ":del")


def registered_models() -> list:
    return list(_registry)


@receiver(fields_rotated)
def _record_rotation(sender, *, rows: int, **kwargs) -> None:
    """One summary event per model a key rotation re-encrypted (core.crypto.rotate_encrypted_fields)."""
    record("crypto.rotate", actor=None, model=sender._meta.label_lower, object_id="", changes={"rows": rows})
