"""Ids and whole numbers taken from requests: one place that turns the text of a query or form field into
an int, so that "abc", "1.5", "-1" or a 20-digit number answers a message or a 404, never a 500 (an
int() ValueError, or the database's overflow error on an id beyond 64 bits)."""

from __future__ import annotations

from django import forms
from django.http import Http404

# Ids beyond a signed 64-bit integer cannot exist (the same bound as the API's, core.api.MAX_ID).
MAX_ID = 2**63 - 1


def parse_int(value, *, min_value: int = 1, max_value: int = MAX_ID) -> int | None:
    """The whole number written in value (ASCII digits, within the bounds), else None."""
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if min_value <= number <= max_value else None


def parse_id(value) -> int | None:
    """A database id from request text, or None when it cannot be one."""
    return parse_int(value)


def require_id(value) -> int:
    """A database id from request text; anything else is a missing object (404)."""
    number = parse_id(value)
    if number is None:
        raise Http404
    return number


class IdModelChoiceField(forms.ModelChoiceField):
    """A choice by id that refuses what cannot be an id before asking the database (Django's own field
    lets a 20-digit id reach the query and overflow)."""

    def to_python(self, value):
        if value not in self.empty_values and self.to_field_name is None and parse_id(value) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        if self.to_field_name is None:
            for pk in value if isinstance(value, list | tuple) else [value]:
                if parse_id(pk) is None:
                    raise forms.ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk})
        return super()._check_values(value)
