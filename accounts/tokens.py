"""API tokens: which active user a bearer token belongs to, and when each token was last used."""

import atexit
import datetime as dt
import functools
import logging
import threading
import time

from django.db import DatabaseError, connection, transaction

from accounts import sql as accounts_sql
from accounts.models import ApiToken, User
from core.rows import Columns, hot_query

log = logging.getLogger(__name__)


@functools.cache  # built once, after the app registry is ready
def _user_columns():
    return Columns(User, "u")


class _TokenUses:
    """When each token was last used, written in one UPDATE per process at most once a minute (or every
    500 tokens), not by the API call itself: the time is informational, so a worker that dies loses at
    most a minute of it, and no call pays a write and a durable commit (half the database time of
    opening a notice)."""

    EVERY = 60.0
    BATCH = 500

    def __init__(self):
        self.pending: dict[int, dt.datetime] = {}
        self.lock = threading.Lock()
        self.flushed = time.monotonic()

    def note(self, token_id: int, now: dt.datetime) -> None:
        with self.lock:
            self.pending[token_id] = now
            due = len(self.pending) >= self.BATCH or time.monotonic() - self.flushed >= self.EVERY
        if due:
            self.flush()

    def flush(self) -> int:
        with self.lock:
            batch, self.pending, self.flushed = self.pending, {}, time.monotonic()
        if not batch:
            return 0
        # One time for the whole batch (its latest use): a minute's precision is all this field promises,
        # and one plain UPDATE … WHERE id IN (…) is far cheaper than a CASE per token.
        try:
            with transaction.atomic():  # a savepoint when a caller's transaction is open
                ApiToken.objects.system(reason="last use of tokens that authenticated").filter(pk__in=list(batch)).update(last_used_at=max(batch.values()))
        except DatabaseError:  # e.g. inside a broken transaction: the times are informational only
            log.warning("could not note %d API token uses", len(batch), exc_info=True)
            return 0
        return len(batch)


token_uses = _TokenUses()
atexit.register(token_uses.flush)


@functools.cache  # built once, after the app registry is ready
def token_statement():
    """The token rule as one PostgreSQL SELECT (parameters: the token's digest, now): an unexpired token of
    an active user. Its row is the token's id and last use, then the user's columns; user_from_row() reads
    it. A hot statement that needs the user can run it as a WITH part (`t`) and so check the token in its
    own round trip (opening a notice: accounts.api.TokenAuth(in_statement=True))."""
    cols = _user_columns()
    return accounts_sql.token(cols.sql), 2 + cols.width


def user_from_row(row, now, start: int = 0):
    """The user of a token_statement() row (None for no row, or NULLs: no such token), noting the use."""
    if row is None or row[start] is None:
        return None
    return _noted(row[start], row[start + 1], _user_columns().build(row, start + 2), now)


def _noted(token_id, last_used_at, user, now):
    if last_used_at is None or last_used_at < now - dt.timedelta(seconds=300):
        token_uses.note(token_id, now)
    return user


def token_user(key: str, now):
    """The active user an unexpired API token belongs to, or None. Notes the use when the token's last
    use is more than five minutes old (token_uses writes it later, in bulk)."""
    digest = ApiToken.hash_key(key)
    if connection.vendor == "postgresql":
        # Every API call starts here: one prepared statement instead of an ORM query.
        sql, _width = token_statement()
        return user_from_row(hot_query(sql, [digest, now]), now)
    # [:1] rather than first(): the digest is unique, so no ORDER BY on every API call.
    found = list(ApiToken.objects.system(reason="authentication: a token by its digest").select_related("user").filter(digest=digest)[:1])
    token = found[0] if found else None
    if token is None or token.expires_at <= now or not token.user.is_active:
        return None
    return _noted(token.pk, token.last_used_at, token.user, now)
