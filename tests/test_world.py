import datetime as dt

from django.utils import timezone

from accounts.models import RoleAssignment
from core.scoping import compute_scope, get_scope
from org.models import OrgUnit
from people.models import Guardian, Guardianship, Household, Student


def test_class_teacher_sees_only_own_class(world):
    visible = set(Student.objects.visible_to(world.teacher_a1).values_list("id", flat=True))
    assert visible == {world.child_a1.id}


def test_guardian_with_children_in_two_schools_sees_both(world):
    visible = set(Student.objects.visible_to(world.parent_two_schools).values_list("id", flat=True))
    assert visible == {world.child_a2.id, world.child_b1.id}
    assert get_scope(world.parent_two_schools).guardian_id == world.guardians["parent_two_schools"].id


def test_guardian_sees_co_guardian_but_not_other_families(world):
    visible = set(Guardian.objects.visible_to(world.parent_a1).values_list("name", flat=True))
    assert "grandparent_a1" in visible
    assert "parent_a2" not in visible


def test_guardianships_and_households_are_scoped(world):
    links = Guardianship.objects.visible_to(world.teacher_a1)
    assert {link.student_id for link in links} == {world.child_a1.id}
    assert Guardianship.objects.visible_to(world.outsider).count() == 0
    assert Household.objects.visible_to(world.parent_a1).count() == 1
    assert Household.objects.visible_to(world.parent_a2).count() == 0


def test_scope_leaves_out_ended_inactive_and_deactivated_links(world):
    """The scope statement's every condition, each broken from a neighbouring state."""



    teacher = world.teacher_a1
    before = compute_scope(teacher)
    assert before.roles == (("class_teacher", world.class_a1.id, None),) and world.child_a1.id in {
        s.id for s in Student.objects.visible_to(teacher)
    }
    assignment = RoleAssignment.objects.get(user=teacher, role="class_teacher")
    # Ended a minute ago: gone. Ending tomorrow: still there.
    RoleAssignment.objects.filter(pk=assignment.pk).update(ends_at=timezone.now() - dt.timedelta(minutes=1))
    assert compute_scope(teacher).roles == () and compute_scope(teacher).is_empty
    RoleAssignment.objects.filter(pk=assignment.pk).update(ends_at=timezone.now() + dt.timedelta(days=1))
    assert compute_scope(teacher) == before
    # The assignment switched off, or its unit closed: gone.
    RoleAssignment.objects.filter(pk=assignment.pk).update(is_active=False)
    assert compute_scope(teacher).is_empty
    RoleAssignment.objects.filter(pk=assignment.pk).update(is_active=True)
    OrgUnit.objects.filter(pk=world.class_a1.pk).update(is_active=False)
    assert compute_scope(teacher).is_empty
    OrgUnit.objects.filter(pk=world.class_a1.pk).update(is_active=True)
    # A guardian: a child who left school, then the guardian record switched off.
    two = world.parent_two_schools
    assert compute_scope(two).student_ids == {world.child_a2.id, world.child_b1.id}
    Student.objects.filter(pk=world.child_b1.pk).update(is_active=False)
    scope = compute_scope(two)
    assert scope.student_ids == {world.child_a2.id} and world.class_b1.id not in scope.unit_ids
    Guardian.objects.filter(pk=world.guardians["parent_two_schools"].pk).update(is_active=False)
    scope = compute_scope(two)
    assert not scope.student_ids and not scope.unit_ids and not scope.roles
