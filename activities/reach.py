"""Whom an organiser may invite: the audience units of their activities and campaigns.

Staff with activities.manage reach the families in their own subtree (a class teacher's class, a school
admin's school, a street work station's schools). A community or a partner organisation holds no families
itself, yet hosts activities for the neighbourhood (R3.1, R1.1 "≥ 1 public activity per quarter"): its
organisers reach the street or district the unit belongs to, i.e. the schools it serves. Structure only:
reaching a school lets them invite its families, never see its students (check-in lists show only those
who signed up)."""

from __future__ import annotations

from activities.perms import MANAGE
from core.perms import perm_paths
from core.scoping import get_scope, prefix_q
from org.models import Kind, OrgUnit

HOST_KINDS = (Kind.COMMUNITY, Kind.PARTNER)
AUDIENCE_KINDS = (Kind.DISTRICT, Kind.STREET, Kind.SCHOOL, Kind.GRADE, Kind.CLASS)


def reach_prefixes(user) -> tuple[str, ...]:
    """Path prefixes of the units the user may put in an audience (empty for a superuser: all)."""
    scope = get_scope(user)
    own = perm_paths(scope, MANAGE)
    if not own:
        return ()
    cached = getattr(user, "_gongyu_reach", None)  # once per request, like the scope itself
    if cached is None or cached[0] != own:
        parents = OrgUnit.objects.system(reason="the parents of the user's own host units").filter(path__in=own, kind__in=HOST_KINDS, parent__isnull=False).values_list("parent__path", flat=True)
        cached = (own, tuple(sorted(set(own) | set(parents))))
        user._gongyu_reach = cached
    return cached[1]


def may_target(user, unit: OrgUnit) -> bool:
    if get_scope(user).superuser:
        return True
    return any(unit.path.startswith(p) for p in reach_prefixes(user))


def audience_units(user):
    """The units offered in the 面向范围 picker."""
    qs = OrgUnit.objects.system(reason="the audience picker, filtered by the user's reach below").filter(is_active=True, kind__in=AUDIENCE_KINDS)
    if get_scope(user).superuser:
        return qs
    q = prefix_q("path", reach_prefixes(user))
    return qs.filter(q) if q is not None else qs.none()
