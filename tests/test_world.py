from core.scoping import get_scope
from people.models import Guardian, Student


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
    from people.models import Guardianship, Household

    links = Guardianship.objects.visible_to(world.teacher_a1)
    assert {link.student_id for link in links} == {world.child_a1.id}
    assert Guardianship.objects.visible_to(world.outsider).count() == 0
    assert Household.objects.visible_to(world.parent_a1).count() == 1
    assert Household.objects.visible_to(world.parent_a2).count() == 0
