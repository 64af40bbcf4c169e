"""The staff workspace: roles with their scope, what the flags allow, headline counts, empty state."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from people.models import Guardian, Guardianship, Relation, Student


def home(client, user):
    client.force_login(user)
    return client.get(reverse("home"))


def test_district_admin_workspace(client, world):
    body = home(client, world.district_admin).content.decode()
    assert "区教育局管理员" in body and "测试区" in body
    assert reverse("org:tree") in body and "查看和管理" in body
    # 3 students, 3 classes, 2 schools in the district; 4 of 5 guardians activated (80 %).
    assert 'data-testid="count-students">3<' in body
    assert 'data-testid="count-activated">80%<' in body
    assert 'data-testid="card-classes"' not in body
    assert "邻区" not in body


def test_class_teacher_workspace(client, world):
    body = home(client, world.teacher_a1).content.decode()
    assert "班主任" in body and "三(1)班" in body and "东城实验小学" in body
    assert 'data-testid="card-classes"' in body and reverse("people:my_classes") in body
    assert 'data-testid="count-students">1<' in body
    assert "查看和管理" not in body


def test_structure_only_role_gets_no_people_counts(client, world):
    body = home(client, world.liaison).content.decode()
    assert "部门联络员" in body and "区民政局" in body
    assert 'data-testid="count-students"' not in body


def test_carer_role_names_the_child(client, world):
    body = home(client, world.grid_worker_1).content.decode()
    assert "社区/网格员" in body and "东社区" in body and "关爱对象：学生a2" in body


def test_account_without_role_gets_the_empty_state(client, world):
    body = home(client, world.outsider).content.decode()
    assert "您的账号还没有分配角色，请联系学校或区教育局管理员" in body
    assert 'data-testid="counts"' not in body


def test_staff_member_who_is_also_a_guardian_gets_both(client, world):
    g = Guardian.objects.create(district=world.district, user=world.teacher_b1, name="teacher_b1", phone=world.teacher_b1.phone)
    Guardianship.objects.create(guardian=g, student=world.child_a2, relation=Relation.FATHER)
    r = home(client, world.teacher_b1)
    assert r.status_code == 200
    body = r.content.decode()
    assert 'data-testid="card-family"' in body and 'data-testid="card-classes"' in body


def test_home_needs_log_in(client, world):
    r = client.get(reverse("home"))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


@pytest.mark.parametrize("who", ["district_admin", "school_admin_a", "teacher_a1"])
def test_home_query_count_does_not_grow_with_data(client, world, who, django_assert_max_num_queries):
    user = world.users[who]
    home(client, user)
    cache.clear()  # both measurements compute the counts (they are cached for a minute)
    with CaptureQueriesContext(connection) as before:
        home(client, user)
    for i in range(30):
        Student.objects.create(
            district=world.district, school=world.school_a, school_class=world.class_a1, name=f"新生{i}", student_no=f"H{i:04d}"
        )
    cache.clear()
    with django_assert_max_num_queries(len(before.captured_queries)):
        home(client, user)


def _installed(name):
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def test_module_cards_follow_the_roles(client, world):
    admin = home(client, world.school_admin_a).content.decode()
    client.logout()
    teacher = home(client, world.teacher_a1).content.decode()
    client.logout()
    liaison = home(client, world.liaison).content.decode()
    if _installed("roster:home"):
        assert 'data-testid="card-roster"' in admin and 'data-testid="card-roster"' not in teacher
    if _installed("notices:index"):
        assert 'data-testid="card-notices"' in teacher
    if _installed("homeschool:consultations"):
        # Home-school communication is about families: not for a structure-only role.
        assert 'data-testid="card-homeschool"' in teacher and 'data-testid="card-homeschool"' not in liaison
