"""The mobile API (/api/v1/): token log-in, what each role gets back, field-level rules, errors, and
query counts that do not grow with the data."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import token_uses
from audit.models import AccessEvent
from people.models import Guardian, Guardianship, Relation, Student
from tests.world import PASSWORD, make_user

CJK = re.compile(r"[\u4e00-\u9fff]")


def bearer(user) -> dict:
    _token, key = ApiToken.issue(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def api_get(client, user, path, **params):
    return client.get(path, params, **bearer(user))


def ids(items) -> set[int]:
    return {item["id"] for item in items}


def json_values(data):
    """Every scalar in a JSON document, for "this value appears nowhere" checks."""
    if isinstance(data, dict):
        for value in data.values():
            yield from json_values(value)
    elif isinstance(data, list):
        for value in data:
            yield from json_values(value)
    else:
        yield data


# --- Tokens and authentication ---------------------------------------------------------------------


def test_phone_and_password_give_a_token_that_works_until_revoked(world, client):
    response = client.post(
        "/api/v1/auth/token", {"phone": world.teacher_a1.phone, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200
    headers = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}

    me = client.get("/api/v1/auth/me", **headers).json()
    assert me["name"] == "teacher_a1"
    assert world.teacher_a1.phone not in str(me)  # masked
    assert [(r["role"], r["unit_id"]) for r in me["roles"]] == [("class_teacher", world.class_a1.id)]

    assert client.delete("/api/v1/auth/token", **headers).status_code == 204
    assert client.get("/api/v1/auth/me", **headers).status_code == 401


def test_token_use_is_noted_later_in_bulk_and_refused_tokens_are_not(world, client, monkeypatch):
    token_uses.flush()
    token, key = ApiToken.issue(user=world.parent_a1)
    expired, expired_key = ApiToken.issue(user=world.parent_a1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {expired_key}").status_code == 401
    token.refresh_from_db()
    assert token.last_used_at is None  # not written by the call itself
    assert token_uses.flush() == 1
    token.refresh_from_db()
    expired.refresh_from_db()
    first = token.last_used_at
    assert first is not None and expired.last_used_at is None
    # Used again within five minutes: nothing to note.
    assert client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert token_uses.flush() == 0
    # A full batch is written by the call that fills it.
    monkeypatch.setattr(token_uses, "BATCH", 2)
    other, other_key = ApiToken.issue(user=world.teacher_a1)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=10))
    client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert not token_uses.pending
    assert ApiToken.objects.filter(pk__in=[token.pk, other.pk], last_used_at__gt=first).count() == 2


def test_wrong_password_is_refused_in_chinese(world, client):
    response = client.post(
        "/api/v1/auth/token", {"phone": world.teacher_a1.phone, "password": "wrong-password"}, content_type="application/json"
    )
    assert response.status_code == 401
    assert CJK.search(response.json()["detail"])


PROTECTED = [
    "/api/v1/auth/me",
    "/api/v1/people/children",
    "/api/v1/org/classes",
    "/api/v1/org/units",
    "/api/v1/org/units/1",
    "/api/v1/people/students",
    "/api/v1/people/students/1",
]


@pytest.mark.parametrize("path", PROTECTED)
def test_every_endpoint_needs_a_valid_token(world, client, path):
    # No token, a made-up token, an expired token, and a web session (the API takes tokens only).
    assert client.get(path).status_code == 401
    assert client.get(path, HTTP_AUTHORIZATION="Bearer gy_made-up").status_code == 401
    token, key = ApiToken.issue(user=world.school_admin_a)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert CJK.search(response.json()["detail"])
    client.force_login(world.school_admin_a)
    assert client.get(path).status_code == 401


def test_a_disabled_account_loses_api_access(world, client):
    headers = bearer(world.teacher_a1)
    assert client.get("/api/v1/org/classes", **headers).status_code == 200
    world.teacher_a1.is_active = False
    world.teacher_a1.save()
    assert client.get("/api/v1/org/classes", **headers).status_code == 401


# --- My children ----------------------------------------------------------------------------------


def test_guardian_sees_children_in_two_schools(world, client):
    data = api_get(client, world.parent_two_schools, "/api/v1/people/children").json()
    assert data["count"] == 2
    by_id = {c["id"]: c for c in data["items"]}
    assert set(by_id) == {world.child_a2.id, world.child_b1.id}
    a2, b1 = by_id[world.child_a2.id], by_id[world.child_b1.id]
    assert a2["school"] == {"id": world.school_a.id, "name": world.school_a.name}
    assert a2["class"] == {"id": world.class_a2.id, "name": world.class_a2.name}
    assert b1["school"]["id"] == world.school_b.id
    assert b1["class"]["id"] == world.class_b1.id
    assert a2["relation"] == "mother" and a2["relation_label"] == "母亲"
    assert a2["co_guardians"] == [{"name": "parent_a2", "relation": "father", "relation_label": "父亲"}]
    assert b1["co_guardians"] == []


def test_co_guardians_include_grandparents_and_unactivated_ones_but_no_contact_data(world, client):
    data = api_get(client, world.parent_a1, "/api/v1/people/children").json()
    (child,) = data["items"]
    assert child["id"] == world.child_a1.id
    assert {(g["name"], g["relation"]) for g in child["co_guardians"]} == {
        ("grandparent_a1", "maternal_grandmother"),
        ("未激活家长", "father"),
    }
    assert all(set(g) == {"name", "relation", "relation_label"} for g in child["co_guardians"])


@pytest.mark.parametrize("user_key", ["teacher_a1", "district_admin", "grid_worker_1", "outsider"])
def test_users_without_children_get_an_empty_list(world, client, user_key):
    data = api_get(client, world.users[user_key], "/api/v1/people/children").json()
    assert data == {"items": [], "count": 0, "page": 1, "page_size": 50}


# --- My classes -----------------------------------------------------------------------------------


def test_class_teacher_gets_their_class_with_counts(world, client):
    data = api_get(client, world.teacher_a1, "/api/v1/org/classes").json()
    assert data["count"] == 1
    (item,) = data["items"]
    assert item == {
        "id": world.class_a1.id,
        "name": world.class_a1.name,
        "school": {"id": world.school_a.id, "name": world.school_a.name},
        "grade": {"id": world.grade_a3.id, "name": world.grade_a3.name},
        "my_roles": ["class_teacher"],
        "student_count": 1,
        # parent_a1 and grandparent_a1 have accounts; the imported father has not activated yet.
        "activated_guardians": 2,
    }


def test_class_counts_follow_the_data(world, client):
    extra = Student.objects.create(
        district=world.district, school=world.school_a, school_class=world.class_a1, name="新同学", student_no="NEW001"
    )
    Guardianship.objects.create(guardian=world.guardians["unactivated_a1"], student=extra, relation=Relation.FATHER)
    Student.objects.create(
        district=world.district, school=world.school_a, school_class=world.class_a1, name="转走", student_no="OLD001", is_active=False
    )
    (item,) = api_get(client, world.teacher_a1, "/api/v1/org/classes").json()["items"]
    assert item["student_count"] == 2
    assert item["activated_guardians"] == 2
    world.guardians["unactivated_a1"].user = make_user("激活了")
    world.guardians["unactivated_a1"].save()
    (item,) = api_get(client, world.teacher_a1, "/api/v1/org/classes").json()["items"]
    assert item["activated_guardians"] == 3


@pytest.mark.parametrize(
    "user_key, expected",
    [
        ("subject_teacher_a1", ["class_a1"]),
        ("school_admin_a", ["class_a1", "class_a2"]),
        ("psych_a", ["class_a1", "class_a2"]),
        ("district_admin", ["class_a1", "class_a2", "class_b1"]),
        ("teacher_b1", ["class_b1"]),
        # A guardian's or carer's one child does not make the class theirs; structure-only roles see none.
        ("parent_a1", []),
        ("grid_worker_1", []),
        ("liaison", []),
        ("street_staff_1", []),
    ],
)
def test_classes_per_role(world, client, user_key, expected):
    data = api_get(client, world.users[user_key], "/api/v1/org/classes").json()
    assert ids(data["items"]) == {world.units[k].id for k in expected}


def test_subject_teacher_role_is_named(world, client):
    (item,) = api_get(client, world.subject_teacher_a1, "/api/v1/org/classes").json()["items"]
    assert item["my_roles"] == ["subject_teacher"]


# --- Organisation units ---------------------------------------------------------------------------


def test_units_are_paginated_and_filtered(world, client):
    user = world.school_admin_a  # district, street_1, school_a, grade_a3, class_a1, class_a2
    first = api_get(client, user, "/api/v1/org/units", page_size=4).json()
    second = api_get(client, user, "/api/v1/org/units", page_size=4, page=2).json()
    assert first["count"] == second["count"] == 6
    assert len(first["items"]) == 4 and len(second["items"]) == 2
    assert not ids(first["items"]) & ids(second["items"])

    classes = api_get(client, user, "/api/v1/org/units", kind="class").json()
    assert ids(classes["items"]) == {world.class_a1.id, world.class_a2.id}
    children = api_get(client, user, "/api/v1/org/units", parent=world.grade_a3.id).json()
    assert ids(children["items"]) == {world.class_a1.id, world.class_a2.id}
    # The district is visible (an ancestor), but only the part of it under school_a is listed.
    under_district = api_get(client, user, "/api/v1/org/units", parent=world.district.id).json()
    assert ids(under_district["items"]) == {world.street_1.id}


def test_units_of_a_hidden_parent_answer_404(world, client):
    response = api_get(client, world.school_admin_a, "/api/v1/org/units", parent=world.school_b.id)
    assert response.status_code == 404
    assert CJK.search(response.json()["detail"])


def test_unit_detail_lists_visible_ancestors(world, client):
    data = api_get(client, world.teacher_a1, f"/api/v1/org/units/{world.class_a1.id}").json()
    assert data["kind"] == "class" and data["kind_label"] == "班级"
    assert [a["id"] for a in data["ancestors"]] == [
        world.district.id,
        world.street_1.id,
        world.school_a.id,
        world.grade_a3.id,
    ]


@pytest.mark.parametrize(
    "user_key, sees_code",
    [("teacher_a1", True), ("school_admin_a", True), ("subject_teacher_a1", False), ("parent_a1", False)],
)
def test_class_invite_code_only_for_those_who_hand_it_out(world, client, user_key, sees_code):
    data = api_get(client, world.users[user_key], f"/api/v1/org/units/{world.class_a1.id}").json()
    world.class_a1.refresh_from_db()
    assert data["invite_code"] == (world.class_a1.invite_code if sees_code else None)


# --- Students -------------------------------------------------------------------------------------


def test_students_of_a_class(world, client):
    data = api_get(client, world.school_admin_a, "/api/v1/people/students", class_id=world.class_a2.id).json()
    assert ids(data["items"]) == {world.child_a2.id}
    (item,) = data["items"]
    assert set(item) == {"id", "name", "gender", "student_no_masked", "school", "class", "is_active"}
    # A list never carries the full 学籍号 ("G" + the ID number), whoever asks.
    assert item["student_no_masked"] == "G…0022" and world.child_a2.student_no not in json.dumps(data, ensure_ascii=False)
    assert item["class"] == {"id": world.class_a2.id, "name": world.class_a2.name}


def test_students_of_a_class_outside_scope_answer_404(world, client):
    response = api_get(client, world.teacher_a1, "/api/v1/people/students", class_id=world.class_a2.id)
    assert response.status_code == 404
    assert world.child_a2.name not in response.content.decode()


def test_a_guardian_listing_their_childs_class_sees_only_their_child(world, client):
    extra = Student.objects.create(
        district=world.district, school=world.school_a, school_class=world.class_a1, name="同班同学", student_no="MATE01"
    )
    data = api_get(client, world.parent_a1, "/api/v1/people/students", class_id=world.class_a1.id).json()
    assert ids(data["items"]) == {world.child_a1.id}
    assert extra.id not in ids(data["items"])


STUDENT_KEYS = {"id", "name", "gender", "student_no_masked", "school", "class", "is_active", "birth_date", "id_number_masked", "guardians"}
GUARDIAN_KEYS = {"id", "name", "relation", "relation_label", "is_primary", "lives_with", "activated", "phone_masked"}
# Per role: the keys a student record may carry, and the keys each guardian entry may carry.
ALLOW_LISTS = {
    "school_admin_a": (STUDENT_KEYS | {"id_number", "student_no"}, GUARDIAN_KEYS),  # full phones only with ?show=phone
    "teacher_a1": (STUDENT_KEYS, GUARDIAN_KEYS | {"phone"}),
    "subject_teacher_a1": (STUDENT_KEYS, GUARDIAN_KEYS),
    "psych_a": (STUDENT_KEYS, GUARDIAN_KEYS),
    "health_vp_a": (STUDENT_KEYS, GUARDIAN_KEYS),
    "district_admin": (STUDENT_KEYS, GUARDIAN_KEYS),
    "parent_a1": (STUDENT_KEYS, GUARDIAN_KEYS),
    "grandparent_a1": (STUDENT_KEYS, GUARDIAN_KEYS),
}


@pytest.mark.parametrize("user_key", sorted(ALLOW_LISTS))
def test_student_detail_keys_stay_within_the_roles_allow_list(world, client, user_key):
    allowed_student, allowed_guardian = ALLOW_LISTS[user_key]
    response = api_get(client, world.users[user_key], f"/api/v1/people/students/{world.child_a1.id}")
    assert response.status_code == 200
    data = response.json()
    assert set(data) <= allowed_student, set(data) - allowed_student
    assert data["guardians"], "child_a1 has guardians"
    for guardian in data["guardians"]:
        assert set(guardian) <= allowed_guardian, set(guardian) - allowed_guardian
    values = set(json_values(data))
    phones = {g.phone for g in Guardian.objects.filter(guardianships__student=world.child_a1)}
    if "phone" not in allowed_guardian:
        assert not phones & values, "an unmasked phone number reached a role that may not see it"
    else:
        assert phones <= values
    if "id_number" not in allowed_student:
        assert world.child_a1.id_number not in values
    if "student_no" not in allowed_student:
        # The 学籍号 holds the whole ID number: not even as part of a value.
        assert not any(world.child_a1.id_number in str(v) for v in values)
    assert data["id_number_masked"] == world.child_a1.id_number_masked != world.child_a1.id_number
    assert data["student_no_masked"] == "G…0011"


def test_unmasked_id_number_reads_are_audited_one_row_per_read(world, client):
    headers = bearer(world.school_admin_a)
    path = f"/api/v1/people/students/{world.child_a1.id}"
    before = AccessEvent.objects.filter(model="people.student", object_id=str(world.child_a1.id)).count()
    for _ in range(2):
        data = client.get(path, **headers).json()
        assert (data["id_number"], data["student_no"]) == (world.child_a1.id_number, world.child_a1.student_no)
    rows = AccessEvent.objects.filter(model="people.student", object_id=str(world.child_a1.id))
    assert rows.count() == before + 2  # one row per read, though it disclosed two numbers
    assert set(rows.values_list("actor_id", flat=True)) == {world.school_admin_a.id}


def test_masked_reads_write_no_access_rows(world, client):
    # The class teacher's default full phones are an access row each (people.contact), so not here.
    for who in ("subject_teacher_a1", "psych_a", "health_vp_a", "district_admin", "parent_a1"):
        data = api_get(client, world.users[who], f"/api/v1/people/students/{world.child_a1.id}").json()
        assert "student_no" not in data and "id_number" not in data
    api_get(client, world.subject_teacher_a1, "/api/v1/people/students", class_id=world.class_a1.id)
    assert not AccessEvent.objects.exists()


def test_full_student_no_without_an_id_number_is_still_an_audited_read(world, client):
    # The 学籍号 alone is "G" + the ID number: disclosing it is an identity read, logged once.
    data = api_get(client, world.school_admin_a, f"/api/v1/people/students/{world.child_a2.id}").json()
    assert "id_number" not in data and data["student_no"] == world.child_a2.student_no
    row = AccessEvent.objects.get()
    assert (row.object_id, row.reason) == (str(world.child_a2.id), "api:people.student_detail student_no")


def test_carer_sees_their_child_with_masked_contacts(world, client):
    data = api_get(client, world.grid_worker_1, f"/api/v1/people/students/{world.child_a2.id}").json()
    assert data["id"] == world.child_a2.id
    assert {g["name"] for g in data["guardians"]} == {"parent_a2", "parent_two_schools"}
    assert all("phone" not in g for g in data["guardians"])
    assert "student_no" not in data and data["student_no_masked"] == "G…0022"


# --- Bad input: clear Chinese errors, never a server error ----------------------------------------

MALFORMED_GETS = [
    ("/api/v1/org/units/abc", 422),
    ("/api/v1/org/units/-1", 422),
    ("/api/v1/org/units/0", 422),
    ("/api/v1/org/units/99999999999999999999999999", 422),
    ("/api/v1/people/students/1.5", 422),
    ("/api/v1/people/students/%E5%AD%A6", 422),
    ("/api/v1/people/students?class_id=abc", 422),
    ("/api/v1/people/students?class_id=99999999999999999999999999", 422),
    ("/api/v1/org/units?page=0", 422),
    ("/api/v1/org/units?page=-3", 422),
    ("/api/v1/org/units?page=abc", 422),
    ("/api/v1/org/units?page_size=-5", 422),
    ("/api/v1/org/units?page_size=0", 422),
    ("/api/v1/org/units?page_size=101", 422),
    ("/api/v1/org/units?page_size=1e9", 422),
    ("/api/v1/org/units?kind=castle", 422),
    ("/api/v1/org/units?parent=abc", 422),
    ("/api/v1/org/units/123456789", 404),
    ("/api/v1/people/students/123456789", 404),
]


@pytest.mark.parametrize("path, status", MALFORMED_GETS)
def test_malformed_requests_get_a_chinese_error(world, client, path, status):
    response = client.get(path, **bearer(world.school_admin_a))
    assert response.status_code == status
    assert CJK.search(response.json()["detail"])


def test_validation_errors_name_the_field(world, client):
    data = client.get("/api/v1/org/units?page_size=500", **bearer(world.school_admin_a)).json()
    assert "page_size" in data["detail"] and "100" in data["detail"]
    assert data["errors"][0]["loc"] == ["query", "page_size"]


@pytest.mark.parametrize("page", [1000, 10**20])
def test_a_page_past_the_end_is_empty(world, client, page):
    data = client.get(f"/api/v1/org/units?page={page}", **bearer(world.district_admin)).json()
    assert data["items"] == [] and data["count"] == 16


@pytest.mark.parametrize(
    "body, status",
    [
        ("not json", 400),
        ("{}", 422),
        ('{"phone": ["13800000000"], "password": 1}', 422),
        ("[1, 2]", 422),
    ],
)
def test_malformed_token_requests(world, client, body, status):
    response = client.post("/api/v1/auth/token", body, content_type="application/json")
    assert response.status_code == status
    assert CJK.search(response.json()["detail"])


# --- Query counts do not grow with rows -----------------------------------------------------------


def _add_students(world, numbers, *, guardian=None):
    """Students in class_a1, each with an activated guardian (or, for a guardian's own list, with
    that guardian and a grandmother as co-guardian, so that every prefetch has rows to fetch)."""
    for i in numbers:
        s = Student.objects.create(
            district=world.district, school=world.school_a, school_class=world.class_a1, name=f"学生{i}", student_no=f"Q{i:05d}"
        )
        g = guardian or Guardian.objects.create(district=world.district, name=f"家长{i}", user=make_user(f"家长{i}"))
        Guardianship.objects.create(guardian=g, student=s, relation=Relation.MOTHER)
        if guardian is not None:
            co = Guardian.objects.create(district=world.district, name=f"奶奶{i}")
            Guardianship.objects.create(guardian=co, student=s, relation=Relation.PATERNAL_GRANDMOTHER)


def _count_queries(client, headers, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **headers)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "user_key, path_template, guardian_owned, budget",
    [
        ("teacher_a1", "/api/v1/people/students?class_id={class_a1}", False, 8),
        ("school_admin_a", "/api/v1/people/students", False, 8),
        ("school_admin_a", "/api/v1/org/classes", False, 8),
        ("teacher_a1", "/api/v1/org/classes", False, 8),
        ("parent_a1", "/api/v1/people/children", True, 8),
        # The class teacher's answer holds full phone numbers: + the access row it writes (last hash, insert).
        ("teacher_a1", "/api/v1/people/students/{child_a1}", False, 10),
    ],
)
def test_list_queries_do_not_grow_with_rows(world, client, django_assert_max_num_queries, user_key, path_template, guardian_owned,
                                            budget):
    user = world.users[user_key]
    headers = bearer(user)
    path = path_template.format(class_a1=world.class_a1.id, child_a1=world.child_a1.id)
    guardian = world.guardians["parent_a1"] if guardian_owned else None
    client.get(path, **headers)  # warm-up: the token's last-used time is written once
    _add_students(world, range(1, 2), guardian=guardian)  # 2 in class_a1 with child_a1
    small = _count_queries(client, headers, path)
    _add_students(world, range(2, 20), guardian=guardian)  # 20
    large = _count_queries(client, headers, path)
    assert large == small, f"{small} queries with 2 students, {large} with 20"
    with django_assert_max_num_queries(budget):
        client.get(path, **headers)


# --- OpenAPI document and docs page ---------------------------------------------------------------


def test_openapi_document_lists_the_endpoints_with_chinese_summaries(db, client):
    doc = client.get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    for path in [
        "/api/v1/auth/token",
        "/api/v1/auth/me",
        "/api/v1/people/children",
        "/api/v1/org/classes",
        "/api/v1/org/units",
        "/api/v1/org/units/{unit_id}",
        "/api/v1/people/students",
        "/api/v1/people/students/{student_id}",
    ]:
        assert path in paths, path
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert CJK.search(operation.get("summary", "")), f"{method.upper()} {path} has no Chinese summary"
    # The page size limit is part of the contract.
    params = {p["name"]: p for p in paths["/api/v1/people/students"]["get"]["parameters"]}
    assert params["page_size"]["schema"]["maximum"] == 100


def test_docs_page_loads_only_local_files_and_fits_the_csp(db, client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(r.endswith("swagger-ui-bundle.js") for r in refs)
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), f"external reference on the docs page: {ref}"
        assert client.get(ref).status_code == 200, f"docs page refers to a file that is not served: {ref}"
    # No inline script (only the JSON settings block, which browsers do not execute).
    for attrs in re.findall(r"<script([^>]*)>", html):
        assert "src=" in attrs or 'type="application/json"' in attrs
    # The site's strict policy applies unchanged (Swagger UI styles itself through the DOM).
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
