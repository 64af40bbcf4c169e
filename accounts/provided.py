"""What accounts provides to lower apps (Module.provides: they name the slot and import no accounts)."""

from accounts.models import RoleAssignment
from accounts.roles import Role


def class_teacher_rows(class_ids: list[int]):
    """(class id, name) of the current, active class teachers of these classes, in assignment order.
    org.selectors.class_teacher_names is the one caller: it passes only classes from a scoped query."""
    return (
        RoleAssignment.objects.system(reason="class teachers' names of classes from a scoped query").current()
        .filter(role=Role.CLASS_TEACHER, unit_id__in=class_ids, user__is_active=True)
        .order_by("unit_id", "id")
        .values_list("unit_id", "user__name")
    )


def own_role_titles(user, unit_ids: list[int], roles):
    """(unit id, title) of the user's own current assignments of these roles in these units, titled ones only."""
    return (
        RoleAssignment.objects.visible_to(user).current().filter(user=user, unit_id__in=unit_ids, role__in=roles)
        .exclude(title="").values_list("unit_id", "title")
    )
