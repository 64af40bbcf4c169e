"""The module contract (docs/decisions/0011): every app says what it plugs into the platform in one
place, its `module.py` (a `MODULE = Module(...)`), and the platform discovers them from INSTALLED_APPS.

The shell's home cards, the root URLconf, the API, the demo command, the role table (accounts.roles, through Module.roles)
and the scope-leak walks read the registry; adding a module touches no central file but INSTALLED_APPS.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Card:
    """A tile on the staff workspace. decide(user, scope) answers (url name, text, to-do counter name or
    None) — different wording for different uses of the module — or None: no card for this user.
    The counter is a name of gongyu.todo.ToDo, or one a module declares in Module.counters."""

    icon: str
    title: str
    decide: Callable
    order: int = 100  # place on the workspace, lowest first
    # Also a tile on a family's page (people:family): a guardian lands there after log-in, not on the workspace.
    family: bool = False


@dataclass(frozen=True)
class DemoStep:
    """A demo-data builder: a management command, run by `manage.py demo` in INSTALLED_APPS order.
    options: which of the demo command's options it takes (e.g. students, seed, if_empty)."""

    command: str
    options: tuple[str, ...] = ()
    order: int = 100  # lowest first: a step may build on the data of an earlier one


@dataclass(frozen=True)
class Module:
    label: str  # the app label
    # Pages: mounted at url_prefix (e.g. "notices/"), from the app's urls module (its app_name namespaces them).
    url_prefix: str | None = None
    urls: str | None = None  # dotted module path, default "<app>.urls"
    # API: the router (dotted "module.attr") mounted at /api/v1<api_prefix>.
    api_prefix: str | None = None
    api_router: str | None = None
    perms: tuple = ()  # core.perms.Perm constants this app declares (with their holders)
    cards: tuple[Card, ...] = ()
    # Object URLs for the scope-leak walk: page URL name -> (object kind, method);
    # API route as the resolver writes it -> (object kind, method).
    object_pages: dict[str, tuple[str, str]] = field(default_factory=dict)
    object_api: dict[str, tuple[str, str]] = field(default_factory=dict)
    kpis: tuple = ()  # core.kpi.KpiProvider
    demo: DemoStep | None = None
    # The role table (accounts contributes it): role -> its rule (where it is held, how far it sees,
    # .perms); core.scoping reads it from here, so core imports no app.
    roles: dict = field(default_factory=dict)
    # Housekeeping: dotted callables run daily by core.tasks.housekeeping, each returning {name: rows deleted}.
    housekeeping: tuple[str, ...] = ()
    # What this module gives a lower app: slot name (the lower app names and calls it, e.g.
    # "org.class_teacher_names") -> dotted callable, or the dotted path of a Perm constant for a slot the
    # lower app asks a permission by (core.perms.provided_perm). A lower app never imports a higher one;
    # it asks provider(slot) and gets None when no installed module fills the slot.
    provides: dict[str, str] = field(default_factory=dict)
    # To-do counts for the red dots: counter name (what a Card names) -> dotted callable(user) -> int, one
    # query, run only when a page shows the dot (gongyu.todo.ToDo asks counter(name)).
    counters: dict[str, str] = field(default_factory=dict)


@cache
def modules() -> tuple[Module, ...]:
    """Every installed app's Module, in INSTALLED_APPS order."""
    found = []
    for config in apps.get_app_configs():
        name = f"{config.name}.module"
        if importlib.util.find_spec(config.name) is None or not _has_submodule(config.name, "module"):
            continue
        mod = importlib.import_module(name)
        module = getattr(mod, "MODULE", None)
        if not isinstance(module, Module):
            raise ImproperlyConfigured(f"{name} must define MODULE = core.modules.Module(...)")
        found.append(module)
    return tuple(found)


def _has_submodule(package: str, sub: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.{sub}") is not None
    except ModuleNotFoundError:
        return False


def get_module(label: str) -> Module | None:
    return next((m for m in modules() if m.label == label), None)


def all_perms() -> tuple:
    return tuple(p for m in modules() for p in m.perms)


@cache
def role_rules() -> dict:
    """Role -> its rule, from every installed module's role table."""
    return {role: rule for m in modules() for role, rule in m.roles.items()}


@cache
def student_perms() -> dict[str, frozenset[str]]:
    """What a carer may do with their one student, and a guardian with their own children (core.perms.Perm)."""
    perms = all_perms()
    return {"carer": frozenset(p.code for p in perms if p.carer), "guardian": frozenset(p.code for p in perms if p.guardian)}


def _merged(attr: str, what: str) -> dict[str, str]:
    """One name -> dotted path table from every installed module's `attr` (provides, counters); a name two
    modules declare is refused."""
    found: dict[str, str] = {}
    for m in modules():
        for name, path in getattr(m, attr).items():
            if name in found:
                raise ImproperlyConfigured(f"{what} {name!r} is declared twice: {found[name]} and {path}")
            found[name] = path
    return found


@cache
def _slots() -> dict[str, str]:
    return _merged("provides", "slot")


def provider(slot: str):
    """What an installed module provides for this slot (Module.provides): a callable, or a Perm for a
    permission slot (core.perms.provided_perm); None when no installed module fills it."""
    path = _slots().get(slot)
    return resolve_dotted(path) if path else None


@cache
def _counters() -> dict[str, str]:
    return _merged("counters", "counter")


def counter(name: str) -> Callable | None:
    """The to-do count an installed module declares under this name (Module.counters), or None."""
    path = _counters().get(name)
    return resolve_dotted(path) if path else None


def all_cards() -> list[tuple[str, Card]]:
    """Every installed module's cards as (app label, card), in their declared order."""
    cards = [(m.label, c) for m in modules() for c in m.cards]
    return sorted(cards, key=lambda mc: mc[1].order)


def card_tiles(user, scope, todo, *, family: bool = False) -> list[dict]:
    """The cards this user gets (the staff workspace's, or with family=True the family page's), each with
    its to-do count as a callable on the request's ToDo: lazy, so the count's one query runs only when the
    template shows the card's dot, and the navigation reuses it. Each card asks the user's permissions
    whether and how the user uses the module; a card whose URL does not resolve is left out."""
    tiles = []
    for name, card in all_cards():
        if family and not card.family:
            continue
        choice = card.decide(user, scope)
        if choice is None:
            continue
        url_name, text, count = choice
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        counted = partial(getattr, todo, count) if count and todo is not None else None
        tiles.append({"url": url, "icon": card.icon, "title": card.title, "text": text, "name": name, "count": counted})
    return tiles


def demo_steps() -> list[DemoStep]:
    return sorted((m.demo for m in modules() if m.demo is not None), key=lambda d: d.order)


def all_kpis() -> tuple:
    return tuple(k for m in modules() for k in m.kpis)


def resolve_dotted(path: str):
    """"pkg.mod.attr" -> the attribute."""
    mod, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(mod), attr)


def forget() -> None:
    """Drop the cached registry (and what is built from it): INSTALLED_APPS changed."""
    modules.cache_clear()
    role_rules.cache_clear()
    student_perms.cache_clear()
    _slots.cache_clear()
    _counters.cache_clear()
    for hook in _on_forget:
        hook()


_on_forget: list[Callable[[], None]] = []


def on_forget(hook: Callable[[], None]) -> Callable[[], None]:
    """Register a cache built from the registry, to be dropped with it."""
    _on_forget.append(hook)
    return hook


@receiver(setting_changed)
def _installed_apps_changed(*, setting, **kwargs):
    if setting == "INSTALLED_APPS":
        forget()
