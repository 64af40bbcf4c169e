import pytest


@pytest.fixture
def world(db):
    from tests.world import build_world

    return build_world()


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Tests create many accounts; the production hasher's cost is not what they test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = True


@pytest.fixture(autouse=True)
def _reset_axes_cache():
    from django.core.cache import cache

    cache.clear()
    yield
