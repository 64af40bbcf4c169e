"""Which models are audited, and how: every create, update and delete of people and org data is recorded
with the changed field names and values; sensitive values are recorded as changed, never as text."""

from django.db.models.signals import post_delete, post_save, pre_save

from audit.services import record

_registry: dict[type, dict] = {}
SENSITIVE_MARK = "***"


def _values(instance, fields) -> dict:
    out = {}
    for f in fields:
        value = getattr(instance, f.attname)
        out[f.attname] = value
    return out


def _fields(model, exclude):
    return [f for f in model._meta.concrete_fields if f.attname not in exclude and not f.primary_key]


def _shown(name: str, value, sensitive) -> object:
    if name in sensitive:
        return SENSITIVE_MARK if value else ""
    return value


def _on_pre_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None or instance._state.adding:
        instance._audit_before = None
        return
    conf = _registry[sender]
    fields = _fields(sender, conf["exclude"])
    old = sender._base_manager.filter(pk=instance.pk).values(*[f.attname for f in fields]).first()
    instance._audit_before = old


def _on_post_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    conf = _registry[sender]
    fields = _fields(sender, conf["exclude"])
    now = _values(instance, fields)
    sensitive = conf["sensitive"]
    if created:
        changes = {k: _shown(k, v, sensitive) for k, v in now.items() if v not in (None, "")}
        record("create", model=sender._meta.label_lower, object_id=instance.pk, changes=changes)
        return
    before = getattr(instance, "_audit_before", None) or {}
    diff = {}
    for k, v in now.items():
        # values() decrypts encrypted fields, so this compares what the user sees, not ciphertext.
        old = before.get(k)
        if old != v:
            diff[k] = [_shown(k, old, sensitive), _shown(k, v, sensitive)]
    if conf["ignore_timestamps"]:
        diff.pop("updated_at", None)
    if diff:
        record("update", model=sender._meta.label_lower, object_id=instance.pk, changes=diff)


def _on_post_delete(sender, instance, **kwargs):
    record("delete", model=sender._meta.label_lower, object_id=instance.pk, changes={})


def register(model, *, sensitive=(), exclude=("password", "last_login")):
    _registry[model] = {"sensitive": frozenset(sensitive), "exclude": frozenset(exclude), "ignore_timestamps": True}
    uid = f"audit:{model._meta.label_lower}"
    pre_save.connect(_on_pre_save, sender=model, dispatch_uid=uid + ":pre")
    post_save.connect(_on_post_save, sender=model, dispatch_uid=uid + ":post")
    post_delete.connect(_on_post_delete, sender=model, dispatch_uid=uid + ":del")


def registered_models() -> list:
    return list(_registry)
