"""The class roster: who may open it, which phone numbers they see, and that it costs the same queries for
2 students as for 20."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from people.models import Guardian, Guardianship, Relation, Student
from tests.world import identity_reads, make_user


def roster(client, user, unit, **params):
    client.force_login(user)
    return client.get(reverse("org:class_roster", args=[unit.pk]), params)


def add_students(world, n, *, start=0):
    """n students in class A1, each with a mother (every other one activated) and a grandfather."""
    for i in range(start, start + n):
        s = Student.objects.create(
            district=world.district, school=world.school_a, school_class=world.class_a1, name=f"新生{i:02d}", student_no=f"N{i:05d}"
        )
        mother = Guardian.objects.create(district=world.district, name=f"母亲{i:02d}", phone=f"1370000{i:04d}")
        grandpa = Guardian.objects.create(district=world.district, name=f"祖父{i:02d}", phone=f"1360000{i:04d}")
        if i % 2 == 0:
            mother.user = make_user(f"母亲{i:02d}")
            mother.save()
        Guardianship.objects.create(guardian=mother, student=s, relation=Relation.MOTHER, is_primary=True)
        Guardianship.objects.create(guardian=grandpa, student=s, relation=Relation.PATERNAL_GRANDFATHER)


def test_class_teacher_sees_students_guardians_and_full_phones(client, world):
    r = roster(client, world.teacher_a1, world.class_a1)
    body = r.content.decode()
    assert r.status_code == 200
    assert "学生a1" in body and world.child_a1.student_no_masked in body
    for name in ["parent_a1", "grandparent_a1", "未激活家长"]:
        assert name in body
    assert "13912345678" in body and world.parent_a1.phone in body
    assert "母亲" in body and "外祖母" in body and "父亲" in body
    assert "已激活" in body and "未激活" in body
    # Other classes' students never appear.
    assert "学生a2" not in body


def test_school_admin_sees_masked_phones_and_is_told_where_to_ask(client, world):
    body = roster(client, world.school_admin_a, world.class_a1).content.decode()
    assert "139****5678" in body and "13912345678" not in body and "显示号码" in body


@pytest.mark.parametrize("who", ["subject_teacher_a1", "psych_a", "health_vp_a", "district_admin"])
def test_other_staff_see_masked_phones(client, world, who):
    body = roster(client, world.users[who], world.class_a1).content.decode()
    assert "139****5678" in body
    assert "13912345678" not in body
    assert world.parent_a1.phone not in body


@pytest.mark.parametrize(
    "who,unit",
    [
        ("teacher_a1", "class_a2"),
        ("subject_teacher_a1", "class_a2"),
        ("school_admin_b", "class_a1"),
        ("psych_a", "class_b1"),
        ("other_district_admin", "class_a1"),
        ("parent_a1", "class_a1"),  # guardians see their child, not the class list
        ("liaison", "class_a1"),
        ("street_staff_1", "class_a1"),
        ("grid_worker_1", "class_a2"),  # a carer of one child does not get the class
        ("outsider", "class_a1"),
    ],
)
def test_roster_outside_scope_is_404(client, world, who, unit):
    assert roster(client, world.users[who], world.units[unit]).status_code == 404


def test_roster_of_a_unit_that_is_not_a_class_is_404(client, world):
    assert roster(client, world.school_admin_a, world.grade_a3).status_code == 404


def test_roster_counts_and_activation(client, world):
    body = roster(client, world.teacher_a1, world.class_a1).content.decode()
    # 3 guardians, 2 with accounts: 67 %; the one family has an activated guardian: 100 %.
    assert "67%" in body and "100%" in body


def test_roster_paginates_and_searches(client, world):
    add_students(world, 55)
    body = roster(client, world.teacher_a1, world.class_a1).content.decode()
    assert body.count("data-student=") == 50 and "第 1 / 2 页" in body
    assert "学生a1" in body and "新生00" in body  # ordered by 学籍号: G… before N…
    body = roster(client, world.teacher_a1, world.class_a1, page=2).content.decode()
    assert body.count("data-student=") == 6
    assert "新生54" in body and "新生00" not in body
    body = roster(client, world.teacher_a1, world.class_a1, q="新生07").content.decode()
    assert "新生07" in body and "新生08" not in body
    body = roster(client, world.teacher_a1, world.class_a1, q="查无此人").content.decode()
    assert "没有找到符合条件的学生" in body


def test_empty_class_shows_empty_state(client, world):
    body = roster(client, world.school_admin_b, world.class_b1, q="nobody").content.decode()
    assert "没有找到符合条件的学生" in body
    Student.objects.filter(school_class=world.class_b1).update(is_active=False)
    body = roster(client, world.school_admin_b, world.class_b1).content.decode()
    assert "该班级还没有学生" in body


def test_roster_query_count_does_not_grow_with_students(client, world, django_assert_max_num_queries):
    add_students(world, 1)  # 2 students in the class
    roster(client, world.teacher_a1, world.class_a1)  # warm the session
    with CaptureQueriesContext(connection) as two:
        body = roster(client, world.teacher_a1, world.class_a1).content.decode()
    assert body.count("data-student=") == 2
    add_students(world, 18, start=1)  # 20 students
    with django_assert_max_num_queries(len(two.captured_queries)):
        body = roster(client, world.teacher_a1, world.class_a1).content.decode()
    assert body.count("data-student=") == 20


@pytest.mark.parametrize("who", ["teacher_a1", "subject_teacher_a1", "psych_a", "health_vp_a", "district_admin", "school_admin_a"])
def test_roster_shows_the_student_no_masked_to_every_role(client, world, who):
    body = roster(client, world.users[who], world.class_a1).content.decode()
    assert "G…0011" in body
    assert world.child_a1.id_number not in body  # the 学籍号 is "G" + the ID number
    assert not identity_reads().exists()


def test_roster_finds_a_student_by_the_full_student_no_only(client, world):
    add_students(world, 3)
    body = roster(client, world.teacher_a1, world.class_a1, q=world.child_a1.student_no).content.decode()
    assert "学生a1" in body and "新生00" not in body
    body = roster(client, world.teacher_a1, world.class_a1, q=world.child_a1.student_no.lower()).content.decode()
    assert "学生a1" in body
    # Part of the number finds nothing: the stored value is ciphertext, and a partial match would let
    # the search box be used to guess the ID number digit by digit.
    body = roster(client, world.teacher_a1, world.class_a1, q=world.child_a1.student_no[:12]).content.decode()
    assert "学生a1" not in body
