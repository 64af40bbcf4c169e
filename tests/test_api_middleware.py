"""The token API skips the page middleware (core.middleware.PageOnly, docs/decisions/0005): no session,
no CSRF cookie, no flash messages, no second-factor or password-rotation redirects for /api/ calls, while
pages keep every one of them and API responses keep the headers that protect their data."""

from importlib import import_module

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.test_api import CJK, bearer


def test_an_api_call_touches_no_session_and_sets_no_cookie(world, client):
    client.force_login(world.teacher_a1)  # a browser that is also signed in to the pages
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/auth/me", **bearer(world.parent_a1))
    assert response.status_code == 200
    # It acts as the token's user, not as the session's.
    assert response.json()["name"] == "parent_a1"
    session_table = import_module(settings.SESSION_ENGINE).SessionStore.get_model_class()._meta.db_table
    assert not any(session_table in q["sql"] for q in queries.captured_queries)
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "_messages") and not hasattr(request, "htmx")
    assert not response.cookies  # no session, CSRF or messages cookie
    # The headers that keep children's data out of caches and frames still apply.
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Language"] == "zh-hans"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_signed_in_session_alone_does_not_open_the_api(world, client):
    client.force_login(world.parent_a1)
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert CJK.search(response.json()["detail"])  # says what to do, in Chinese


def test_an_admin_without_a_second_factor_is_not_redirected_by_the_api(world, client, settings):
    settings.GONGYU_ADMIN_2FA = True
    settings.GONGYU_PASSWORD_POLICY = "mlps"
    # Pages send this admin to the second-factor page ...
    client.force_login(world.school_admin_a)
    page = client.get("/")
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("accounts:two_factor"))
    # ... while the API answers the token (its own creation asks for the code).
    response = Client().get("/api/v1/auth/me", **bearer(world.school_admin_a))
    assert response.status_code == 200


def test_pages_keep_csrf_protection(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.teacher_a1)
    assert browser.post("/accounts/logout/").status_code == 403  # no CSRF token: refused, still signed in
    assert browser.get("/").status_code == 200


def test_pages_still_have_a_session_and_messages(world, client):
    client.force_login(world.teacher_a1)
    response = client.get("/")
    assert response.status_code == 200
    assert response.wsgi_request.session.session_key
    assert hasattr(response.wsgi_request, "_messages")
    assert hasattr(response.wsgi_request, "htmx")


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_the_public_api_documents_work_without_the_page_middleware(db, client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert not response.cookies


def test_api_json_gets_the_strictest_policy_and_pages_keep_theirs(world, client):
    api = client.get("/api/v1/auth/me", **bearer(world.parent_a1))
    assert api["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    refused = client.get("/api/v1/auth/me")  # errors are JSON too
    assert refused.status_code == 401 and refused["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    client.force_login(world.teacher_a1)
    page = client.get("/")
    assert "default-src 'self'" in page["Content-Security-Policy"] and "script-src 'self'" in page["Content-Security-Policy"]
    docs = client.get("/api/v1/docs")  # an HTML page under the API's prefix keeps the pages' policy
    assert "script-src 'self'" in docs["Content-Security-Policy"]
