"""Guardians' full phone numbers (people.contact, docs/security.md): the class teacher sees them by default on
their class's pages, each view one access row; a school admin asks per student, each showing one access
row; neighbouring scopes (a subject teacher of the same class, a teacher of another class, the psychology
teacher, the district admin) see masked numbers and cannot ask."""

import io

from django.urls import reverse

from accounts.models import ApiToken
from audit.models import AccessEvent
from notices import services
from notices.audience import resolve
from people.contact import REASON_DEFAULT, REASON_EXPORT, REASON_REVEAL
from roster import services as roster_services

UNACTIVATED = "13912345678"  # a guardian of child_a1 (tests/world.py)
MASKED = "139****5678"


def page(client, user, name, *args, **params):
    client.force_login(user)
    return client.get(reverse(name, args=args), params)


def api(client, user, student, **params):
    _token, key = ApiToken.issue(user=user)
    return client.get(f"/api/v1/people/students/{student.pk}", params, HTTP_AUTHORIZATION=f"Bearer {key}")


def rows(user):
    """The user's access rows about phone numbers (a school admin's API reads also log the ID number)."""
    found = AccessEvent.objects.filter(actor_id=user.pk).order_by("id").values_list("model", "object_id", "reason")
    return [r for r in found if r[2].startswith((REASON_DEFAULT, REASON_REVEAL, REASON_EXPORT))]


def test_pages_show_full_phones_to_the_class_teacher_alone_and_log_each_showing(client, world):
    student, school_class = world.child_a1, world.class_a1
    roster_page = ("org:class_roster", school_class.pk)
    student_page = ("people:student_detail", student.pk)

    # The class teacher: full numbers by default, one access row per page view, none for a page without numbers.
    for name, pk in (roster_page, student_page, roster_page):
        body = page(client, world.teacher_a1, name, pk).content.decode()
        assert UNACTIVATED in body and f'href="tel:{UNACTIVATED}"' in body
    assert rows(world.teacher_a1) == [
        ("org.schoolclass", str(school_class.pk), f"{REASON_DEFAULT}：花名册"),
        ("people.student", str(student.pk), f"{REASON_DEFAULT}：学生页"),
        ("org.schoolclass", str(school_class.pk), f"{REASON_DEFAULT}：花名册"),
    ]
    page(client, world.teacher_a1, "org:class_roster", school_class.pk, q="没有这个学生")
    assert len(rows(world.teacher_a1)) == 3

    # Neighbouring scopes: masked everywhere, nothing to ask for, asking anyway shows and logs nothing.
    for who in ("subject_teacher_a1", "psych_a", "health_vp_a", "district_admin"):
        user = world.users[who]
        for name, pk in (roster_page, student_page):
            body = page(client, user, name, pk, show="phone").content.decode()
            assert MASKED in body and UNACTIVATED not in body, who
            assert 'data-testid="reveal-phone"' not in body, who
        assert rows(user) == [], who
    # A teacher of another class does not reach the class or the child at all.
    for name, pk in (roster_page, student_page):
        assert page(client, world.teacher_a2, name, pk, show="phone").status_code == 404
    assert rows(world.teacher_a2) == []

    # The school admin: masked on the roster and the student page until asked; each showing is one row.
    admin = world.school_admin_a
    body = page(client, admin, *roster_page).content.decode()
    assert MASKED in body and UNACTIVATED not in body
    body = page(client, admin, *student_page).content.decode()
    assert MASKED in body and UNACTIVATED not in body and 'data-testid="reveal-phone"' in body
    assert rows(admin) == []
    for expected in (1, 2):
        body = page(client, admin, *student_page, show="phone").content.decode()
        assert UNACTIVATED in body and 'data-testid="phones-revealed"' in body
        assert rows(admin) == [("people.student", str(student.pk), f"{REASON_REVEAL}：学生页")] * expected


def test_api_shows_full_phones_as_the_pages_do(client, world):
    student = world.child_a1

    def phones(response):
        assert response.status_code == 200
        return {g.get("phone") for g in response.json()["guardians"]}

    assert UNACTIVATED in phones(api(client, world.teacher_a1, student))
    assert rows(world.teacher_a1) == [("people.student", str(student.pk), f"{REASON_DEFAULT}：API")]

    for who in ("subject_teacher_a1", "psych_a", "district_admin"):
        assert phones(api(client, world.users[who], student, show="phone")) == {None}, who
        assert rows(world.users[who]) == [], who
    assert api(client, world.teacher_a2, student, show="phone").status_code == 404

    admin = world.school_admin_a
    assert phones(api(client, admin, student)) == {None}
    assert rows(admin) == []
    for expected in (1, 2):
        assert UNACTIVATED in phones(api(client, admin, student, show="phone"))
        assert rows(admin) == [("people.student", str(student.pk), f"{REASON_REVEAL}：API")] * expected


def test_notice_report_and_exports_log_their_full_phones(client, world):
    audience = resolve(world.teacher_a1, unit_ids=[world.class_a1.pk], include_guardians=True, staff_roles=[], student_nos=[])
    notice = services.notice_create(actor=world.teacher_a1, title="作业", body="背诵第12课。", audience=audience)
    services.run_pending_jobs(notice)

    # The class teacher's unread list: full numbers, one row per view.
    body = page(client, world.teacher_a1, "notices:class_report", notice.pk, world.class_a1.pk, unread="1").content.decode()
    assert UNACTIVATED in body
    assert rows(world.teacher_a1) == [("org.schoolclass", str(world.class_a1.pk), f"{REASON_DEFAULT}：通知回执")]
    # Its export holds full numbers: one row per export, written in the request (with its address).
    csv_text = b"".join(page(client, world.teacher_a1, "notices:export", notice.pk, format="csv").streaming_content).decode()
    assert UNACTIVATED in csv_text
    row = AccessEvent.objects.filter(actor_id=world.teacher_a1.pk).order_by("-id").first()
    assert (row.model, row.reason, row.ip) == ("notices.notice", f"{REASON_EXPORT}：通知阅读情况", "127.0.0.1")

    # The school admin's view of the class report: masked, nothing logged.
    body = page(client, world.school_admin_a, "notices:class_report", notice.pk, world.class_a1.pk).content.decode()
    assert MASKED in body and UNACTIVATED not in body
    assert rows(world.school_admin_a) == []

    # A roster export with full numbers (school admin) is one row; a masked one (district admin) none.
    roster_services.export_roster(user=world.school_admin_a, unit=world.school_a, fmt="csv", out=io.BytesIO())
    assert rows(world.school_admin_a) == [("org.orgunit", str(world.school_a.pk), f"{REASON_EXPORT}：花名册")]
    roster_services.export_roster(user=world.district_admin, unit=world.school_a, fmt="csv", out=io.BytesIO())
    assert rows(world.district_admin) == []
