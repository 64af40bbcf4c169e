"""StudentQuerySet.under: the subtree filter activities, courses and the roster export share."""

from people.models import Student


def _ids(qs):
    return set(qs.values_list("id", flat=True))


def test_under_a_school_keeps_its_classes_and_leaves_the_neighbour_school_out(world):
    under_a = _ids(Student.objects.under(world.school_a))
    assert world.child_a1.pk in under_a and world.child_a2.pk in under_a
    assert world.child_b1.pk not in under_a
    assert _ids(Student.objects.under(world.class_a1)) == {world.child_a1.pk}
    # Several units are a union; a path string works as a unit does.
    assert _ids(Student.objects.under(world.class_a1, world.class_b1.path)) == {world.child_a1.pk, world.child_b1.pk}


def test_under_nothing_is_nobody_and_under_never_widens_what_a_user_sees(world):
    assert not Student.objects.under().exists()
    # The class teacher of A1 sees A1 only: asking for school B under their scope gives nothing.
    assert not Student.objects.visible_to(world.teacher_a1).under(world.school_b).exists()
    assert _ids(Student.objects.visible_to(world.teacher_a1).under(world.school_a)) == {world.child_a1.pk}
