"""TokenAuth(in_statement=True) leaves the token check to the endpoint's own statement; a route that forgets
it must refuse, not serve (docs/decisions/0014)."""

import pytest
from ninja import NinjaAPI, Router
from ninja.testing import TestClient

from accounts.api import PENDING_TOKEN, TokenAuth, in_statement_guard, signed_in
from gongyu.api import api

pytestmark = pytest.mark.django_db


def _api(world):
    router = Router()

    @router.get("/forgets", auth=TokenAuth(in_statement=True))
    def forgets(request):
        return {"secret": "every guardian's receipt"}

    @router.get("/checks", auth=TokenAuth(in_statement=True))
    def checks(request):
        assert request.auth == PENDING_TOKEN and request.token_digest
        signed_in(request, world.parent_a1)  # what the statement found for this digest
        return {"user": request.user.pk}

    @router.get("/plain", auth=TokenAuth())
    def plain(request):
        return {"user": request.user.pk}

    api = NinjaAPI(urls_namespace="test-token-fails-closed")
    api.add_decorator(in_statement_guard, mode="view")
    api.add_router("/", router)
    return TestClient(api)


@pytest.fixture
def deferring(monkeypatch):
    # On PostgreSQL the check is left to the statement; make SQLite behave the same for these routes.
    monkeypatch.setattr(TokenAuth, "defers_check", staticmethod(lambda: True))


def test_a_route_that_forgets_the_in_statement_check_answers_401(world, deferring):
    client = _api(world)
    response = client.get("/forgets", headers={"Authorization": "Bearer whatever"})
    assert response.status_code == 401
    assert "secret" not in response.content.decode()


def test_a_route_that_checks_the_token_in_its_statement_answers(world, deferring):
    client = _api(world)
    response = client.get("/checks", headers={"Authorization": "Bearer whatever"})
    assert response.status_code == 200 and response.json() == {"user": world.parent_a1.pk}


def test_without_a_token_every_route_answers_401(world, deferring):
    client = _api(world)
    for path in ("/forgets", "/checks", "/plain"):
        assert client.get(path).status_code == 401


def test_the_real_api_guards_every_operation():
    assert (in_statement_guard, "view") in api.default_router._decorators
