"""Field encryption for sensitive values (ID numbers, phone numbers).

Values are encrypted with Fernet (AES-128-CBC + HMAC) under keys derived from GONGYU_FIELD_KEY.
Because ciphertext is randomised, lookups use a keyed digest (a "blind index") stored beside it.
"""

import base64
import hashlib
import hmac
import secrets
import sys
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def _derive(secret: str, purpose: bytes) -> bytes:
    return hashlib.sha256(purpose + b":" + secret.encode("utf-8")).digest()


@cache
def _fernet() -> MultiFernet:
    keys = [Fernet(base64.urlsafe_b64encode(_derive(k, b"fernet"))) for k in settings.GONGYU_FIELD_KEYS]
    return MultiFernet(keys)


@cache
def _digest_key() -> bytes:
    # The digest key never rotates with the encryption keys: lookups must stay stable.
    return _derive(settings.GONGYU_FIELD_KEYS[-1], b"digest")


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


def mask_phone(phone: str) -> str:
    if not phone or len(phone) < 7:
        return phone or ""
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id_number(id_number: str) -> str:
    if not id_number or len(id_number) < 8:
        return "*" * len(id_number or "")
    return f"{id_number[:3]}{'*' * (len(id_number) - 7)}{id_number[-4:]}"


if __name__ == "__main__" and sys.argv[1:] == ["genkey"]:
    print(secrets.token_urlsafe(32))
