"""What domain modules register with messaging (the platform never imports them).

A composer turns one delivery into the words a channel sends: compose(delivery, address, cache) returns
an OutMessage, or a short reason (str) to cancel the delivery instead (e.g. the notice was withdrawn).
`cache` is a dict that lives for one batch, for looking the source object up once. Sources without a
composer get the message's own title, body and link (messaging.sending.default_compose).
"""

from __future__ import annotations

from collections.abc import Callable

COMPOSERS: dict[str, Callable] = {}


def register_composer(prefix: str, compose: Callable) -> None:
    """prefix: the part of a source label before the colon ("notice" for "notice:12")."""
    COMPOSERS[prefix] = compose


def composer_for(source: str) -> Callable | None:
    return COMPOSERS.get(source.split(":", 1)[0])
