"""The whole scope-leak walk: every object URL of the product — pages and API, every kind — is requested
with the id of every object of that kind in the test world, as every user of tests/world.py, whether or
not the user's own pages link to it (issue 12: the liaison and volunteers opened activities by id that no
list of theirs showed).

Who sees each object is written out by hand below, from the product rules (not computed from
core.scoping). For every (user, object, URL):
- outside the user's scope: 404 (403 for a page refused on a permission), nothing of the object in the
  answer, and a refused write changes nothing;
- inside it: the object's reading pages open (200) — at least one of them for each object;
- no answer, whatever its status, shows the name or title of an object the user may not see;
- the activity list shows exactly the upcoming activities the user may open, and the course catalogue
  exactly the courses.

An object URL of the resolver that is not classified in PAGES / API below fails the suite, so a new one
cannot skip this walk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from activities import services
from activities.models import (
    Activity,
    ActivityKind,
    ActivityPhoto,
    ActivitySession,
    CampaignComment,
    CampaignKind,
    CampaignPost,
    CheckIn,
    SignUp,
)
from activities.testing import make_activity, png_upload
from core.modules import modules
from courses import services as course_services
from courses.models import (
    Course,
    CourseBooking,
    Homework,
    Lesson,
    TopicRequest,
    TopicVote,
)
from homeschool import services as hs
from homeschool.models import Consultation, ConsultationMessage, HomeVisit
from ledger.models import Certificate
from ledger.services import certificates_sweep, credit
from messaging.models import Delivery
from messaging.services import Note, notify
from notices.models import Notice, NoticeAttachment
from org.models import OrgUnit
from people.models import Guardian, Student
from periods.services import school_year_ensure, school_year_start_for
from roster.models import ImportJob, JobStatus
from tests.test_notices_helpers import notice_settings, send  # noqa: F401
from tests.test_scope_leaks import EXPECTED
from tests.test_urls import iter_leaves

# --- Who sees what --------------------------------------------------------------------------------

A1_FAMILY = {"parent_a1", "grandparent_a1"}
DISTRICT_FAMILIES = A1_FAMILY | {"parent_a2", "parent_two_schools"}
# An activity or campaign of class A1: its families, staff who see its students, and its organisers.
SEES_A1 = A1_FAMILY | {"teacher_a1", "subject_teacher_a1", "psych_a", "health_vp_a", "school_admin_a", "district_admin", "street_staff_1"}
RUNS_A1 = {"teacher_a1", "school_admin_a", "district_admin", "street_staff_1"}
# A district-wide activity: every family of the district and every member of staff who sees students or
# organises activities there. Not the department liaison nor a volunteer, who see structure only.
SEES_DISTRICT = DISTRICT_FAMILIES | {
    "district_admin", "street_staff_1", "street_staff_2", "school_admin_a", "school_admin_b", "teacher_a1", "teacher_a2",
    "teacher_b1", "subject_teacher_a1", "psych_a", "health_vp_a", "grid_worker_1", "partner_contact",
}
SEES_B1 = {"parent_two_schools", "teacher_b1", "school_admin_b", "district_admin", "street_staff_2"}
SEES_OTHER = {"parent_other", "other_district_admin"}
# The parent school's catalogue is by structure: a school's courses for everyone whose line runs through it.
SEES_SCHOOL_A = SEES_A1 | {"liaison", "teacher_a2", "parent_a2", "parent_two_schools", "grid_worker_1"}
RUNS_COURSES_A = {"school_admin_a", "district_admin"}
# Notices: recipients read; senders and the staff above them follow (tests/test_notices_scope.py).
NOTICE_A1 = A1_FAMILY | {"teacher_a1", "school_admin_a", "district_admin"}
NOTICE_B1 = {"parent_two_schools", "teacher_b1", "school_admin_b", "district_admin"}
THREAD_A1 = {"parent_a1", "teacher_a1"}
THREAD_B1 = {"parent_two_schools", "teacher_b1"}
GUIDE_A1 = A1_FAMILY | {"teacher_a1", "subject_teacher_a1", "school_admin_a", "district_admin"}
VISITS = {
    "class_a1": {"teacher_a1", "school_admin_a", "district_admin"},
    "class_a2": {"teacher_a2", "school_admin_a", "district_admin"},
    "class_b1": {"teacher_b1", "school_admin_b", "district_admin"},
    "other_class": {"other_district_admin"},
}

# Page URL name → (kind of object its pk names, method), and API route (as the resolver writes it) →
# (kind, method): as each module declares them in its module.py (core.modules). "class" is a unit id of
# any kind (non-class units must be refused too). notices:class_report takes a notice and a class.
PAGES: dict[str, tuple[str, str]] = {name: spec for m in modules() for name, spec in m.object_pages.items()}
API: dict[str, tuple[str, str]] = {route: spec for m in modules() for route, spec in m.object_api.items()}
# The pages that read an object: a user who sees it opens at least one of them (the others may need a
# flag, e.g. a notice's figures for its sender, its reading page for a recipient).
READERS: dict[str, tuple[str, ...]] = {
    "unit": ("org:unit_detail",), "student": ("people:student_detail",), "job": ("roster:job",),
    "notice": ("notices:read", "notices:stats"), "notice_file": ("notices:attachment",),
    "consultation": ("homeschool:consultation",), "message": ("homeschool:message_attachment",), "guide": ("homeschool:guide",),
    "visit": ("homeschool:visit",), "class": ("homeschool:visit_class",), "activity": ("activities:detail",),
    "photo": ("activities:photo",), "campaign": ("activities:campaign",), "post_photo": ("activities:campaign_photo",),
    "course": ("courses:detail",), "lesson": ("courses:lesson",), "certificate": ("courses:certificate",),
    "delivery": ("messaging:open",),
}
POST_DATA = {"self": "1", "stars": "5", "comment": "x", "text": "x", "feedback": "x", "decision": "approve", "note": "x", "minutes": "x",
             "capacity": "1", "featured": "1", "position": "5", "title": "x", "hours": "1", "order": "2", "reason": "x", "choice": "confirm",
             "body": "x", "rating": "5", "active": "0", "vote": "1"}
API_DATA = {"include_self": True, "student_ids": [], "token": "x", "position": 5, "choice": "confirm", "reason": "x", "body": "x", "rating": 5,
            "vote": True}
# Names an organiser sees by design on the pages of what they organise: the families who took part (to
# check them in), and on the edit form the district's units offered as co-organisers.
PARTICIPANTS = {
    "act_a1": {"child_a1", "parent_a1"}, "session:act_a1": {"child_a1", "parent_a1"},
    "act_b1": {"child_b1", "parent_two_schools"}, "session:act_b1": {"child_b1", "parent_two_schools"},
    "camp_a1": {"child_a1", "parent_a1"},
}
RUNS_B1 = {"school_admin_b", "district_admin", "street_staff_2"}  # act_b1 is run by school B
ORGANISERS = {"act_a1": RUNS_A1, "session:act_a1": RUNS_A1, "camp_a1": RUNS_A1, "act_b1": RUNS_B1, "session:act_b1": RUNS_B1}
CO_ORGANISER_CHOICES = {"activities:edit"}
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
PDF = b"%PDF-1.4\n%%EOF\n"

EVIDENCE: dict[str, int] = {}


def _marker(key: str) -> str:
    return f"〔{key}〕"


@pytest.fixture
def objects(world, notice_settings, django_capture_on_commit_callbacks):  # noqa: F811
    """Objects of every kind at several scopes, keyed, each with the users who may see it."""
    w = world
    for bag, model in ((w.units, OrgUnit), (w.students, Student), (w.guardians, Guardian)):
        for key, obj in bag.items():
            model.objects.filter(pk=obj.pk).update(name=_marker(key))
            obj.name = _marker(key)
    o: dict[str, tuple[str, object, set[str]]] = {}
    for key, unit in w.units.items():
        o[key] = ("unit", unit, {u for u, e in EXPECTED.items() if key in e.units})
        o[f"visits:{key}"] = ("class", unit, VISITS.get(key, set()))
    for key, student in w.students.items():
        o[key] = ("student", student, {u for u, e in EXPECTED.items() if key in e.students})

    soon = dt.timedelta(minutes=10)
    act_a1, s_a1 = make_activity(actor=w.teacher_a1, owner=w.class_a1, starts_in=soon, kind=ActivityKind.PARENT_MEETING,
                                 title=_marker("act_a1"), capacity=20)
    services.minutes_save(actor=w.teacher_a1, activity=act_a1, text=_marker("minutes_a1"))
    act_dist, s_dist = make_activity(actor=w.district_admin, owner=w.district, title=_marker("act_dist"), kind=ActivityKind.PUBLIC_LECTURE)
    act_b1, s_b1 = make_activity(actor=w.school_admin_b, owner=w.school_b, audience_units=[w.class_b1], title=_marker("act_b1"))
    act_other, s_other = make_activity(actor=w.other_district_admin, owner=w.other_class, title=_marker("act_other"))
    pending, s_pending = make_activity(actor=w.teacher_a1, owner=w.class_a1, title=_marker("pending_a1"), off_campus=True,
                                       safety_plan="预案", responsible_name="王老师", responsible_contact="123", venue="博物馆")
    assert pending.status == "pending"
    signup_a1 = services.signup_create(actor=w.parent_a1, session_id=s_a1.pk, include_self=True, student_ids=[w.child_a1.pk])
    services.checkin_self(actor=w.parent_a1, session_id=s_a1.pk, include_self=True, student_ids=[])
    signup_b1 = services.signup_create(actor=w.parent_two_schools, session_id=s_b1.pk, include_self=True, student_ids=[w.child_b1.pk])
    photo_a1 = services.photos_add(actor=w.teacher_a1, activity=act_a1, files=[png_upload()])[0]
    for key, act, sess, sees in (("act_a1", act_a1, s_a1, SEES_A1), ("act_dist", act_dist, s_dist, SEES_DISTRICT),
                                 ("act_b1", act_b1, s_b1, SEES_B1), ("act_other", act_other, s_other, SEES_OTHER),
                                 ("pending_a1", pending, s_pending, RUNS_A1)):
        o[key] = ("activity", act, sees)
        o[f"session:{key}"] = ("session", sess, sees)
    o["signup_a1"] = ("signup", signup_a1, A1_FAMILY | RUNS_A1)
    o["signup_b1"] = ("signup", signup_b1, SEES_B1)
    o["photo_a1"] = ("photo", photo_a1, SEES_A1)

    today = timezone.localdate()
    camp_a1 = services.campaign_create(actor=w.teacher_a1, owner_unit=w.class_a1, audience_units=[w.class_a1], kind=CampaignKind.READING,
                                       title=_marker("camp_a1"), description="", starts_on=today, ends_on=today)
    camp_dist = services.campaign_create(actor=w.district_admin, owner_unit=w.district, audience_units=[w.district],
                                         kind=CampaignKind.SIX_ONES, title=_marker("camp_dist"), description="", starts_on=today, ends_on=today)
    camp_other = services.campaign_create(actor=w.other_district_admin, owner_unit=w.other_district, audience_units=[w.other_district],
                                          kind=CampaignKind.READING, title=_marker("camp_other"), description="", starts_on=today, ends_on=today)
    post_a1 = services.campaign_post_create(actor=w.parent_a1, campaign=camp_a1, student_id=w.child_a1.pk, text=_marker("post_a1"),
                                            files=[png_upload()])
    post_other = services.campaign_post_create(actor=w.parent_other, campaign=camp_other, student_id=w.child_other.pk,
                                               text=_marker("post_other"), files=[png_upload()])
    o["camp_a1"] = ("campaign", camp_a1, SEES_A1)
    o["camp_dist"] = ("campaign", camp_dist, SEES_DISTRICT)
    o["camp_other"] = ("campaign", camp_other, SEES_OTHER)
    o["post_a1"] = ("post", post_a1, A1_FAMILY | RUNS_A1)
    o["post_other"] = ("post", post_other, SEES_OTHER)
    o["post_photo_a1"] = ("post_photo", post_a1.photos.get(), A1_FAMILY | RUNS_A1)
    o["post_photo_other"] = ("post_photo", post_other.photos.get(), SEES_OTHER)

    courses = {}
    for key, actor, owner in (("course_a", w.school_admin_a, w.school_a), ("course_other", w.other_district_admin, w.other_school)):
        course = course_services.course_create(actor=actor, owner_unit=owner, title=_marker(key), category="basic", stage="primary",
                                               mode="recorded")
        lesson = course_services.lesson_create(actor=actor, course=course, title=_marker(key.replace("course", "lesson")), hours="1", duration_seconds=60,
                                               video=SimpleUploadedFile("v.mp4", MP4))
        course_services.course_publish(actor=actor, course=course)
        courses[key] = (course, lesson)
    o["course_a"] = ("course", courses["course_a"][0], SEES_SCHOOL_A)
    o["lesson_a"] = ("lesson", courses["course_a"][1], SEES_SCHOOL_A)
    o["course_other"] = ("course", courses["course_other"][0], SEES_OTHER)
    o["lesson_other"] = ("lesson", courses["course_other"][1], SEES_OTHER)
    homework = course_services.homework_submit(actor=w.parent_a1, lesson=courses["course_a"][1], text=_marker("homework_a1"))
    o["homework_a1"] = ("homework", homework, {"parent_a1"} | RUNS_COURSES_A)
    school_year_ensure(district=w.district, start_year=school_year_start_for(today))
    credit(guardian_ids=[w.guardians["parent_a1"].pk], source="activity.session:999999", hours=8, day=today,
           title="x", school_id=None, district_id=w.district.pk)
    certificates_sweep()
    o["certificate_a1"] = ("certificate", Certificate.objects.get(), {"parent_a1"} | RUNS_COURSES_A)
    topic = course_services.topic_propose(actor=w.parent_a1, school=w.school_a, stage="primary", title=_marker("topic_a"))
    o["topic_a"] = ("topic", topic, SEES_SCHOOL_A)

    cap = django_capture_on_commit_callbacks
    notice_a1 = send(cap, w.teacher_a1, [w.class_a1], reply_kind="confirm", title=_marker("notice_a1"))
    att = NoticeAttachment(notice=notice_a1, original_name="a1.pdf", content_type="application/pdf", size=len(PDF))
    att.file.save("x", SimpleUploadedFile("a1.pdf", PDF), save=True)
    o["notice_a1"] = ("notice", notice_a1, NOTICE_A1)
    o["notice_file_a1"] = ("notice_file", att, NOTICE_A1)
    o["notice_b1"] = ("notice", send(cap, w.teacher_b1, [w.class_b1], reply_kind="confirm", title=_marker("notice_b1")), NOTICE_B1)
    o["notice_other"] = ("notice", send(cap, w.other_district_admin, [w.other_district], reply_kind="confirm",
                                        title=_marker("notice_other")), SEES_OTHER)
    consult_a1 = hs.consultation_ask(actor=w.parent_a1, student=w.child_a1, target="teacher", subject=_marker("consult_a1"), body="…",
                                     attachment=("a.pdf", PDF, "application/pdf"))
    o["consult_a1"] = ("consultation", consult_a1, THREAD_A1)
    o["message_a1"] = ("message", consult_a1.messages.get(), THREAD_A1)
    o["consult_b1"] = ("consultation", hs.consultation_ask(actor=w.parent_two_schools, student=w.child_b1, target="teacher",
                                                           subject=_marker("consult_b1"), body="…"), THREAD_B1)
    o["guide_a1"] = ("guide", hs.guide_publish(actor=w.teacher_a1, author_unit=w.class_a1, title=_marker("guide_a1"), body="…",
                                               topic="emotion"), GUIDE_A1)
    o["guide_other"] = ("guide", hs.guide_publish(actor=w.other_district_admin, author_unit=w.other_district, title=_marker("guide_other"),
                                                  body="…", topic="emotion"), SEES_OTHER)
    o["visit_a1"] = ("visit", hs.visit_plan(actor=w.teacher_a1, student=w.child_a1, planned_for=today), VISITS["class_a1"])
    o["visit_b1"] = ("visit", hs.visit_plan(actor=w.teacher_b1, student=w.child_b1, planned_for=today), VISITS["class_b1"])
    # In-app messages: each is its recipient's own, as a guardian or as an account (no link: the message shows itself).
    for key, recipient, sees in (("delivery_a1", w.guardians["parent_a1"], {"parent_a1"}), ("delivery_teacher_a1", w.teacher_a1, {"teacher_a1"}),
                                 ("delivery_other", w.guardians["parent_other"], {"parent_other"})):
        notify([recipient], Note(title=_marker(key), body=_marker(key), source="test:walk"), key=f"walk:{key}")
        o[key] = ("delivery", Delivery.objects.get(message__key=f"walk:{key}"), sees)
    job = ImportJob.objects.create(district=w.district, school=w.school_a, created_by=w.school_admin_a, status=JobStatus.READY,
                                   file_name="roster/imports/x.xlsx", original_name=_marker("job_a") + ".xlsx", counts={"rows": {}})
    o["job_a"] = ("job", job, {"school_admin_a"})
    return w, o


def _state() -> str:
    """A digest of what a refused write could change."""
    parts = [
        list(OrgUnit.objects.order_by("pk").values_list("pk", "name", "is_active", "invite_code")),
        list(Student.objects.order_by("pk").values_list("pk", "name", "is_active")),
        list(Activity.objects.order_by("pk").values_list("pk", "status", "minutes", "title")),
        list(ActivitySession.objects.order_by("pk").values_list("pk", "capacity", "places_taken")),
        list(SignUp.objects.order_by("pk").values_list("pk", "status")), CheckIn.objects.count(), ActivityPhoto.objects.count(),
        CampaignComment.objects.count(), list(CampaignPost.objects.order_by("pk").values_list("pk", "featured")),
        Activity.ratings.rel.related_model.objects.count(), list(Course.objects.order_by("pk").values_list("pk", "status")),
        Lesson.objects.count(), CourseBooking.objects.count(), list(Homework.objects.order_by("pk").values_list("pk", "text", "feedback")),
        list(TopicRequest.objects.order_by("pk").values_list("pk", "status")), TopicVote.objects.count(),
        list(Notice.objects.order_by("pk").values_list("pk", "status")), ConsultationMessage.objects.count(),
        list(Consultation.objects.order_by("pk").values_list("pk", "status")),
        list(HomeVisit.objects.order_by("pk").values_list("pk", "status")), list(ImportJob.objects.order_by("pk").values_list("pk", "status")),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _body(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            return json.dumps(json.loads(raw), ensure_ascii=False)
        except ValueError:
            pass
    return raw.decode("utf-8", "replace")


def _page_urls(name, kind, obj, w):
    if name == "notices:class_report":
        return [reverse(name, args=[obj.pk, w.units[c].pk]) for c in ("class_a1", "class_b1", "other_class")]
    return [reverse(name, args=[obj.pk])]


def _api_url(route, obj):
    return "/" + re.sub(r"<[^>]+>", str(obj.pk), route)


def test_every_object_url_is_classified():
    unclassified = []
    for leaf in iter_leaves():
        if leaf.route.startswith("ops/admin/") or "<" not in leaf.route:
            continue
        if leaf.route.startswith("api/"):
            if leaf.route not in API:
                unclassified.append(leaf.label)
        elif leaf.name not in PAGES:
            unclassified.append(leaf.label)
    assert not unclassified, "Object URLs this walk does not request — declare them in their module.py (object_pages / object_api):\n" + "\n".join(unclassified)
    names = {leaf.name for leaf in iter_leaves()}
    assert set(PAGES) <= names, set(PAGES) - names
    assert set(READERS) <= {k for k, _m in PAGES.values()}


def _walk_user(w, o, user_key, user, upcoming, failures) -> int:
    """One user against every object URL; returns the number of checks made."""
    checks = 0
    page = Client()
    page.force_login(user)
    _t, key = ApiToken.issue(user=user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    hidden = {k for k, (_kind, _obj, sees) in o.items() if user_key not in sees}
    hidden_names = [_marker(k) for k in hidden if not k.startswith(("visits:", "session:"))]
    hidden_names += [_marker("minutes_a1")] if "act_a1" in hidden else []
    hidden_names += [s.student_no for k, s in w.students.items() if k in hidden]
    hidden_names += [g.name for k, g in w.guardians.items() if k not in EXPECTED[user_key].guardians]
    secret_re = re.compile("|".join(re.escape(s) for s in hidden_names)) if hidden_names else None
    before = _state()

    district_units = {_marker(k) for k, u in w.units.items() if u.district_id in {w.units[x].district_id for x in EXPECTED[user_key].units}}

    def look(response, where, obj_key=None, name=None):
        nonlocal checks
        checks += 1
        if response.status_code >= 500:
            failures.append(f"{user_key}: {where} → {response.status_code}")
        found = set(secret_re.findall(_body(response))) if secret_re else set()
        if user_key in ORGANISERS.get(obj_key, ()):
            found -= {_marker(k) for k in PARTICIPANTS[obj_key]}
        if name in CO_ORGANISER_CHOICES:
            found -= district_units
        if found:
            failures.append(f"{user_key}: {where} ({response.status_code}) shows {sorted(found)}")

    for obj_key, (kind, obj, sees) in o.items():
        visible = user_key in sees
        opened = []
        for name, (k, method) in PAGES.items():
            if k != kind or (visible and method == "POST"):
                continue  # allowed writes are the modules' own tests
            for url in _page_urls(name, kind, obj, w):
                response = page.get(url) if method == "GET" else page.post(url, POST_DATA)
                look(response, f"{method} {name} {obj_key}", obj_key, name)
                if not visible and response.status_code not in (403, 404):
                    failures.append(f"{user_key}: {method} {name} {obj_key} (hidden) → {response.status_code}, expected 404")
                if visible and response.status_code == 200:
                    opened.append(name)
        for route, (k, method) in API.items():
            if k != kind or (visible and method == "POST"):
                continue
            url = _api_url(route, obj)
            response = api.get(url) if method == "GET" else api.post(url, API_DATA, content_type="application/json")
            look(response, f"API {method} {route} {obj_key}")
            if not visible and response.status_code not in (403, 404):
                failures.append(f"{user_key}: API {method} {route} {obj_key} (hidden) → {response.status_code}, expected 404")
        readers = READERS.get(kind, ())
        if visible and readers and not set(readers) & set(opened):
            failures.append(f"{user_key}: sees {obj_key} but none of {readers} opens")
    if _state() != before:
        failures.append(f"{user_key}: a refused request changed the database")

    # The lists draw from the same scope as the pages above.
    response = page.get(reverse("activities:list"))
    look(response, "activities:list")
    body = _body(response)
    listed = {k for k in upcoming if _marker(k) in body}
    if listed != {k for k in upcoming if user_key in o[k][2]}:
        failures.append(f"{user_key}: the activity list shows {sorted(listed)}, the detail pages open {sorted(k for k in upcoming if user_key in o[k][2])}")
    response = page.get(reverse("courses:catalogue"))
    look(response, "courses:catalogue")
    body = _body(response)
    listed = {k for k in ("course_a", "course_other") if _marker(k) in body}
    if listed != {k for k in ("course_a", "course_other") if user_key in o[k][2]}:
        failures.append(f"{user_key}: the catalogue shows {sorted(listed)}")
    for url in ("/api/v1/activities/", reverse("activities:campaigns"), "/api/v1/messages", reverse("messaging:inbox")):
        response = api.get(url) if url.startswith("/api/") else page.get(url)
        look(response, url)
    return checks

def test_every_object_url_as_every_user(objects, record_property, capsys):
    w, o = objects
    assert set(EXPECTED) == set(w.users)
    failures: list[str] = []
    checks = 0
    upcoming = {k for k, (kind, obj, _s) in o.items() if kind == "activity" and obj.status == "published"}
    for user_key, user in w.users.items():
        checks += _walk_user(w, o, user_key, user, upcoming, failures)
        EVIDENCE[user_key] = checks
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:200])
    record_property("evidence", f"every-object scope walk: {checks} checks ({len(w.users)} users x {len(o)} objects x every object URL, pages and API)")
    with capsys.disabled():
        print(f"\nevery-object scope walk: {checks} checks ({len(w.users)} users × {len(o)} objects × every object URL, pages and API)")
    assert checks >= 5000, checks
