"""Scope walk for activities, campaigns and the parent school (tests/test_scope_leaks.py hands these
URLs over here through WALKED_ELSEWHERE): every object URL, for every user of tests/world.py.

Objects live in class A1 / school A. For each URL the users who may reach the object are written out
by hand below (from the product rules, not computed from core.scoping); every other user must get a
404 whose body does not name the object, and a refused write must leave the database as it was."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from activities import qr, services
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
from courses import services as course_services
from courses.models import (
    Course,
    CourseBooking,
    Homework,
    Lesson,
    LessonWatch,
    TopicRequest,
    TopicVote,
)
from ledger.models import Certificate
from ledger.services import certificates_sweep, credit
from periods.services import school_year_ensure, school_year_start_for

# Who may reach what (everyone else: 404).
A1_FAMILY = {"parent_a1", "grandparent_a1"}
# A published activity or a campaign for class A1: its families, the staff who see its students or organise
# for it. Not a role that only sees the district's structure (the liaison): the activity list shows them none.
SEES_A1 = A1_FAMILY | {"teacher_a1", "subject_teacher_a1", "psych_a", "health_vp_a", "school_admin_a", "district_admin", "street_staff_1"}
# Organisers (activities.manage on class A1): its class teacher, the school, the street work station, the district.
RUNS_A1 = {"teacher_a1", "school_admin_a", "district_admin", "street_staff_1"}
APPROVES_A = {"school_admin_a", "district_admin"}
# A school A course or demand topic: everyone whose line runs through school A.
# (The catalogue lists courses by structure, so the liaison sees them there and by id alike.)
SEES_SCHOOL_A = SEES_A1 | {"liaison", "teacher_a2", "parent_a2", "parent_two_schools", "grid_worker_1"}
RUNS_COURSES_A = {"school_admin_a", "district_admin"}

OBJECT_PAGES = {
    # name: (object, method, who may reach it)
    "activities:detail": ("activity", "GET", SEES_A1),
    "activities:edit": ("activity", "GET", RUNS_A1),
    "activities:submit": ("activity", "POST", RUNS_A1),
    "activities:approve": ("pending", "POST", APPROVES_A),
    "activities:cancel": ("activity", "POST", RUNS_A1),
    "activities:session_add": ("activity", "POST", RUNS_A1),
    "activities:rate": ("activity", "POST", SEES_A1),
    "activities:photos": ("activity", "POST", RUNS_A1),
    "activities:minutes": ("activity", "POST", RUNS_A1),
    "activities:photo": ("photo", "GET", SEES_A1),
    "activities:signup": ("session", "POST", SEES_A1),
    "activities:capacity": ("session", "POST", RUNS_A1),
    "activities:qr": ("session", "GET", RUNS_A1),
    "activities:qr_live": ("session", "GET", RUNS_A1),
    "activities:attendance": ("session", "GET", RUNS_A1),
    "activities:export": ("session", "GET", RUNS_A1),
    "activities:signup_cancel": ("signup", "POST", A1_FAMILY | RUNS_A1),
    "activities:checkin": ("session", "GET", SEES_A1),
    "activities:campaign": ("campaign", "GET", SEES_A1),
    "activities:campaign_post": ("campaign", "POST", SEES_A1),
    "activities:post_comment": ("post", "POST", A1_FAMILY | RUNS_A1),
    "activities:post_feature": ("post", "POST", A1_FAMILY | RUNS_A1),
    "activities:campaign_photo": ("post_photo", "GET", A1_FAMILY | RUNS_A1),
    "courses:detail": ("course", "GET", SEES_SCHOOL_A),
    "courses:publish": ("course", "POST", RUNS_COURSES_A),
    "courses:book": ("course", "POST", SEES_SCHOOL_A),
    "courses:rate": ("course", "POST", SEES_SCHOOL_A),
    "courses:lesson_create": ("course", "POST", RUNS_COURSES_A),
    "courses:homework_review": ("course", "GET", RUNS_COURSES_A),
    "courses:lesson": ("lesson", "GET", SEES_SCHOOL_A),
    "courses:lesson_schedule": ("lesson", "POST", RUNS_COURSES_A),
    "courses:lesson_progress": ("lesson", "POST", SEES_SCHOOL_A),
    "courses:lesson_video": ("lesson", "GET", SEES_SCHOOL_A),
    "courses:homework_submit": ("lesson", "POST", SEES_SCHOOL_A),
    "courses:homework_feedback": ("homework", "POST", RUNS_COURSES_A),
    "courses:certificate": ("certificate", "GET", {"parent_a1"} | RUNS_COURSES_A),
    "courses:topic_vote": ("topic", "POST", SEES_SCHOOL_A),
    "courses:topic_adopt": ("topic", "POST", RUNS_COURSES_A),
}
OBJECT_API = {
    "api/v1/activities/sessions/<session_id>/signup": ("api-v1:activity_signup", "session", SEES_A1),
    "api/v1/activities/signups/<signup_id>/cancel": ("api-v1:activity_signup_cancel", "signup", A1_FAMILY | RUNS_A1),
    "api/v1/activities/sessions/<session_id>/checkin": ("api-v1:activity_checkin", "session", SEES_A1),
    "api/v1/courses/lessons/<lesson_id>/progress": ("api-v1:lesson_progress", "lesson", SEES_SCHOOL_A),
    "api/v1/courses/topics/<topic_id>/vote": ("api-v1:topic_vote", "topic", SEES_SCHOOL_A),
}
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}


def _objects(w) -> dict:
    activity, session = make_activity(actor=w.teacher_a1, owner=w.class_a1, starts_in=dt.timedelta(minutes=10),
                                      kind=ActivityKind.PARENT_MEETING, title="〔A1家长会〕", capacity=20)
    signup = services.signup_create(actor=w.parent_a1, session_id=session.pk, include_self=True, student_ids=[w.child_a1.pk])
    services.checkin_self(actor=w.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    photo = services.photos_add(actor=w.teacher_a1, activity=activity, files=[png_upload()])[0]
    pending, _s = make_activity(actor=w.teacher_a1, owner=w.class_a1, title="〔A1研学〕", off_campus=True, safety_plan="预案",
                                responsible_name="王老师", responsible_contact="123", venue="博物馆")
    today = timezone.localdate()
    campaign = services.campaign_create(actor=w.teacher_a1, owner_unit=w.class_a1, audience_units=[w.class_a1], kind=CampaignKind.READING,
                                        title="〔A1共读〕", description="", starts_on=today, ends_on=today)
    post = services.campaign_post_create(actor=w.parent_a1, campaign=campaign, student_id=w.child_a1.pk, text="〔A1打卡〕",
                                         files=[png_upload()])
    course = course_services.course_create(actor=w.school_admin_a, owner_unit=w.school_a, title="〔A校课程〕", category="basic",
                                           stage="primary", mode="recorded")
    lesson = course_services.lesson_create(actor=w.school_admin_a, course=course, title="〔A校第一讲〕", hours="1", duration_seconds=60,
                                           video=SimpleUploadedFile("v.mp4", MP4))
    course_services.course_publish(actor=w.school_admin_a, course=course)
    homework = course_services.homework_submit(actor=w.parent_a1, lesson=lesson, text="〔A1作业〕")
    school_year_ensure(district=w.district, start_year=school_year_start_for(today))
    credit(guardian_ids=[w.guardians["parent_a1"].pk], source="activity.session:999999", hours=8, day=today,
           title="x", school_id=None, district_id=w.district.pk)
    certificates_sweep()  # the worker's job after the credit commits
    topic = course_services.topic_propose(actor=w.parent_a1, school=w.school_a, stage="primary", title="〔A校点单〕")
    return {
        "activity": activity, "session": session, "signup": signup, "photo": photo, "pending": pending, "campaign": campaign,
        "post": post, "post_photo": post.photos.get(), "course": course, "lesson": lesson, "homework": homework,
        "certificate": Certificate.objects.get(), "topic": topic,
    }


def _state() -> str:
    """A digest of everything these URLs could change."""
    parts = [
        list(Activity.objects.order_by("pk").values_list("pk", "status", "minutes", "title")),
        list(ActivitySession.objects.order_by("pk").values_list("pk", "capacity", "places_taken")),
        list(SignUp.objects.order_by("pk").values_list("pk", "status")),
        CheckIn.objects.count(), ActivityPhoto.objects.count(), CampaignComment.objects.count(),
        list(CampaignPost.objects.order_by("pk").values_list("pk", "featured")), Activity.ratings.rel.related_model.objects.count(),
        list(Course.objects.order_by("pk").values_list("pk", "status")), Lesson.objects.count(), CourseBooking.objects.count(),
        list(Homework.objects.order_by("pk").values_list("pk", "text", "feedback")), LessonWatch.objects.count(),
        list(TopicRequest.objects.order_by("pk").values_list("pk", "status")), TopicVote.objects.count(),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


POST_DATA = {"self": "1", "stars": "5", "comment": "x", "text": "x", "feedback": "x", "decision": "approve", "note": "x",
             "minutes": "x", "capacity": "1", "featured": "1", "position": "5", "title": "x", "hours": "1", "order": "2"}


def test_every_activity_and_course_url_against_every_user(world):
    objs = _objects(world)
    objs["student"] = world.child_a1
    POST_DATA["student"] = str(world.child_a1.pk)
    secrets = ["〔A1家长会〕", "〔A1研学〕", "〔A1共读〕", "〔A1打卡〕", "〔A1作业〕"]
    checks = 0
    failures = []
    for user_key, user in world.users.items():
        page = Client()
        page.force_login(user)
        page.get(reverse("activities:checkin", args=[objs["session"].pk]), {"t": qr.make_token(objs["session"].pk)})  # a live scan
        _t, key = ApiToken.issue(user=user)
        api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        for name, (obj_key, method, allowed) in OBJECT_PAGES.items():
            url = reverse(name, args=[objs[obj_key].pk])
            if user_key in allowed:
                if method == "GET":
                    resp = page.get(url)
                    checks += 1
                    if resp.status_code == 404:
                        failures.append(f"{user_key} GET {name} → 404 but should reach it")
                continue
            before = _state()
            resp = page.get(url) if method == "GET" else page.post(url, POST_DATA)
            checks += 1
            body = b"".join(resp.streaming_content) if resp.streaming else resp.content
            if resp.status_code != 404:
                failures.append(f"{user_key} {method} {name} → {resp.status_code}, expected 404")
            leaked = [s for s in secrets if s.encode() in body]
            if leaked:
                failures.append(f"{user_key} {method} {name} shows {leaked}")
            if method == "POST" and _state() != before:
                failures.append(f"{user_key} POST {name} changed the database")
        for route, (name, obj_key, allowed) in OBJECT_API.items():
            url = reverse(name, args=[objs[obj_key].pk])
            payload = {"include_self": True, "student_ids": [], "token": qr.make_token(objs["session"].pk), "position": 5}
            before = _state()
            resp = api.post(url, payload, content_type="application/json")
            checks += 1
            if user_key in allowed:
                if resp.status_code == 404:
                    failures.append(f"{user_key} POST {route} → 404 but should reach it")
                continue
            if resp.status_code != 404:
                failures.append(f"{user_key} POST {route} → {resp.status_code}, expected 404")
            if _state() != before:
                failures.append(f"{user_key} POST {route} changed the database")
    assert not failures, "\n".join(failures)
    # Every user × every URL, less the writes by users allowed to make them (not replayed here).
    assert checks >= 750, checks


def test_lists_hold_no_other_family(world):
    """List pages and API lists for a family of class A2 mention nothing of class A1's families."""
    _objects(world)
    c = Client()
    c.force_login(world.parent_a2)
    for url in [reverse("activities:list"), reverse("activities:campaigns"), reverse("courses:catalogue"), reverse("courses:topics"),
                reverse("courses:hours")]:
        body = c.get(url).content
        for secret in ("〔A1家长会〕", "〔A1打卡〕", "〔A1作业〕", "parent_a1"):
            assert secret.encode() not in body, (url, secret)
    _t, key = ApiToken.issue(user=world.parent_a2)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get(reverse("api-v1:activity_my_signups")).json()["count"] == 0
    assert all(item["title"] != "〔A1家长会〕" for item in api.get(reverse("api-v1:activity_list")).json()["items"])
    assert api.get(reverse("api-v1:course_hours")).json()["total"] == 0
