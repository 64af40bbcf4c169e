"""The error helpers every app shares: how a service refuses, and how a view lists what was refused.

A service raises refusal(message, code): the message is Chinese through gettext and says what to do, the
code is stable for tests and the API. Pages show messages_of(exc); the API answers core.api.refused(exc).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError


def refusal(message: str, code: str) -> ValidationError:
    """The refusal a write service raises (the caller shows the message; code is stable, for tests and the API)."""
    return ValidationError(message, code=code)


def messages_of(exc: ValidationError) -> list[str]:
    """Every message of a ValidationError, whether raised with a field dict or a plain message list."""
    if hasattr(exc, "error_dict"):
        return [m for msgs in exc.message_dict.values() for m in msgs]
    return list(exc.messages)
