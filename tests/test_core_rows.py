"""core.rows: hand-written hot statements read back as models, and their lazy connection check."""

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from core.rows import Columns, hot_query
from notices.models import Notice


def test_columns_refuse_fields_that_need_a_converter():
    with pytest.raises(TypeError, match="audience"):
        Columns(Notice, "n", ["id", "audience"])  # JSON: needs from_db_value
    with pytest.raises(ValueError, match="unknown"):
        Columns(User, "u", ["id", "no_such_field"])
    cols = Columns(User, "u", ["id", "name"])
    assert cols.sql == 'u."id", u."name"' and cols.width == 2


def _backend_pid() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def _drop_from_the_server(pid: int) -> None:
    """What a server restart or fail-over does to a connection: terminated from elsewhere."""

    other = connections.create_connection("default")
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements and the lazy health check are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_is_reopened_once_instead_of_checked_every_request():


    user = User.objects.create_user("13700000001", "x-password-1", name="连接测试")
    assert connection.health_check_enabled
    assert hot_query("SELECT name FROM accounts_user WHERE id = %s", [user.pk]) == ("连接测试",)
    pid = _backend_pid()
    _drop_from_the_server(pid)
    connection.health_check_done = False  # what Django does at the start of each request
    assert hot_query("SELECT name FROM accounts_user WHERE id = %s", [user.pk]) == ("连接测试",)
    assert _backend_pid() != pid
    # Inside a transaction there is no second try: the error reaches the caller.
    with pytest.raises(OperationalError), transaction.atomic():
        _drop_from_the_server(_backend_pid())
        hot_query("SELECT 1", [])
    connection.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_hot_statement_shows_its_text_in_the_query_log(db):
    """Django's query log (debug pages, test failures, assertNumQueries) names a hot statement too."""


    with CaptureQueriesContext(connection) as captured:
        assert hot_query("SELECT %s::int + 1 AS hot_probe", [41]) == (42,)
    (query,) = captured.captured_queries
    assert query["sql"] == "SELECT %s::int + 1 AS hot_probe" and float(query["time"]) >= 0
