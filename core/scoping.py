"""The one scoping mechanism. Everything that reads tenant or personal data goes through here.

get_scope(user) turns a user's role assignments and guardianships into a Scope once per request;
ScopedQuerySet.visible_to(user) turns the Scope into a query filter; fetch_for(user, ...) gets one
object by id or answers 404. Views, API, exports, admin and tasks never filter by hand.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.apps import apps
from django.db import connection, models
from django.http import Http404
from django.utils import timezone

from core.ids import parse_id
from core.modules import role_rules
from core.modules import student_perms as declared_student_perms
from core.rows import hot_query
from core.sql import SCOPE_SQL

# How far a role's structural view reaches from the unit it is held in (accounts.roles.RoleRule.sees_units).
SUBTREE = "subtree"  # the unit and everything under it
DISTRICT = "district"  # the whole district the unit belongs to (structure only)
# The role name a guardianship row carries in a scope: the one role that is not staff.
GUARDIAN_ROLE = "guardian"


@dataclass(frozen=True)
class Scope:
    user_id: int | None = None
    superuser: bool = False
    # Whole subtrees of org units the user sees (structure), and single units (ancestors, children's classes).
    unit_prefixes: tuple[str, ...] = ()
    unit_ids: frozenset[int] = frozenset()
    # The classes of the user's own children and their ancestors: what a family belongs to as an audience
    # (unit_ids also holds the ancestors of a staff role's unit, which make no one an audience member).
    family_unit_ids: frozenset[int] = frozenset()
    # Students: everyone under these unit paths, plus these ids (own children, assigned children).
    student_prefixes: tuple[str, ...] = ()
    student_ids: frozenset[int] = frozenset()
    # Permission flags: on unit subtrees, and on single students.
    perm_prefixes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    student_perms: dict[str, frozenset[int]] = field(default_factory=dict)
    # The user's own children (guardianships): where the guardian-only flags (family.view) are held.
    family_student_ids: frozenset[int] = frozenset()
    roles: tuple[tuple[str, int | None, int | None], ...] = ()  # (role, unit_id, student_id)
    guardian_id: int | None = None
    district_ids: frozenset[int] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not (self.superuser or self.unit_prefixes or self.unit_ids or self.student_prefixes or self.student_ids)

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r for r, _u, _s in self.roles)

    def has_perm_anywhere(self, perm: str) -> bool:
        return self.superuser or bool(self.perm_prefixes.get(perm)) or bool(self.student_perms.get(perm))

    def can(self, perm: str, target=None) -> bool:
        """May the user do `perm` on target (an OrgUnit, a Student, or anything with a scope_path())?"""
        if self.superuser:
            return True
        if target is None:
            return self.has_perm_anywhere(perm)
        student_id = getattr(target, "scope_student_id", None)
        if student_id is not None and student_id in self.student_perms.get(perm, frozenset()):
            return True
        path = target.scope_path() if hasattr(target, "scope_path") else getattr(target, "path", None)
        if not path:
            return False
        return any(path.startswith(prefix) for prefix in self.perm_prefixes.get(perm, ()))


ANONYMOUS_SCOPE = Scope()


def ancestor_ids(*paths: str) -> set[int]:
    """The ids on materialised paths ("/1/4/9/" -> {1, 4, 9}): a unit and its ancestors (ADR 0001)."""
    return {int(p) for path in paths for p in path.strip("/").split("/") if p}


def _scope_rows(user_id: int, now) -> list[tuple]:
    """(kind, role, unit_id, student_id, district_id, path, carer's class path, guardian_id) per row:
    kind "r" for a role assignment (path: its unit's), "g" for a guardianship (path: the child's class)."""
    params = [user_id, True, True, connection.ops.adapt_datetimefield_value(now), user_id, True]
    if connection.vendor == "postgresql":
        return [row[:8] for row in hot_query(SCOPE_SQL, params, many=True)]
    with connection.cursor() as cur:
        cur.execute(SCOPE_SQL, params)
        return [row[:8] for row in cur.fetchall()]


def compute_scope(user) -> Scope:
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS_SCOPE
    if user.is_superuser:
        return Scope(user_id=user.pk, superuser=True)

    unit_prefixes: set[str] = set()
    unit_ids: set[int] = set()
    family_unit_ids: set[int] = set()
    student_prefixes: set[str] = set()
    student_ids: set[int] = set()
    family_student_ids: set[int] = set()
    perm_prefixes: dict[str, set[str]] = {}
    student_perms: dict[str, set[int]] = {}
    roles: list[tuple[str, int | None, int | None]] = []
    district_ids: set[int] = set()

    rules = role_rules()  # the role table: accounts contributes it through its module (Module.roles)
    declared = declared_student_perms()
    carer_perms, guardian_perms = declared["carer"], declared["guardian"]
    guardian_id = None
    for kind, role, unit_id, student_id, district_id, path, class_path, link_guardian_id in _scope_rows(user.pk, timezone.now()):
        if kind == "g":  # a guardianship: one child, its class and the class's ancestors
            guardian_id = link_guardian_id
            student_ids.add(student_id)
            family_student_ids.add(student_id)
            district_ids.add(district_id)
            unit_ids.update(ancestor_ids(path))
            family_unit_ids.update(ancestor_ids(path))
            for perm in guardian_perms:
                student_perms.setdefault(perm, set()).add(student_id)
            roles.append((GUARDIAN_ROLE, unit_id, student_id))
            continue
        rule = rules.get(role)
        if rule is None:
            continue
        roles.append((role, unit_id, student_id))
        district_ids.add(district_id)
        unit_ids.update(ancestor_ids(path))
        if student_id:
            # A carer: one child, and the unit they hold the role in.
            student_ids.add(student_id)
            for perm in carer_perms:
                student_perms.setdefault(perm, set()).add(student_id)
            unit_ids.update(ancestor_ids(class_path))
            continue
        if rule.sees_units == DISTRICT:
            unit_prefixes.add(f"/{district_id}/")
        else:
            unit_prefixes.add(path)
        if rule.sees_students:
            student_prefixes.add(path)
        for perm in rule.perms:
            perm_prefixes.setdefault(perm, set()).add(path)
    if guardian_id is None and hasattr(user, "guardian_profile_id"):
        guardian_id = user.guardian_profile_id()

    return Scope(
        user_id=user.pk,
        unit_prefixes=tuple(sorted(_collapse(unit_prefixes))),
        unit_ids=frozenset(unit_ids),
        family_unit_ids=frozenset(family_unit_ids),
        student_prefixes=tuple(sorted(_collapse(student_prefixes))),
        student_ids=frozenset(student_ids),
        perm_prefixes={k: tuple(sorted(_collapse(v))) for k, v in perm_prefixes.items()},
        student_perms={k: frozenset(v) for k, v in student_perms.items()},
        family_student_ids=frozenset(family_student_ids),
        roles=tuple(roles),
        guardian_id=guardian_id,
        district_ids=frozenset(district_ids),
    )


def _collapse(prefixes: set[str]) -> set[str]:
    """Drop prefixes covered by a shorter one, so filters stay short."""
    kept: set[str] = set()
    for p in sorted(prefixes, key=len):
        if not any(p.startswith(k) for k in kept):
            kept.add(p)
    return kept


def get_scope(user) -> Scope:
    """The user's scope, computed once and kept on the user object for the rest of the request."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS_SCOPE
    scope = getattr(user, "_gongyu_scope", None)
    if scope is None:
        scope = compute_scope(user)
        user._gongyu_scope = scope
    return scope


def forget_scope(user) -> None:
    if hasattr(user, "_gongyu_scope"):
        del user._gongyu_scope


def prefix_q(field_name: str, prefixes) -> models.Q | None:
    qs = [models.Q(**{f"{field_name}__startswith": p}) for p in prefixes]
    return reduce(or_, qs) if qs else None


def any_q(*parts: models.Q | None) -> models.Q | None:
    kept = [p for p in parts if p is not None]
    return reduce(or_, kept) if kept else None


# --- Rule builders: the guardian, family (guardian and carer) and staff rules, written once -------------------
# Apps build their scope_q() from these; none restates a rule (docs/decisions/0013). The SQL form of the
# guardian rule, for the hand-written hot statements, is core.sql.guardian_rule_sql().


def guardian_q(scope: Scope, field: str = "guardian_id") -> models.Q | None:
    """The guardian rule: rows of the user's own guardian record."""
    return models.Q(**{field: scope.guardian_id}) if scope.guardian_id else None


def family_students_q(scope: Scope, field: str) -> models.Q | None:
    """Rows of the user's own children (where a guardianship gives the family flags on single students)."""
    family = scope.family_student_ids
    return models.Q(**{f"{field}__in": family}) if family else None


def family_q(scope: Scope, guardian_field: str = "guardian_id", student_field: str | None = None) -> models.Q | None:
    """Rows of the user's own family: their own guardian id, or (where given) their own children."""
    return any_q(guardian_q(scope, guardian_field), family_students_q(scope, student_field) if student_field else None)


def staff_prefixes(scope: Scope, *perms: str) -> tuple[str, ...]:
    """The staff rule: the unit subtrees on which the user holds any of these flags."""
    return tuple(p for perm in perms for p in scope.perm_prefixes.get(perm, ()))


def staff_q(scope: Scope, field: str, *perms: str) -> models.Q | None:
    """Rows whose unit path (field) lies in a subtree where the user holds one of the flags."""
    return prefix_q(field, staff_prefixes(scope, *perms))


def family_guardian_q(scope: Scope, field: str = "guardian_id", *, staff_perm: str) -> models.Q | None:
    """The user's own guardian rows; staff holding staff_perm see those of the families in their units."""
    links = None
    prefixes = staff_prefixes(scope, staff_perm)
    if prefixes:
        # core is below people: the model is looked up in the registry, not imported.
        guardianships = apps.get_model("people", "Guardianship")._base_manager
        links = models.Q(**{f"{field}__in": guardianships.filter(prefix_q("student__school_class__path", prefixes)).values("guardian_id")})
    return any_q(guardian_q(scope, field), links)


class ScopeError(RuntimeError):
    """A scoped model's rows were read or written without .visible_to(user) or .system(reason=...)."""


# Where the strict rule applies (docs/decisions/0013). Requests enter STRICT (core.middleware.
# StrictScopeMiddleware, pages and API alike); background tasks and explicit blocks enter SYSTEM; outside
# both (migrations, the shell, management commands) nothing is checked.
STRICT = "strict"
SYSTEM = "system"
_scope_mode: ContextVar[tuple[str, str] | None] = ContextVar("gongyu_scope_mode", default=None)


@contextmanager
def strict_scope():
    """Every scoped queryset evaluated inside must be scoped (a request)."""
    token = _scope_mode.set((STRICT, ""))
    try:
        yield
    finally:
        _scope_mode.reset(token)


@contextmanager
def system_scope(reason: str):
    """Unscoped reads are allowed inside, for a stated reason (a background task, a test's set-up)."""
    if not reason or not reason.strip():
        raise ValueError("system_scope() needs a reason")
    token = _scope_mode.set((SYSTEM, reason))
    try:
        yield
    finally:
        _scope_mode.reset(token)


def enter_system_scope(reason: str):
    """system_scope() for hooks that cannot wrap a block (the task runner's pre/post hooks): a token for
    leave_scope()."""
    return _scope_mode.set((SYSTEM, reason))


def leave_scope(token) -> None:
    _scope_mode.reset(token)


def _in_system_scope(reason: str, method):
    def wrapper(*args, **kwargs):
        with system_scope(reason):
            return method(*args, **kwargs)

    wrapper.__wrapped__ = method
    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def install_model_hooks() -> None:
    """Uniqueness is a fact about every row of a table, whoever asks: Model.validate_unique() and
    validate_constraints() (full_clean(), model forms) query _default_manager, and run as a system read."""
    if getattr(models.Model.validate_unique, "__wrapped__", None) is None:
        models.Model.validate_unique = _in_system_scope("uniqueness is checked on every row", models.Model.validate_unique)
        models.Model.validate_constraints = _in_system_scope(
            "constraints are checked on every row", models.Model.validate_constraints
        )


def scope_mode() -> str | None:
    mode = _scope_mode.get()
    return mode[0] if mode else None


class ScopedQuerySet(models.QuerySet):
    """Subclasses say how a Scope filters their rows in scope_q(); visible_to() does the rest.

    A queryset remembers how it was scoped: by visible_to(user), by system(reason=...), or by being reached
    through a related object (Django's related managers and prefetches give it an "instance" hint). Under
    strict_scope() evaluating one that is none of these raises ScopeError instead of reading every district."""

    _scoped_by: str | None = None

    def scope_q(self, scope: Scope) -> models.Q | None:
        raise NotImplementedError(f"{self.model.__name__} must define scope_q()")

    def visible_to(self, user):
        scope = get_scope(user)
        if scope.superuser:
            qs = self.all()
        else:
            q = self.scope_q(scope)
            qs = self.filter(q) if q is not None else self.none()
        qs._scoped_by = "visible_to"
        return qs

    def system(self, *, reason: str):
        """Every row, on purpose: the reason says why this read may look beyond the current user."""
        if not reason or not reason.strip():
            raise ValueError("system() needs a reason")
        qs = self._chain()
        qs._scoped_by = "system"
        return qs

    def scoped(self, how: str = "rule"):
        """This queryset as scoped: for a queryset method that filters by its own rule from the user's
        scope (managed_by, followed_by, own), a narrower view than visible_to()."""
        qs = self._chain()
        qs._scoped_by = how
        return qs

    def none(self):
        qs = super().none()
        qs._scoped_by = "none"  # reads nothing, so needs no scope
        return qs

    @property
    def is_scoped(self) -> bool:
        return self._scoped_by is not None or "instance" in self._hints

    def _check_scope(self) -> None:
        mode = _scope_mode.get()
        if mode is not None and mode[0] == STRICT and not self.is_scoped:
            raise ScopeError(
                f"{self.model._meta.label}: unscoped query in a request; "
                "use .visible_to(user), or .system(reason=...) for a read beyond the user"
            )

    def _clone(self):
        clone = super()._clone()
        clone._scoped_by = self._scoped_by
        return clone

    # What evaluates a queryset: iteration, len, bool, get, first, values (all through _fetch_all), and the
    # statements that do not fetch rows.
    def _fetch_all(self):
        if self._result_cache is None:
            self._check_scope()
        super()._fetch_all()

    def iterator(self, *args, **kwargs):
        self._check_scope()
        return super().iterator(*args, **kwargs)

    def count(self):
        if self._result_cache is None:
            self._check_scope()
        return super().count()

    def exists(self):
        if self._result_cache is None:
            self._check_scope()
        return super().exists()

    def contains(self, obj):
        if self._result_cache is None:
            self._check_scope()
        return super().contains(obj)

    def aggregate(self, *args, **kwargs):
        self._check_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._check_scope()
        return super().update(**kwargs)

    update.alters_data = True

    def _update(self, values):
        self._check_scope()
        return super()._update(values)

    _update.alters_data = True
    _update.queryset_only = False

    def delete(self):
        self._check_scope()
        return super().delete()

    delete.alters_data = True
    delete.queryset_only = True

    def explain(self, **options):
        self._check_scope()
        return super().explain(**options)


class ScopedViaQuerySet(ScopedQuerySet):
    """Rows that belong to a scoped parent (a consultation's messages, a party's persons): visible where the
    parent is, by the parent's own scope_q(). Subclasses set scope_via to the foreign key's name."""

    scope_via = ""

    def scope_q(self, scope: Scope) -> models.Q | None:
        parent = self.model._meta.get_field(self.scope_via).related_model
        q = parent._default_manager.all().scope_q(scope)
        if q is None:
            return None
        return models.Q(**{f"{self.scope_via}__in": parent._base_manager.filter(q).values("pk")})


def scoped_via(field_name: str):
    """A manager whose rows are scoped through the foreign key `field_name` (ScopedViaQuerySet)."""
    queryset = type(f"ScopedVia_{field_name}", (ScopedViaQuerySet,), {"scope_via": field_name, "__module__": __name__})
    return queryset.as_manager()


def needs_scoped_manager(model) -> bool:
    """A model holding district data (a `district` foreign key) or personal data (holds_personal_data)."""
    if getattr(model, "holds_personal_data", False):
        return True
    try:
        field = model._meta.get_field("district")
    except Exception:  # FieldDoesNotExist
        return False
    return field.is_relation and field.many_to_one


def has_scoped_manager(model) -> bool:
    return isinstance(model._default_manager.get_queryset(), ScopedQuerySet)  # lazy: no query runs


def fetch_for(user, queryset_or_model, pk, *, perm: str | None = None):
    """Get one object the user may see, or 404. With perm, also require that flag on the object."""
    qs = queryset_or_model._default_manager.all() if isinstance(queryset_or_model, type) else queryset_or_model
    if parse_id(pk) is None:  # "abc", "1.5", a 20-digit number: no such object (not the database's overflow)
        raise Http404
    try:
        obj = qs.visible_to(user).get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if perm and not get_scope(user).can(perm, obj):
        raise Http404
    return obj
