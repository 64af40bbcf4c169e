"""The module contract (core.modules, docs/decisions/0011): every app's module.py is found, and what it
declares — pages, API router, workspace cards, permissions, object URLs, KPIs, demo step — is what the
shell, the URLconf, the API, the role table, the leak walks and the demo command use. A module added
by a settings override appears everywhere without any central file being edited."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import NoReverseMatch, path, reverse

from accounts import roles
from core import kpi
from core.management.commands import demo as demo_command
from core.modules import Module, all_cards, demo_steps, get_module, modules
from gongyu.urls import module_urlpatterns
from gongyu.views import home

PROJECT_APPS = ["audit", "org", "periods", "accounts", "people", "jobs", "messaging", "ledger", "roster", "notices", "homeschool", "activities", "courses"]


def test_every_project_app_declares_a_module():
    assert [m.label for m in modules()] == PROJECT_APPS
    # Every app of this repository but core (the platform the modules plug into).
    local = [a for a in settings.INSTALLED_APPS if (Path(settings.BASE_DIR) / a / "apps.py").is_file() and a != "core"]
    assert set(local) == set(PROJECT_APPS)


def test_pages_are_mounted_at_their_declared_prefixes():
    for m in modules():
        if m.url_prefix is None:
            continue
        # Each app's namespace answers under its prefix (the URL names stay those of tests/test_urls.py).
        assert reverse(f"{m.label}:{_first_name(m)}").startswith(f"/{m.url_prefix}"), m.label
    assert {m.label for m in modules() if m.url_prefix} == {"accounts", "org", "people", "messaging", "roster", "notices", "homeschool",
                                                             "activities", "courses"}


def _first_name(m: Module) -> str:
    urls = __import__(m.urls or f"{m.label}.urls", fromlist=["urlpatterns"])
    return next(p.name for p in urls.urlpatterns if getattr(p, "name", None) and not p.pattern.converters)


def test_api_routers_are_mounted_at_their_declared_prefixes(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for m in modules():
        if m.api_router:
            assert any(p.startswith(f"/api/v1{m.api_prefix}/") for p in paths), m.label
    assert [m.api_prefix for m in modules() if m.api_router] == ["/org", "/auth", "/people", "/messages", "/notices", "/homeschool", "/activities",
                                                                       "/courses"]


def test_workspace_cards_come_from_the_modules_in_their_order():
    assert [label for label, _card in all_cards()] == ["notices", "messaging", "activities", "courses", "homeschool", "roster"]
    # The family page shows only the cards that say so: a guardian lands there, not on the workspace.
    assert [label for label, card in all_cards() if card.family] == ["messaging"]


def test_object_urls_permissions_kpis_and_demo_are_declared():
    names = {m.label: set(m.object_pages) for m in modules()}
    assert "org:unit_detail" in names["org"] and "notices:read" in names["notices"] and "courses:lesson" in names["courses"]
    for m in modules():
        for name in m.object_pages:
            assert name.startswith(f"{m.label}:"), name  # a module declares only its own pages
        for route in m.object_api:
            assert route.startswith(f"api/v1{m.api_prefix}/"), route
    assert [d.command for d in demo_steps()] == ["build_demo", "demo_activities", "demo_notices"]
    assert "people.guardian_activation" in kpi.registry()
    assert get_module("notices").perms and get_module("nosuch") is None


# --- A module added without touching a central file -------------------------------------------------

FAKE_APPS = [*settings.INSTALLED_APPS, "tests.fakemodule"]


@pytest.fixture
def fake_module():
    """INSTALLED_APPS plus tests.fakemodule, and a root URLconf made the way gongyu/urls.py makes it."""
    with override_settings(INSTALLED_APPS=FAKE_APPS):
        urlconf = types.ModuleType("tests_fake_root_urls")
        urlconf.urlpatterns = [path("", home, name="home"), *module_urlpatterns()]
        sys.modules[urlconf.__name__] = urlconf
        try:
            with override_settings(ROOT_URLCONF=urlconf.__name__):
                yield get_module("fakemodule")
        finally:
            del sys.modules[urlconf.__name__]
    # Back to the real apps: the registry and the role table forget the fake module.
    assert get_module("fakemodule") is None
    assert "fakemodule.use" not in roles.RULES["class_teacher"].perms


def test_a_new_module_appears_everywhere(fake_module, client, world):
    assert fake_module is not None and modules()[-1].label == "fakemodule"
    # Its permission is held by the roles it names, and by no other.
    assert "fakemodule.use" in roles.RULES["class_teacher"].perms and "fakemodule.use" in roles.RULES["school_admin"].perms
    assert "fakemodule.use" not in roles.RULES["subject_teacher"].perms
    # Its pages are mounted, its card is on the workspace of those who hold the permission (between courses
    # and homeschool, by its order), its KPI and demo step are listed.
    assert reverse("fakemodule:home") == "/fake/"
    client.force_login(world.teacher_a1)
    assert client.get("/fake/").status_code == 200
    page = client.get("/").content.decode()
    assert 'data-testid="card-fakemodule"' in page and "测试模块的说明" in page
    assert [label for label, _c in all_cards()] == ["notices", "messaging", "activities", "courses", "fakemodule", "fakemodule", "homeschool",
                                                    "roster"]
    # Its to-do counter (Module.counters) gives the card its red dot.
    card = page[page.index('data-testid="card-fakemodule"') :]
    assert 'data-testid="todo-dot">3<' in card[: card.index("</a>")]
    # Its family card is on the family page of a guardian (where a guardian lands), with the same counter.
    client.force_login(world.parent_a1)
    family = client.get(reverse("people:family")).content.decode()
    tile = family[family.index('data-testid="tile-fakemodule"') :]
    assert "家庭测试" in tile and 'data-testid="todo-dot">3<' in tile[: tile.index("</a>")]
    client.force_login(world.subject_teacher_a1)
    assert client.get("/fake/").status_code == 403
    assert 'data-testid="card-fakemodule"' not in client.get("/").content.decode()
    assert "fakemodule.count" in kpi.registry()
    assert demo_steps()[-1].command == "fake_demo"
    assert "fakemodule:thing" in fake_module.object_pages


def test_without_the_module_its_urls_do_not_exist():
    with pytest.raises(NoReverseMatch):
        reverse("fakemodule:home")


def test_the_demo_command_runs_each_modules_step_in_order(monkeypatch):
    calls = []
    monkeypatch.setattr(demo_command, "call_command", lambda name, **kw: calls.append((name, {k: v for k, v in kw.items() if k not in ("stdout", "stderr")})))
    call_command("demo", students=200, seed=7, if_empty=True)
    assert calls == [("build_demo", {"students": 200, "seed": 7, "if_empty": True}), ("demo_activities", {}), ("demo_notices", {})]
