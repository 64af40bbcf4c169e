"""Model instances from the columns of a hand-written statement, for the few hot paths that run one.

A hot path (opening a notice, the API's token check) answers in one PostgreSQL statement instead of three
ORM queries. The statement's columns still become ordinary model instances, so the code after it (and the
response schemas) see the same objects as on the ORM path. Only fields whose database values need no
converter may be read this way (plain text, numbers, booleans, timestamps on PostgreSQL): `Columns`
refuses the others when it is built, so a later change of field type cannot slip through unconverted.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import InterfaceError, OperationalError, connections, models
from django.db.backends.utils import CursorDebugWrapper

# Field types psycopg already returns as the Python value Django would make (no from_db_value, no
# backend converter on PostgreSQL).
_NATIVE = (
    models.AutoField,
    models.BigAutoField,
    models.IntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.BooleanField,
    models.CharField,
    models.TextField,
    models.DateTimeField,
    models.ForeignKey,
)


class Columns:
    """Some (or all) concrete fields of a model, as a SELECT list and back into an instance."""

    def __init__(self, model: type[models.Model], alias: str, names: list[str] | None = None):
        fields = [
            f for f in model._meta.concrete_fields if names is None or f.name in names or f.attname in names
        ]
        if names is not None and len(fields) != len(names):
            raise ValueError(f"unknown fields of {model.__name__}: {names}")
        for f in fields:
            if not isinstance(f, _NATIVE) or hasattr(f, "from_db_value"):
                raise TypeError(f"{model.__name__}.{f.name} needs a converter; read it through the ORM")
        self.model = model
        self.attnames = [f.attname for f in fields]
        self.sql = ", ".join(f'{alias}."{f.column}"' for f in fields)
        self.width = len(fields)

    def build(self, row, start: int = 0, db: str = "default"):
        """The instance from row[start:start + width]; fields not selected are deferred, as with only()."""
        return self.model.from_db(db, self.attnames, row[start : start + self.width])


class _LoggedHotCursor(CursorDebugWrapper):
    """Django's debug cursor for a hot statement: logs the statement's own text (with %s placeholders;
    the parameters are in the same entry's log record), because psycopg keeps no text of a server-bound
    query for Django's last_executed_query() to show, and the query log would say None."""

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return super(CursorDebugWrapper, self).execute(sql, params)


@contextmanager
def prepared_cursor(using: str = "default"):
    """A PostgreSQL cursor with server-side parameters, so that psycopg prepares a statement the connection
    runs repeatedly (after prepare_threshold runs) and PostgreSQL plans it once per connection instead of
    on every call. For the hot statements only: Django's own cursors bind on the client.

    Wrapped like Django's cursors, so the statements are logged and counted like any other query."""
    import psycopg  # noqa: PLC0415 — PostgreSQL only: a SQLite install need not have the driver

    conn = connections[using]
    conn.ensure_connection()
    with conn.wrap_database_errors:
        raw = psycopg.Cursor(conn.connection)
    # Results in binary: psycopg's C loaders read them, where the text timestamps would go through
    # Django's Python time-zone loader (a tenth of the Python time of opening a notice).
    raw.format = psycopg.pq.Format.BINARY
    conn.validate_thread_sharing()
    cursor = _LoggedHotCursor(raw, conn) if conn.queries_logged else conn.make_cursor(raw)
    try:
        yield cursor
    finally:
        cursor.close()


def hot_query(sql: str, params, *, many: bool = False, using: str = "default"):
    """Run one hot statement on a prepared cursor: its first row (or all rows with many=True).

    Instead of Django's health check (a SELECT 1 before the first query of each request), the statement
    itself shows whether the connection still works: when it fails on a connection the server has dropped,
    outside a transaction, the connection is reopened and the statement run once more. That is what the
    health check would have done, without its round trip when nothing is wrong. Only for statements that
    may safely run twice (reads, and updates guarded by their own WHERE)."""
    conn = connections[using]
    checked = conn.connection is None or not conn.health_check_enabled or conn.health_check_done or conn.in_atomic_block
    try:
        result = _run(conn, sql, params, many)
    except (OperationalError, InterfaceError):
        if checked or conn.is_usable():
            raise
        conn.close()
        result = _run(conn, sql, params, many)
    conn.health_check_done = True  # the connection has just answered: later queries of the request skip the check
    return result


def _run(conn, sql, params, many):
    with prepared_cursor(conn.alias) as cur:
        cur.execute(sql, params)
        return cur.fetchall() if many else cur.fetchone()
