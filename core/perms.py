"""The permission vocabulary (docs/decisions/0012): each app declares its permissions as Perm constants
(in its perms.py), with the roles that hold them; require(), @requires and {% can %} are the only ways to ask.

A Perm is a str (its code, e.g. "notices.send"), so a scope's flag tables stay keyed by plain strings and
old call sites keep working while they move over. Who holds it is part of its declaration:
- roles: held on the subtree of the unit the role is assigned in;
- carer: held by a carer (a role held for one student) on that student;
- guardian: held by a guardian on their own children.
accounts.roles builds each role's flag set from these declarations (core.modules finds them).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import wraps

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404

from core.modules import provider
from core.scoping import GUARDIAN_ROLE, Scope, get_scope  # noqa: F401 — GUARDIAN_ROLE: importers read it from here


class Perm(str):
    """A permission: its code (the str value), a Chinese label, and who holds it."""

    label: str
    roles: frozenset[str]
    carer: bool
    guardian: bool

    def __new__(cls, code: str, label, *, roles: Iterable[str] = (), carer: bool = False, guardian: bool = False):
        if "." not in code:
            raise ValueError(f"a permission code is <app>.<verb>: {code!r}")
        obj = super().__new__(cls, code)
        obj.label = label
        obj.roles = frozenset(str(r) for r in roles)
        obj.carer = carer
        obj.guardian = guardian
        return obj

    @property
    def code(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Perm({self.code!r})"

    def __reduce__(self):  # pickled (cache, sessions) as the plain code
        return (str, (self.code,))


def _scope(user_or_scope) -> Scope:
    return user_or_scope if isinstance(user_or_scope, Scope) else get_scope(user_or_scope)


def can(user_or_scope, perm: str, obj=None) -> bool:
    """May the user do perm — on obj (an OrgUnit, a Student, anything with scope_path()), or anywhere?
    Services that already hold the actor's Scope pass it instead of the user."""
    return _scope(user_or_scope).can(perm, obj)


def provided_perm(slot: str) -> Perm | None:
    """The permission a higher app names for a question a lower app asks (Module.provides: slot ->
    "app.perms.NAME"), e.g. the ledger's "who of the staff sees a class's participation": the lower app
    names the slot, never the higher app's permission. None when no installed module fills the slot —
    then nobody holds it, and the caller says what that means."""
    found = provider(slot)
    if found is not None and not isinstance(found, Perm):
        raise ImproperlyConfigured(f"{slot!r} must be provided by a Perm constant, not {found!r}")
    return found


def can_provided(user_or_scope, slot: str, obj=None) -> bool:
    """can() for the permission a higher app names for slot (provided_perm); False when none does."""
    perm = provided_perm(slot)
    return perm is not None and can(user_or_scope, perm, obj)


def require(user, perm: str, obj=None) -> None:
    """Raise unless the user may do perm on obj (or anywhere, without obj).

    The existing rule: an object the user may not even see answers 404 (its existence is not revealed);
    one the user sees but may not act on answers 403. Callers pass objects they fetched through the
    scoping layer (fetch_for / get_<entity>_for), so a refused object here is a seen one: 403 — unless
    it is not visible, which require() checks when the object's model can tell (visible_to)."""
    scope = get_scope(user)
    if scope.can(perm, obj):
        return
    if obj is not None and not _visible(user, obj):
        raise Http404
    raise PermissionDenied


def _visible(user, obj) -> bool:
    qs = getattr(type(obj), "_default_manager", None)
    if qs is None or not hasattr(qs.all(), "visible_to"):
        return True  # cannot tell: the refusal stays a 403
    return qs.all().visible_to(user).filter(pk=obj.pk).exists()


def requires(*perms: str):
    """View decorator: the user holds (one of) perms somewhere, else 403. Object checks stay in the view
    (require(user, perm, obj)) or in the entity's get_<entity>_for(..., for_write=True)."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            scope = get_scope(request.user)
            if not any(scope.can(p) for p in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_perms = perms
        return wrapped

    return decorate


def perm_paths(user_or_scope, *perms: str) -> tuple[str, ...]:
    """The unit paths under which the user holds any of perms: for building query filters (prefix_q),
    never for deciding in a view (use can/require)."""
    scope = _scope(user_or_scope)
    paths: list[str] = []
    for perm in perms:
        paths.extend(p for p in scope.perm_prefixes.get(perm, ()) if p not in paths)
    return tuple(paths)


def has_staff_role(user_or_scope) -> bool:
    """Holds any role other than guardian (or is a superuser): the staff workspace rather than the family's."""
    scope = user_or_scope if hasattr(user_or_scope, "roles") else get_scope(user_or_scope)
    return scope.superuser or any(r != GUARDIAN_ROLE for r, _u, _s in scope.roles)


def holds_any_perm(user_or_scope) -> bool:
    """Holds some permission on some unit subtree (staff at work, not only a family member)."""
    scope = user_or_scope if hasattr(user_or_scope, "perm_prefixes") else get_scope(user_or_scope)
    return scope.superuser or any(scope.perm_prefixes.values())
