"""To-do counts for the red dots on home tiles and the navigation: each one cheap query, run only when a
template reads it (the context processor hands templates a lazy object), and only for users who can
have such to-dos (decided from the request's scope, which costs nothing more)."""

from __future__ import annotations

from functools import cached_property

from core.modules import counter
from core.perms import can, has_staff_role
from core.scoping import ANONYMOUS_SCOPE, get_scope
from homeschool.models import OVERSEE, TEACH, Consultation, ConsultStatus
from notices.selectors import unread_counts


class ToDo:
    def __init__(self, user):
        self.user = user

    @cached_property
    def scope(self):
        return get_scope(self.user) if self.user is not None else ANONYMOUS_SCOPE

    @cached_property
    def _notices(self) -> dict:
        if not self.scope.user_id:
            return {"unread": 0, "awaiting_reply": 0}
        return unread_counts(self.user)

    @property
    def unread_notices(self) -> int:
        """Notices addressed to me (as a guardian or as staff) that I have not opened."""
        return self._notices["unread"]

    @property
    def notices_awaiting_reply(self) -> int:
        """Notices asking me for a reply (回执) that I have not given."""
        return self._notices["awaiting_reply"]

    @cached_property
    def consultations_waiting(self) -> int:
        """Consultations waiting for my reply: as the class teacher, or as one of the district's experts.
        A family-only account answers none, so it pays no query."""
        scope = self.scope
        if not scope.user_id or not has_staff_role(scope):
            return 0
        qs = Consultation.objects.visible_to(self.user).filter(status=ConsultStatus.OPEN)
        if scope.guardian_id:  # a teacher who is also a parent does not answer their own questions
            qs = qs.exclude(guardian_id=scope.guardian_id)
        return qs.count()

    def __getattr__(self, name):
        """A count a module declares (Module.counters, e.g. messaging's unread_messages), computed once;
        a signed-out request pays no query."""
        count = None if name.startswith("_") else counter(name)
        if count is None:
            raise AttributeError(name)
        value = count(self.user) if self.scope.user_id else 0
        self.__dict__[name] = value
        return value

    @property
    def can_visit(self) -> bool:
        """Plans home visits (class teacher) or follows their coverage (school/district admins)."""
        return can(self.user, TEACH) or can(self.user, OVERSEE)


def todo_for(request) -> ToDo:
    """The request's one ToDo: the home tiles and the navigation read the same counts (one query each)."""
    todo = getattr(request, "_gongyu_todo", None)
    if todo is None:
        user = getattr(request, "user", None)
        todo = ToDo(user if user is not None and user.is_authenticated else None)
        request._gongyu_todo = todo
    return todo


def todo(request):
    """Context processor: `todo`, lazy; no query until a template reads a count."""
    return {"todo": todo_for(request)}
