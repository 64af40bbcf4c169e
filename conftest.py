import pytest
from django.core.cache import cache

from accounts.tokens import token_uses
from core.scoping import system_scope
from tests.world import build_world


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Tests create many accounts; the production hasher's cost is not what they test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = True


@pytest.fixture(autouse=True)
def _reset_axes_cache():
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _forget_token_uses():
    # Token uses are written later in bulk (accounts.tokens.token_uses): a test's notes must not be written
    # into the next test's data, nor at exit into a database that is not the test's.
    yield
    with token_uses.lock:
        token_uses.pending.clear()


_EVIDENCE: list[str] = []


def pytest_runtest_logreport(report):
    # Tests record figures the issues ask for as evidence (record_property("evidence", ...)); under
    # xdist the reports, properties included, reach the controlling process, which prints them.
    if report.when == "call":
        _EVIDENCE.extend(value for key, value in report.user_properties if key == "evidence")


def pytest_terminal_summary(terminalreporter):
    for line in _EVIDENCE:
        terminalreporter.write_line(f"[evidence] {line}")


@pytest.fixture(autouse=True)
def _system_scope_for_set_up():
    # The test's own set-up and assertions read as the system; a request made through the test client
    # enters strict scoping in core.middleware.StrictScopeMiddleware, so every page and API call the suite
    # makes is a check that it evaluates no unscoped query (docs/decisions/0013).
    with system_scope("test set-up and assertions"):
        yield
