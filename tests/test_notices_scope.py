"""Scope walk of the notices and homeschool modules (handed over by tests/test_scope_leaks.py).

Every user of the world opens every object URL of these modules — pages and API — for objects inside and
outside their scope: outside answers 404 (403 for a page that needs a permission the user has nowhere),
POSTs change nothing, and list pages never show a name they must not. The URLs named here, by URL name
for pages and by route for the API, are the ones tests/test_scope_leaks.py checks are covered:

pages: "notices:stats" "notices:stats_partial" "notices:class_report" "notices:remind" "notices:withdraw"
"notices:export" "notices:read" "notices:reply" "notices:attachment" "homeschool:consultation"
"homeschool:consultation_close" "homeschool:message_attachment" "homeschool:guide" "homeschool:guide_rate"
"homeschool:visit" "homeschool:visit_class"
API: api/v1/notices/<int:notice_id> api/v1/notices/<int:notice_id>/reply api/v1/notices/<int:notice_id>/stats
api/v1/notices/<int:notice_id>/remind api/v1/notices/<int:notice_id>/withdraw
api/v1/homeschool/consultations/<int:consultation_id> api/v1/homeschool/consultations/<int:consultation_id>/messages
api/v1/homeschool/consultations/<int:consultation_id>/close api/v1/homeschool/guides/<int:guide_id>
api/v1/homeschool/guides/<int:guide_id>/rating
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from homeschool import services as hs
from homeschool.models import Consultation, ConsultationMessage, GuideRead, HomeVisit
from notices.models import Notice, NoticeAttachment, Receipt, Reminder
from tests.test_notices_helpers import notice_settings, send  # noqa: F401
from tests.world import build_world

USERS = [
    "district_admin", "liaison", "street_staff_1", "street_staff_2", "school_admin_a", "school_admin_b", "teacher_a1", "teacher_a2",
    "teacher_b1", "subject_teacher_a1", "psych_a", "health_vp_a", "grid_worker_1", "partner_contact", "volunteer",
    "other_district_admin", "parent_a1", "grandparent_a1", "parent_a2", "parent_two_schools", "parent_other", "outsider",
]
PDF = b"%PDF-1.4\n%%EOF\n"

# Who may open what. Notices: recipients read; senders and the staff above them follow the figures.
READ = {
    "notice_a1": {"parent_a1", "grandparent_a1"},
    "notice_b1": {"parent_two_schools"},
    "notice_other": {"parent_other"},
}
FOLLOW = {
    "notice_a1": {"teacher_a1", "school_admin_a", "district_admin"},
    "notice_b1": {"teacher_b1", "school_admin_b", "district_admin"},
    "notice_other": {"other_district_admin"},
}
# Consultations are private: the asking guardian and the class teacher, nobody else.
THREAD = {"consult_a1": {"parent_a1", "teacher_a1"}, "consult_b1": {"parent_two_schools", "teacher_b1"}}
# A class's guide: the class's families and staff who teach, oversee or sit in that class.
GUIDE = {
    "guide_a1": {"parent_a1", "grandparent_a1", "teacher_a1", "subject_teacher_a1", "school_admin_a", "district_admin"},
    "guide_other": {"parent_other", "other_district_admin"},
}
CLASS_REPORT = {
    "district_admin": {"class_a1", "class_a2", "class_b1"},
    "other_district_admin": {"other_class"},
    "school_admin_a": {"class_a1", "class_a2"},
    "school_admin_b": {"class_b1"},
    "teacher_a1": {"class_a1"},
    "teacher_b1": {"class_b1"},
}
VISIT = {"visit_a1": {"teacher_a1", "school_admin_a", "district_admin"}, "visit_b1": {"teacher_b1", "school_admin_b", "district_admin"}}


@pytest.fixture
def objects(db, django_capture_on_commit_callbacks):
    w = build_world()
    o = {"world": w}
    o["notice_a1"] = send(django_capture_on_commit_callbacks, w.teacher_a1, [w.class_a1], reply_kind="confirm", title="〔notice_a1〕")
    att = NoticeAttachment(notice=o["notice_a1"], original_name="a1.pdf", content_type="application/pdf", size=len(PDF))
    att.file.save("x", SimpleUploadedFile("a1.pdf", PDF), save=True)
    o["att_a1"] = att
    o["notice_b1"] = send(django_capture_on_commit_callbacks, w.teacher_b1, [w.class_b1], reply_kind="confirm", title="〔notice_b1〕")
    o["notice_other"] = send(django_capture_on_commit_callbacks, w.other_district_admin, [w.other_district], reply_kind="confirm", title="〔notice_other〕")
    o["consult_a1"] = hs.consultation_ask(actor=w.parent_a1, student=w.child_a1, target="teacher", subject="〔consult_a1〕", body="…",
                                          attachment=("a.pdf", PDF, "application/pdf"))
    o["consult_b1"] = hs.consultation_ask(actor=w.parent_two_schools, student=w.child_b1, target="teacher", subject="〔consult_b1〕", body="…")
    o["msg_a1"] = o["consult_a1"].messages.get()
    o["guide_a1"] = hs.guide_publish(actor=w.teacher_a1, author_unit=w.class_a1, title="〔guide_a1〕", body="…", topic="emotion")
    o["guide_other"] = hs.guide_publish(actor=w.other_district_admin, author_unit=w.other_district, title="〔guide_other〕", body="…", topic="emotion")
    o["visit_a1"] = hs.visit_plan(actor=w.teacher_a1, student=w.child_a1, planned_for=timezone.localdate())
    o["visit_b1"] = hs.visit_plan(actor=w.teacher_b1, student=w.child_b1, planned_for=timezone.localdate())
    return o


def snapshot():
    return (
        list(Notice.objects.order_by("id").values_list("id", "status", "withdraw_reason")),
        list(Receipt.objects.order_by("id").values_list("id", "read_at", "replied_at", "reply", "reminder_count")),
        Reminder.objects.count(),
        list(Consultation.objects.order_by("id").values_list("id", "status", "first_reply_at")),
        ConsultationMessage.objects.count(),
        list(GuideRead.objects.order_by("id").values_list("id", "rating")),
        list(HomeVisit.objects.order_by("id").values_list("id", "status", "visited_on", "topics")),
    )


@pytest.mark.parametrize("user_key", USERS)
def test_walk(objects, user_key):
    w = objects["world"]
    assert set(USERS) == set(w.users)
    user = w.users[user_key]
    page = Client()
    page.force_login(user)
    _t, key = ApiToken.issue(user=user)
    api = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    client_api = Client()
    checks = 0

    def expect(response, allowed, where):
        nonlocal checks
        checks += 1
        if allowed:
            assert response.status_code == 200, f"{user_key}: {where} → {response.status_code}, expected 200"
        else:
            assert response.status_code in (403, 404), f"{user_key}: {where} → {response.status_code}, expected 404"

    before = snapshot()
    for name in ("notice_a1", "notice_b1", "notice_other"):
        n = objects[name]
        reads, follows = user_key in READ[name], user_key in FOLLOW[name]
        expect(page.get(reverse("notices:stats", args=[n.pk])), follows, f"stats {name}")
        expect(page.get(reverse("notices:stats_partial", args=[n.pk])), follows, f"figures {name}")
        expect(page.get(reverse("notices:export", args=[n.pk]) + "?format=csv"), follows, f"export {name}")
        expect(client_api.get(f"/api/v1/notices/{n.pk}/stats", **api), follows, f"API stats {name}")
        for cls in ("class_a1", "class_b1", "other_class"):
            url = reverse("notices:class_report", args=[n.pk, w.units[cls].pk])
            # A followed notice's class report opens for the classes the user can see (empty if not reached).
            expect(page.get(url), follows and cls in CLASS_REPORT.get(user_key, ()), f"class report {name}/{cls}")
        if not follows:
            for url in (reverse("notices:remind", args=[n.pk]), reverse("notices:withdraw", args=[n.pk])):
                expect(page.post(url, {"reason": "x"}), False, f"POST {url}")
            expect(client_api.post(f"/api/v1/notices/{n.pk}/remind", {}, content_type="application/json", **api), False, f"API remind {name}")
            expect(client_api.post(f"/api/v1/notices/{n.pk}/withdraw", {"reason": "x"}, content_type="application/json", **api), False, f"API withdraw {name}")
        if not reads:
            expect(page.get(reverse("notices:read", args=[n.pk])), False, f"read {name}")
            expect(page.post(reverse("notices:reply", args=[n.pk]), {"choice": "confirm"}), False, f"reply {name}")
            expect(client_api.get(f"/api/v1/notices/{n.pk}", **api), False, f"API open {name}")
            expect(client_api.post(f"/api/v1/notices/{n.pk}/reply", {"choice": "confirm"}, content_type="application/json", **api), False, f"API reply {name}")
    expect(page.get(reverse("notices:attachment", args=[objects["att_a1"].pk])), user_key in READ["notice_a1"] | FOLLOW["notice_a1"], "attachment")

    for name in ("consult_a1", "consult_b1"):
        c = objects[name]
        ok = user_key in THREAD[name]
        expect(page.get(reverse("homeschool:consultation", args=[c.pk])), ok, f"thread {name}")
        expect(client_api.get(f"/api/v1/homeschool/consultations/{c.pk}", **api), ok, f"API thread {name}")
        if not ok:
            expect(page.post(reverse("homeschool:consultation", args=[c.pk]), {"body": "插话"}), False, f"POST thread {name}")
            expect(page.post(reverse("homeschool:consultation_close", args=[c.pk])), False, f"close {name}")
            expect(client_api.post(f"/api/v1/homeschool/consultations/{c.pk}/messages", {"body": "x"}, content_type="application/json", **api), False, "API msg")
            expect(client_api.post(f"/api/v1/homeschool/consultations/{c.pk}/close", {}, content_type="application/json", **api), False, "API close")
    expect(page.get(reverse("homeschool:message_attachment", args=[objects["msg_a1"].pk])), user_key in THREAD["consult_a1"], "message attachment")

    for name in ("guide_a1", "guide_other"):
        g = objects[name]
        ok = user_key in GUIDE[name]
        expect(page.get(reverse("homeschool:guide", args=[g.pk])), ok, f"guide {name}")
        expect(client_api.get(f"/api/v1/homeschool/guides/{g.pk}", **api), ok, f"API guide {name}")
        if not ok:
            expect(page.post(reverse("homeschool:guide_rate", args=[g.pk]), {"rating": "5"}), False, f"rate {name}")
            expect(client_api.post(f"/api/v1/homeschool/guides/{g.pk}/rating", {"rating": 5}, content_type="application/json", **api), False, "API rate")

    for name in ("visit_a1", "visit_b1"):
        v = objects[name]
        ok = user_key in VISIT[name]
        expect(page.get(reverse("homeschool:visit", args=[v.pk])), ok, f"visit {name}")
        expect(page.get(reverse("homeschool:visit_class", args=[v.school_class_id])), ok, f"visit class {name}")
        if not ok:
            expect(page.post(reverse("homeschool:visit", args=[v.pk]), {"status": "cancelled", "mode": "home"}), False, f"POST visit {name}")
    # Reading as an allowed user marks receipts read and guide reads; compare only what refused requests could touch.
    after = snapshot()
    assert before[2:5] == after[2:5] and before[6] == after[6], f"{user_key}: a refused request changed something"
    assert [r[2:] for r in before[1]] == [r[2:] for r in after[1]], f"{user_key}: replies or reminders changed"
    assert before[0] == after[0]

    # Lists never show another scope's objects.
    secrets = {k for k in ("notice_a1", "notice_b1", "notice_other") if user_key not in READ[k] | FOLLOW[k]}
    secrets |= {k for k in ("consult_a1", "consult_b1") if user_key not in THREAD[k]}
    secrets |= {k for k in ("guide_a1", "guide_other") if user_key not in GUIDE[k]}
    for url in (reverse("notices:inbox"), reverse("homeschool:consultations"), reverse("homeschool:guides"), "/api/v1/notices/inbox",
                "/api/v1/notices/sent", "/api/v1/homeschool/consultations", "/api/v1/homeschool/guides"):
        response = client_api.get(url, **api) if url.startswith("/api/") else page.get(url)
        if response.status_code == 302:  # staff-only lists send guardians elsewhere
            response = page.get(response.url)
        body = json.dumps(response.json(), ensure_ascii=False) if url.startswith("/api/") else response.content.decode()
        for secret in secrets:
            checks += 1
            assert f"〔{secret}〕" not in body, f"{user_key}: {url} shows {secret}"
    sent = page.get(reverse("notices:index"))
    if sent.status_code == 200:
        for secret in {k for k in ("notice_a1", "notice_b1", "notice_other") if user_key not in FOLLOW[k]}:
            assert f"〔{secret}〕" not in sent.content.decode(), f"{user_key}: sent list shows {secret}"
    assert checks >= 60
