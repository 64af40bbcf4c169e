"""Field encryption for sensitive values (ID numbers, 学籍号, phone numbers).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under keys derived from GONGYU_FIELD_KEY.
Several keys may be configured: the first encrypts, every one decrypts (rotation, docs/security.md).
Because ciphertext is randomised, lookups use a keyed digest (a "blind index") stored beside it, under
GONGYU_DIGEST_KEY, or when that is unset the LAST field key: prepending a new field key then leaves
every stored digest valid.
"""

import base64
import hashlib
import hmac
import secrets
import sys
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldError
from django.core.signals import setting_changed
from django.db import models, transaction
from django.db.models.lookups import Exact
from django.dispatch import Signal


def _derive(secret: str, purpose: bytes) -> bytes:
    return hashlib.sha256(purpose + b":" + secret.encode("utf-8")).digest()


@cache
def _fernet() -> MultiFernet:
    keys = [Fernet(base64.urlsafe_b64encode(_derive(k, b"fernet"))) for k in settings.GONGYU_FIELD_KEYS]
    return MultiFernet(keys)


def digest_secret() -> str:
    # Not the first key: a routine rotation prepends a key, and digests must not change with it.
    return getattr(settings, "GONGYU_DIGEST_KEY", "") or settings.GONGYU_FIELD_KEYS[-1]


@cache
def _digest_key() -> bytes:
    return _derive(digest_secret(), b"digest")


def _clear_caches(*, setting, **kwargs):
    if setting in ("GONGYU_FIELD_KEYS", "GONGYU_DIGEST_KEY"):
        _fernet.cache_clear()
        _digest_key.cache_clear()


setting_changed.connect(_clear_caches, dispatch_uid="core.crypto.clear_caches")


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise ValueError("field could not be decrypted with the configured GONGYU_FIELD_KEY") from exc


def digest(value: str) -> str:
    """Keyed, deterministic digest of a normalised value, for equality lookups of encrypted fields."""
    if not value:
        return ""
    return hmac.new(_digest_key(), value.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()


class _EmptyOnlyExact(Exact):
    """`field=""` works (ciphertext of nothing is stored as nothing); any other value could never match."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise FieldError("encrypted fields cannot be compared with a value: filter on the digest column")
        return super().get_prep_lookup()


class EncryptedCharField(models.TextField):
    """Stores a string encrypted; reads decrypt transparently. Not filterable: use a digest field."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name):
        # Randomised ciphertext: a contains/startswith/exact on it would silently match nothing.
        if lookup_name == "exact":
            return _EmptyOnlyExact
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None

    def formfield(self, **kwargs):
        return super().formfield(**{"widget": forms.TextInput, **kwargs})


def mask_phone(phone: str) -> str:
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)  # too short to show any part without showing most of it
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id_number(id_number: str) -> str:
    if not id_number or len(id_number) < 8:
        return "*" * len(id_number or "")
    return f"{id_number[:3]}{'*' * (len(id_number) - 7)}{id_number[-4:]}"


STUDENT_NO_MASK = "…"


def mask_student_no(student_no: str) -> str:
    """The 学籍号 is "G" + the ID number: show its letter prefix and last 4 only ("G…0011"), never its length.

    The tail is the part mask_id_number already shows, so the two masks together reveal nothing more."""
    if not student_no or len(student_no) < 8:
        return "*" * len(student_no or "")
    prefix = student_no[0] if student_no[0].isalpha() else ""
    return f"{prefix}{STUDENT_NO_MASK}{student_no[-4:]}"


def encrypted_models() -> list[tuple[type, list[str], list[str]]]:
    """(model, encrypted field names, digest column names) for every model holding encrypted fields."""
    out = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        fields = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)]
        if fields:
            digests = [f.attname for f in model._meta.concrete_fields if f.name.endswith("_digest")]
            out.append((model, fields, digests))
    return out


# Sent once per model after its rows are rotated (sender: the model, rows: how many): audit records it
# (audit.registry), so core imports no app.
fields_rotated = Signal()


def rotate_encrypted_fields(batch: int = 500) -> dict[str, int]:
    """Re-encrypt every encrypted value under the first key and recompute digest columns under the
    current digest key. Models compute their digests in save(), so each row is saved through it; the
    values do not change, so the audit registry records no per-row event. Safe to run again."""
    counts: dict[str, int] = {}
    for model, fields, digests in encrypted_models():
        pks = list(model._base_manager.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), batch):
            with transaction.atomic():
                for obj in model._base_manager.filter(pk__in=pks[start : start + batch]):
                    obj.save(update_fields=fields + digests)
        counts[model._meta.label_lower] = len(pks)
        fields_rotated.send(sender=model, rows=len(pks))
    return counts


if __name__ == "__main__" and sys.argv[1:] == ["genkey"]:
    print(secrets.token_urlsafe(32))
