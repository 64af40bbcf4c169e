"""Source kinds: each crediting module registers the kinds of thing it credits ("activity.session",
"course.lesson") with a label and, optionally, a link, so that the ledger can say what earned a row
without importing the module. Modules register in their AppConfig.ready()."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class SourceKind:
    kind: str
    label: str
    link: Callable[[int], str | None] | None = None
    # A short code clients already know the kind by (the API's "kind" of an hours row).
    code: str = ""


_kinds: dict[str, SourceKind] = {}


def register(kind: str, *, label, link: Callable[[int], str | None] | None = None, code: str = "") -> None:
    if "." not in kind or ":" in kind:
        raise ValueError(f"source kind {kind!r} must read '<module>.<thing>' without ':'")
    _kinds[kind] = SourceKind(kind, label, link, code or kind)


def key(kind: str, object_id: int) -> str:
    """The source key a module credits under; the kind must be registered (a typo would split a ledger)."""
    if kind not in _kinds:
        raise LookupError(f"unregistered ledger source kind {kind!r}")
    return f"{kind}:{int(object_id)}"


def split(source_key: str) -> tuple[str, int | None]:
    kind, _sep, rest = source_key.partition(":")
    return kind, (int(rest) if rest.isdigit() else None)


def label_for(source_key: str) -> str:
    found = _kinds.get(split(source_key)[0])
    return str(found.label) if found else str(_("其他"))


def code_for(source_key: str) -> str:
    kind = split(source_key)[0]
    found = _kinds.get(kind)
    return found.code if found else kind


def link_for(source_key: str) -> str | None:
    kind, object_id = split(source_key)
    found = _kinds.get(kind)
    if found is None or found.link is None or object_id is None:
        return None
    return found.link(object_id)


def kinds() -> dict[str, SourceKind]:
    return dict(_kinds)
