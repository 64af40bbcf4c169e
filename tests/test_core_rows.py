"""core.rows: hand-written hot statements read back as models, and their lazy connection check."""

import pytest
from django.db import connection

from accounts.models import User
from core.rows import Columns


def test_columns_refuse_fields_that_need_a_converter():
    from notices.models import Notice

    with pytest.raises(TypeError, match="audience"):
        Columns(Notice, "n", ["id", "audience"])  # JSON: needs from_db_value
    with pytest.raises(ValueError, match="unknown"):
        Columns(User, "u", ["id", "no_such_field"])
    cols = Columns(User, "u", ["id", "name"])
    assert cols.sql == 'u."id", u."name"' and cols.width == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements and the lazy health check are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_is_reopened_once_instead_of_checked_every_request():
    from django.db import connections

    from core.rows import hot_query

    user = User.objects.create_user("13700000001", "x-password-1", name="连接测试")
    assert connection.health_check_enabled
    assert hot_query("SELECT name FROM accounts_user WHERE id = %s", [user.pk]) == ("连接测试",)
    # The server drops this connection (a restart, a fail-over), then a new request starts.
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    other = connections.create_connection("default")
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    connection.health_check_done = False  # what Django does at the start of each request
    assert hot_query("SELECT name FROM accounts_user WHERE id = %s", [user.pk]) == ("连接测试",)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != pid
    # Inside a transaction there is no second try: the error reaches the caller.
    from django.db import OperationalError, transaction

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    with pytest.raises(OperationalError), transaction.atomic():
        other = connections.create_connection("default")
        try:
            with other.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            other.close()
        hot_query("SELECT 1", [])
    connection.close()
