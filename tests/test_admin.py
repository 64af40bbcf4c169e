"""The operators' admin at /ops/admin/: platform operators only, read through the scoping layer,
phone and ID numbers write-only, writes through the same services as the pages."""

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import RoleAssignment, User
from accounts.roles import Role
from audit.models import AccessEvent, AuditEvent
from core.crypto import digest
from org.models import Kind, OrgUnit
from people.models import Consent, ConsentPurpose, Guardian, Guardianship, Student
from people.services import consent_give
from periods.models import Period
from periods.services import school_year_ensure
from tests.world import make_user

INDEX = "/ops/admin/"
REGISTERED = [OrgUnit, Student, Guardian, Guardianship, RoleAssignment, User, Consent, Period, AuditEvent, AccessEvent]


@pytest.fixture
def operator(world):
    return make_user("运维", is_staff=True, is_superuser=True)


@pytest.fixture
def ops(client, operator):
    client.force_login(operator)
    return client


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_anonymous_is_sent_to_the_one_log_in_page(client, world):
    response = client.get(INDEX)
    assert response.status_code == 302 and response["Location"].startswith("/ops/admin/login/")
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next=/ops/admin/"


@pytest.mark.parametrize("who", ["teacher_a1", "district_admin", "parent_a1", "staff_only", "superuser_only"])
def test_only_platform_operators_get_in(client, world, who):
    if who == "staff_only":
        user = make_user("staff", is_staff=True)
    elif who == "superuser_only":
        user = make_user("su", is_superuser=True)
    else:
        user = getattr(world, who)
    client.force_login(user)
    for url in (INDEX, _url(Student, "changelist"), _url(AuditEvent, "changelist")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/ops/admin/login/")
    assert client.get(reverse("admin:login")).status_code == 403


def test_every_model_the_brief_names_is_registered():
    assert set(REGISTERED) <= set(admin.site._registry)


def test_operator_opens_every_changelist_add_and_change_page(ops, world):
    school_year_ensure(district=world.district, start_year=2025)
    assert ops.get(INDEX).status_code == 200
    for model in admin.site._registry:
        assert ops.get(_url(model, "changelist")).status_code == 200, model
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            assert ops.get(_url(model, "change", obj.pk)).status_code == 200, model
    for model in (OrgUnit, Student, Guardian, Guardianship, RoleAssignment, User, Period):
        assert ops.get(_url(model, "add")).status_code == 200, model


def test_second_factor_is_asked_before_the_admin(ops, settings):
    settings.GONGYU_ADMIN_2FA = True
    response = ops.get(INDEX)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:two_factor"))


def test_admin_reads_through_the_scoping_layer(world):
    """If a non-operator ever reached an admin queryset, they would see their scope and no more."""
    request = RequestFactory().get("/")
    request.user = world.teacher_a1
    site = admin.site
    assert list(site._registry[Student].get_queryset(request)) == [world.child_a1]
    links = site._registry[Guardianship].get_queryset(request)
    assert {g.student_id for g in links} == {world.child_a1.pk}
    assert set(site._registry[OrgUnit].get_queryset(request)) == set(OrgUnit.objects.visible_to(world.teacher_a1))
    request.user = world.outsider
    assert not site._registry[Guardian].get_queryset(request).exists()
    assert not site._registry[Period].get_queryset(request).exists()


def test_lists_and_forms_never_show_phone_or_id_numbers(ops, world):
    guardian = world.guardians["unactivated_a1"]
    pages = [
        ops.get(_url(Guardian, "changelist")),
        ops.get(_url(Guardian, "change", guardian.pk)),
        ops.get(_url(Student, "changelist")),
        ops.get(_url(Student, "change", world.child_a1.pk)),
    ]
    for page in pages:
        html = page.content.decode()
        assert "13912345678" not in html and "110101201501010011" not in html
    assert "139****5678" in pages[0].content.decode()
    assert "139****5678" in pages[1].content.decode()
    assert "110***********0011" in pages[3].content.decode()


def test_search_by_phone_or_id_number_uses_the_digest(ops, world):
    page = ops.get(_url(Guardian, "changelist"), {"q": "13912345678"})
    assert page.context["cl"].result_count == 1
    assert list(page.context["cl"].result_list) == [world.guardians["unactivated_a1"]]
    page = ops.get(_url(Student, "changelist"), {"q": "110101201501010011"})
    assert list(page.context["cl"].result_list) == [world.child_a1]
    # The 学籍号 is encrypted too: found by its digest when typed in full, not by a fragment.
    page = ops.get(_url(Student, "changelist"), {"q": world.child_a2.student_no})
    assert list(page.context["cl"].result_list) == [world.child_a2]
    assert "G…0022" in page.content.decode()
    page = ops.get(_url(Student, "changelist"), {"q": world.child_a2.student_no[:10]})
    assert list(page.context["cl"].result_list) == []


def _guardian_form(guardian, **overrides):
    data = {
        "district": guardian.district_id, "name": guardian.name, "phone": "", "id_number": "",
        "user": guardian.user_id or "", "household": guardian.household_id or "", "is_active": "on",
    }
    return {**data, **overrides}


def test_blank_sensitive_field_keeps_the_stored_value(ops, world):
    guardian = world.guardians["unactivated_a1"]
    response = ops.post(_url(Guardian, "change", guardian.pk), _guardian_form(guardian, name="改名"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    guardian.refresh_from_db()
    assert (guardian.name, guardian.phone) == ("改名", "13912345678")

    response = ops.post(_url(Guardian, "change", guardian.pk), _guardian_form(guardian, phone="13700002222"))
    assert response.status_code == 302
    guardian.refresh_from_db()
    assert guardian.phone == "13700002222" and guardian.phone_digest == digest("13700002222")
    row = AuditEvent.objects.filter(model="people.guardian", object_id=str(guardian.pk)).order_by("-id").first()
    assert row.changes == {"phone": ["***", "***"]} and row.actor_label.startswith("user:")


def test_a_phone_used_in_the_district_is_refused(ops, world):
    guardian = world.guardians["unactivated_a1"]
    taken = world.guardians["parent_a1"].phone
    response = ops.post(_url(Guardian, "change", guardian.pk), _guardian_form(guardian, phone=taken))
    assert response.status_code == 200
    assert "本区已有使用该手机号的监护人" in response.content.decode()
    guardian.refresh_from_db()
    assert guardian.phone == "13912345678"


def test_add_user_with_a_password(ops, world):
    before = User.objects.count()
    response = ops.post(
        _url(User, "add"), {"phone": "13655556666", "name": "新老师", "password1": "Gongyu-admin-2026!", "password2": "Gongyu-admin-2026!"}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.count() == before + 1
    user = User.objects.get(phone="13655556666")
    assert user.check_password("Gongyu-admin-2026!") and user.name == "新老师"
    assert not user.is_staff and not user.is_superuser
    row = AuditEvent.objects.filter(model="accounts.user", object_id=str(user.pk), action="create").get()
    assert row.changes["phone"] == "***"


def test_add_user_refuses_a_weak_password(ops, world):
    response = ops.post(_url(User, "add"), {"phone": "13655556667", "name": "x", "password1": "12345678", "password2": "12345678"})
    assert response.status_code == 200
    assert not User.objects.filter(phone="13655556667").exists()


def test_add_user_refuses_a_password_made_of_the_phone(ops, world):
    own = "gy13655556667"
    response = ops.post(_url(User, "add"), {"phone": "13655556667", "name": "x", "password1": own, "password2": own})
    assert response.status_code == 200
    assert "太相似" in response.content.decode()
    assert not User.objects.filter(phone="13655556667").exists()


def test_disabling_a_user_in_the_admin_ends_their_sessions(ops, client, world):
    victim = world.teacher_a2
    other = Client()
    other.force_login(victim)
    assert other.get("/").status_code == 200
    data = {"phone": victim.phone, "name": victim.name, "language": "", "care_mode": "", "is_active": "", "is_staff": "", "is_superuser": ""}
    response = ops.post(_url(User, "change", victim.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    victim.refresh_from_db()
    assert not victim.is_active
    assert other.get("/").status_code == 302  # the old session cookie is worthless


def test_org_unit_added_in_the_admin_gets_its_path(ops, world):
    response = ops.post(_url(OrgUnit, "add"), {"kind": Kind.CLASS, "name": "三(3)班", "parent": world.grade_a3.pk, "class_no": 3, "sort_order": 0, "is_active": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    unit = OrgUnit.objects.get(name="三(3)班")
    assert unit.path == f"{world.grade_a3.path}{unit.pk}/"
    assert unit.district_id == world.district.pk and unit.depth == world.grade_a3.depth + 1
    assert unit.invite_code  # classes get an invitation code from the service


def test_org_unit_placement_is_checked(ops, world):
    response = ops.post(_url(OrgUnit, "add"), {"kind": Kind.CLASS, "name": "错班", "parent": world.district.pk, "sort_order": 0, "is_active": "on"})
    assert response.status_code == 200
    assert not OrgUnit.objects.filter(name="错班").exists()


def test_switching_a_school_off_in_the_admin_switches_its_subtree_off(ops, world):
    school = world.school_b
    data = {"name": school.name, "code": school.code, "stage": school.stage, "sort_order": 0, "address": "", "invite_code": "",
            "partner_category": "", "grade_year": "", "class_no": "", "entry_year": ""}
    response = ops.post(_url(OrgUnit, "change", school.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not OrgUnit.objects.filter(path__startswith=school.path, is_active=True).exists()
    assert OrgUnit.objects.get(pk=world.class_a1.pk).is_active


def test_units_and_consents_cannot_be_deleted_and_consents_not_typed_in(ops, world):
    assert ops.get(_url(OrgUnit, "delete", world.class_a1.pk)).status_code == 403
    assert ops.get(_url(Consent, "add")).status_code == 403


def test_role_rules_are_checked(ops, world):
    data = {"user": world.outsider.pk, "role": Role.CLASS_TEACHER, "unit": world.school_a.pk, "title": "", "is_active": "on",
            "starts_at_0": "2026-01-01", "starts_at_1": "08:00:00"}
    response = ops.post(_url(RoleAssignment, "add"), data)
    assert response.status_code == 200 and "该角色不能设在这类单位上" in response.content.decode()
    response = ops.post(_url(RoleAssignment, "add"), {**data, "unit": world.class_a2.pk})
    assert response.status_code == 302
    ra = RoleAssignment.objects.get(user=world.outsider)
    assert ra.district_id == world.district.pk


def test_audit_viewer_is_read_only(ops, world):
    row = AuditEvent.objects.order_by("id").first()
    assert ops.get(_url(AuditEvent, "changelist")).status_code == 200
    page = ops.get(_url(AuditEvent, "change", row.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert ops.get(_url(AuditEvent, "add")).status_code == 403
    assert ops.get(_url(AuditEvent, "delete", row.pk)).status_code == 403
    assert ops.post(_url(AuditEvent, "change", row.pk), {"object_id": "x"}).status_code == 403
    assert ops.get(_url(AccessEvent, "add")).status_code == 403
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get("/")
    request.user = User.objects.filter(is_superuser=True).first()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)
    assert model_admin.get_actions(request) == {}


def test_revoking_an_assignment_takes_effect_on_the_next_request(ops, world):
    carer = Client()
    carer.force_login(world.grid_worker_1)
    url = reverse("people:student_detail", args=[world.child_a2.pk])
    assert carer.get(url).status_code == 200
    assignment = RoleAssignment.objects.get(user=world.grid_worker_1, student=world.child_a2)
    data = {"user": assignment.user_id, "role": assignment.role, "unit": assignment.unit_id, "student": assignment.student_id,
            "title": "", "starts_at_0": "2026-01-01", "starts_at_1": "08:00:00"}  # is_active unticked
    response = ops.post(_url(RoleAssignment, "change", assignment.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert carer.get(url).status_code == 404  # same session, next request
    row = AuditEvent.objects.filter(model="accounts.roleassignment", object_id=str(assignment.pk)).order_by("-id").first()
    assert row.changes["is_active"] == [True, False]


def test_consents_are_withdrawn_through_the_service(ops, world):
    mum = world.guardians["parent_a1"]
    photo = consent_give(guardian=mum, purpose=ConsentPurpose.PHOTO_PUBLICITY, rules_version="2026.1")
    platform = consent_give(guardian=mum, purpose=ConsentPurpose.PLATFORM, rules_version="2026.1")
    response = ops.post(
        _url(Consent, "changelist"), {"action": "withdraw", "_selected_action": [photo.pk, platform.pk]}, follow=True
    )
    assert response.status_code == 200
    photo.refresh_from_db()
    platform.refresh_from_db()
    assert photo.withdrawn_at is not None  # the row stays, closed
    assert platform.withdrawn_at is None  # the basic consent is not withdrawn on its own
    shown = [str(m) for m in response.context["messages"]]
    assert any(f"第 {platform.pk} 条未撤回" in m for m in shown) and any("已撤回 1 条" in m for m in shown)
