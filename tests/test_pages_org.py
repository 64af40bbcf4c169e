"""Pages of the organisation tree: who sees which units, who may change them, and that refused writes change nothing."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from org.models import Kind, OrgUnit
from org.services import unit_create


def login(client, user):
    client.force_login(user)
    return client


def url(name, unit):
    return reverse(name, args=[unit.pk])


# --- tree and lazy children ---------------------------------------------------------------------------


def test_district_admin_tree_shows_district_streets_departments_and_partners(client, world):
    body = login(client, world.district_admin).get(reverse("org:tree")).content.decode()
    for name in ["测试区", "东街道", "西街道", "区民政局", "区妇联", "区博物馆", "区图书馆"]:
        assert name in body
    # Deeper levels are not rendered up front: they come through HTMX when a node opens.
    assert "东城实验小学" not in body
    assert url("org:unit_children", world.street_1) in body
    assert "邻区" not in body


def test_children_partial_lists_schools_with_stage_badge(client, world):
    r = login(client, world.district_admin).get(url("org:unit_children", world.street_1), HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200
    assert "东城实验小学" in body and "小学" in body and "东社区" in body
    assert "西城第二中学" not in body
    # The school can be expanded in turn.
    assert url("org:unit_children", world.school_a) in body


def test_school_admin_tree_is_their_school(client, world):
    body = login(client, world.school_admin_a).get(reverse("org:tree")).content.decode()
    assert "东城实验小学" in body and "三年级" in body
    assert "西城第二中学" not in body and "西街道" not in body and "区民政局" not in body


def test_class_teacher_tree_is_their_class(client, world):
    body = login(client, world.teacher_a1).get(reverse("org:tree")).content.decode()
    assert "三(1)班" in body
    assert "三(2)班" not in body


def test_tree_search_finds_only_units_in_scope(client, world):
    body = login(client, world.school_admin_a).get(reverse("org:tree"), {"q": "班"}).content.decode()
    assert "三(1)班" in body and "三(2)班" in body
    assert "七(1)班" not in body and "一(1)班" not in body


def test_tree_hides_inactive_units_from_non_managers(client, world):
    OrgUnit.objects.filter(pk=world.class_a1.pk).update(is_active=False)
    assert "三(1)班" not in login(client, world.psych_a).get(url("org:unit_children", world.grade_a3)).content.decode()
    client.logout()
    body = login(client, world.school_admin_a).get(url("org:unit_children", world.grade_a3)).content.decode()
    assert "三(1)班" in body and "已停用" in body


@pytest.mark.parametrize(
    "who,unit",
    [
        ("school_admin_a", "street_2"),
        ("school_admin_a", "school_b"),
        ("teacher_a1", "class_a2"),
        ("teacher_a1", "grade_b7"),
        ("other_district_admin", "district"),
        ("parent_a1", "class_a2"),
        ("outsider", "school_a"),
    ],
)
@pytest.mark.parametrize("page", ["org:unit_detail", "org:unit_children"])
def test_units_outside_scope_answer_404(client, world, who, unit, page):
    r = login(client, world.users[who]).get(url(page, world.units[unit]))
    assert r.status_code == 404


def test_anonymous_is_sent_to_log_in(client, world):
    r = client.get(url("org:unit_detail", world.school_a))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


# --- unit detail ----------------------------------------------------------------------------------------


def test_unit_detail_shows_breadcrumb_children_and_management_actions(client, world):
    body = login(client, world.district_admin).get(url("org:unit_detail", world.school_a)).content.decode()
    for text in ["测试区", "东街道", "东城实验小学", "三年级", "小学", "编辑", "停用", "添加年级"]:
        assert text in body
    assert url("org:unit_add", world.school_a) + "?kind=grade" in body


def test_district_admin_may_add_every_allowed_kind_under_the_district(client, world):
    body = login(client, world.district_admin).get(url("org:unit_detail", world.district)).content.decode()
    for kind in ["street", "school", "department", "partner"]:
        assert f'data-testid="add-{kind}"' in body
    assert 'data-testid="add-class"' not in body
    assert 'data-testid="toggle"' not in body  # a district cannot be switched off


def test_teacher_sees_class_without_management_actions(client, world):
    body = login(client, world.subject_teacher_a1).get(url("org:unit_detail", world.class_a1)).content.decode()
    assert "三(1)班" in body and "花名册" in body
    assert 'data-testid="edit"' not in body and 'data-testid="toggle"' not in body
    # The invitation code is for the class teacher and school admin only.
    assert world.class_a1.invite_code not in body


def test_class_teacher_sees_invite_code_and_class_teacher_name(client, world):
    body = login(client, world.teacher_a1).get(url("org:unit_detail", world.class_a1)).content.decode()
    assert world.class_a1.invite_code in body
    assert "teacher_a1" in body
    assert 'data-testid="edit"' not in body


def test_department_liaison_sees_structure_but_no_student_counts(client, world):
    body = login(client, world.liaison).get(url("org:unit_detail", world.school_a)).content.decode()
    assert "东城实验小学" in body
    assert "在读学生" not in body and "名学生" not in body


# --- adding units -----------------------------------------------------------------------------------------


def test_district_admin_adds_a_school_under_a_street(client, world):
    r = login(client, world.district_admin).post(
        url("org:unit_add", world.street_1), {"kind": "school", "name": " 东城第三小学 ", "code": "sc3", "stage": "primary"}
    )
    school = OrgUnit.objects.get(name="东城第三小学")
    assert r.status_code == 302 and r["Location"] == url("org:unit_detail", school)
    assert school.parent_id == world.street_1.pk and school.kind == Kind.SCHOOL and school.stage == "primary"
    assert school.code == "SC3" and school.path.startswith(world.street_1.path)


def test_school_admin_adds_grade_and_class_inside_their_school(client, world):
    login(client, world.school_admin_a)
    client.post(url("org:unit_add", world.school_a), {"kind": "grade", "name": "四年级", "grade_year": "4"})
    grade = OrgUnit.objects.get(name="四年级", parent=world.school_a)
    assert grade.grade_year == 4
    client.post(url("org:unit_add", grade), {"name": "四(1)班", "class_no": "1", "entry_year": "2023"})
    school_class = OrgUnit.objects.get(name="四(1)班")
    assert school_class.kind == Kind.CLASS and school_class.parent_id == grade.pk and school_class.invite_code


def test_school_admin_cannot_add_a_school_under_the_street(client, world):
    before = OrgUnit.objects.count()
    login(client, world.school_admin_a)
    assert client.get(url("org:unit_add", world.street_1)).status_code == 404
    r = client.post(url("org:unit_add", world.street_1), {"kind": "school", "name": "冒名学校", "stage": "primary"})
    assert r.status_code == 404
    assert OrgUnit.objects.count() == before


@pytest.mark.parametrize("who", ["teacher_a1", "subject_teacher_a1", "psych_a", "street_staff_1", "liaison", "parent_a1"])
def test_roles_without_org_manage_cannot_add(client, world, who):
    before = OrgUnit.objects.count()
    r = login(client, world.users[who]).post(url("org:unit_add", world.school_a), {"kind": "grade", "name": "偷加年级"})
    assert r.status_code == 404
    assert OrgUnit.objects.count() == before


def test_add_refuses_kind_not_allowed_under_parent(client, world):
    before = OrgUnit.objects.count()
    r = login(client, world.district_admin).post(url("org:unit_add", world.street_1), {"kind": "class", "name": "街道里的班"})
    assert r.status_code == 200
    assert "请选择要添加的单位类型" in r.content.decode()
    assert OrgUnit.objects.count() == before


def test_add_shows_chinese_errors_and_changes_nothing(client, world):
    before = OrgUnit.objects.count()
    login(client, world.district_admin)
    r = client.post(url("org:unit_add", world.street_1), {"kind": "school", "name": "  ", "stage": ""})
    body = r.content.decode()
    assert r.status_code == 200 and "请填写名称" in body and "请选择学校的学段" in body
    r = client.post(url("org:unit_add", world.district), {"kind": "department", "name": "区卫健委", "code": "mz"})
    assert "编码“MZ”在本区已被使用" in r.content.decode()
    r = client.post(url("org:unit_add", world.school_a), {"kind": "grade", "name": "怪年级", "grade_year": "40"})
    assert "年级序号应在-2到12之间" in r.content.decode()
    assert OrgUnit.objects.count() == before


def test_add_under_inactive_unit_is_refused(client, world):
    OrgUnit.objects.filter(path__startswith=world.grade_a3.path).update(is_active=False)
    before = OrgUnit.objects.count()
    r = login(client, world.school_admin_a).post(url("org:unit_add", world.grade_a3), {"name": "三(9)班"}, follow=True)
    assert "该单位已停用" in r.content.decode()
    assert OrgUnit.objects.count() == before


# --- editing ----------------------------------------------------------------------------------------------


def test_school_admin_edits_a_class(client, world):
    r = login(client, world.school_admin_a).post(url("org:unit_edit", world.class_a1), {"name": "三(1)班（实验班）", "class_no": "1", "entry_year": "2023"})
    assert r.status_code == 302
    world.class_a1.refresh_from_db()
    assert world.class_a1.name == "三(1)班（实验班）" and world.class_a1.entry_year == 2023


def test_edit_form_is_prefilled(client, world):
    body = login(client, world.district_admin).get(url("org:unit_edit", world.school_b)).content.decode()
    assert 'value="西城第二中学"' in body and 'value="SB"' in body


def test_edit_with_empty_name_changes_nothing(client, world):
    r = login(client, world.school_admin_a).post(url("org:unit_edit", world.school_a), {"name": "", "stage": "primary"})
    assert "请填写名称" in r.content.decode()
    world.school_a.refresh_from_db()
    assert world.school_a.name == "东城实验小学"


@pytest.mark.parametrize("who,unit", [("school_admin_a", "school_b"), ("teacher_a1", "class_a1"), ("school_admin_a", "street_1")])
def test_edit_refused_outside_org_manage(client, world, who, unit):
    target = world.units[unit]
    r = login(client, world.users[who]).post(url("org:unit_edit", target), {"name": "改名", "stage": "primary"})
    assert r.status_code == 404
    target.refresh_from_db()
    assert target.name != "改名"


# --- deactivate / reactivate --------------------------------------------------------------------------------


def test_school_admin_deactivates_and_reactivates_a_grade_with_its_classes(client, world):
    login(client, world.school_admin_a)
    detail = client.get(url("org:unit_detail", world.grade_a3)).content.decode()
    assert "共 3 个单位将一起停用" in detail  # the grade and its two classes
    r = client.post(url("org:unit_toggle", world.grade_a3), {"active": "0"})
    assert r.status_code == 302
    assert not OrgUnit.objects.filter(path__startswith=world.grade_a3.path, is_active=True).exists()
    client.post(url("org:unit_toggle", world.grade_a3), {"active": "1"})
    assert not OrgUnit.objects.filter(path__startswith=world.grade_a3.path, is_active=False).exists()


def test_toggle_is_post_only_but_404_first_outside_scope(client, world):
    login(client, world.school_admin_a)
    assert client.get(url("org:unit_toggle", world.class_a1)).status_code == 405
    assert client.get(url("org:unit_toggle", world.class_b1)).status_code == 404


def test_district_cannot_be_deactivated(client, world):
    r = login(client, world.district_admin).post(url("org:unit_toggle", world.district), {"active": "0"}, follow=True)
    assert "区县不能停用" in r.content.decode()
    world.district.refresh_from_db()
    assert world.district.is_active


def test_reactivating_under_an_inactive_parent_is_refused(client, world):
    OrgUnit.objects.filter(path__startswith=world.grade_a3.path).update(is_active=False)
    r = login(client, world.school_admin_a).post(url("org:unit_toggle", world.class_a1), {"active": "1"}, follow=True)
    assert "请先启用上级单位" in r.content.decode()
    world.class_a1.refresh_from_db()
    assert not world.class_a1.is_active


@pytest.mark.parametrize("who,unit", [("teacher_a1", "class_a1"), ("school_admin_b", "school_a"), ("street_staff_1", "school_a")])
def test_toggle_refused_without_org_manage(client, world, who, unit):
    target = world.units[unit]
    r = login(client, world.users[who]).post(url("org:unit_toggle", target), {"active": "0"})
    assert r.status_code == 404
    target.refresh_from_db()
    assert target.is_active


def test_toggle_without_a_clear_value_changes_nothing(client, world):
    r = login(client, world.school_admin_a).post(url("org:unit_toggle", world.class_a1), {}, follow=True)
    assert "请求无效" in r.content.decode()
    world.class_a1.refresh_from_db()
    assert world.class_a1.is_active


# --- invitation code ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["teacher_a1", "school_admin_a"])
def test_invite_code_reset(client, world, who):
    old = world.class_a1.invite_code
    r = login(client, world.users[who]).post(url("org:class_invite_reset", world.class_a1), {"next": "roster"}, follow=True)
    world.class_a1.refresh_from_db()
    assert world.class_a1.invite_code and world.class_a1.invite_code != old
    assert world.class_a1.invite_code in r.content.decode()
    assert r.redirect_chain[-1][0] == url("org:class_roster", world.class_a1)


@pytest.mark.parametrize("who", ["subject_teacher_a1", "teacher_a2", "psych_a", "school_admin_b", "parent_a1"])
def test_invite_code_reset_refused(client, world, who):
    old = world.class_a1.invite_code
    r = login(client, world.users[who]).post(url("org:class_invite_reset", world.class_a1))
    assert r.status_code == 404
    world.class_a1.refresh_from_db()
    assert world.class_a1.invite_code == old


# --- query counts ---------------------------------------------------------------------------------------------


def test_tree_and_detail_query_counts_do_not_grow_with_the_tree(client, world, django_assert_max_num_queries):


    login(client, world.district_admin)
    client.get(reverse("org:tree"))  # warm the session
    cache.clear()  # both measurements start without cached counts
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("org:tree"))
        client.get(url("org:unit_children", world.grade_a3))
        client.get(url("org:unit_detail", world.grade_a3))
    for n in range(3, 30):
        unit_create(actor=None, kind=Kind.CLASS, name=f"三({n})班", parent=world.grade_a3, class_no=n)
    for n in range(3):
        unit_create(actor=None, kind=Kind.STREET, name=f"新街道{n}", parent=world.district)
    cache.clear()
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("org:tree"))
        client.get(url("org:unit_children", world.grade_a3))
        client.get(url("org:unit_detail", world.grade_a3))


def test_404_page_is_chinese_and_reveals_nothing(client, world):
    r = login(client, world.teacher_a1).get(url("org:class_roster", world.class_a2))
    body = r.content.decode()
    assert r.status_code == 404
    assert "页面不存在，或您没有查看权限" in body
    assert "三(2)班" not in body and "学生a2" not in body
