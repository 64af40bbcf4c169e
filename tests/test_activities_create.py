"""Creating activities: audiences only in the organiser's scope, co-organising units, and the school
admin's approval of off-campus activities before sign-up opens."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from activities import services
from activities.models import Activity, ActivityKind, ActivityStatus
from activities.testing import make_activity

OFF_CAMPUS = {
    "off_campus": True, "safety_plan": "乘大巴往返，每车2名教师随行，配备急救包。", "responsible_name": "王老师",
    "responsible_contact": "0571-88886666", "venue": "区博物馆", "kind": ActivityKind.STUDY_TOUR, "title": "博物馆研学",
}


def test_teacher_creates_for_own_class_only(world):
    activity, _s = make_activity(actor=world.teacher_a1, owner=world.class_a1)
    assert activity.status == ActivityStatus.PUBLISHED
    with pytest.raises(ValidationError) as e:
        make_activity(actor=world.teacher_a1, owner=world.class_a1, audience_units=[world.class_a2])
    assert e.value.code == "audience_out_of_scope"
    with pytest.raises(PermissionDenied):
        make_activity(actor=world.teacher_a1, owner=world.school_a)
    with pytest.raises(PermissionDenied):
        make_activity(actor=world.parent_a1, owner=world.class_a1)
    assert Activity.objects.count() == 1


def test_school_and_community_co_organise(world):
    activity, session = make_activity(
        actor=world.school_admin_a, owner=world.school_a, co_organisers=[world.community_1, world.partner], kind=ActivityKind.COMMUNITY_CLASS
    )
    assert set(activity.co_organisers.all()) == {world.community_1, world.partner}
    # The partner's contact runs the check-in with the school, though the audience is the school's families.
    assert services.can_manage(world.partner_contact, activity)
    assert services.can_manage(world.grid_worker_1, activity)
    assert not services.can_manage(world.street_staff_2, activity)
    assert activity in Activity.objects.visible_to(world.partner_contact)
    with pytest.raises(ValidationError) as e:
        make_activity(actor=world.school_admin_a, owner=world.school_a, co_organisers=[world.other_school])
    assert e.value.code == "co_organiser_other_district"


def test_off_campus_needs_safety_plan_and_responsible_person(world):
    with pytest.raises(ValidationError) as e:
        make_activity(actor=world.teacher_a1, owner=world.class_a1, off_campus=True, venue="区博物馆")
    assert e.value.code == "safety_required"
    assert "安全预案" in e.value.messages[0] and "安全责任人" in e.value.messages[0]


def test_off_campus_waits_for_school_admin_approval(world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, **OFF_CAMPUS)
    assert activity.status == ActivityStatus.PENDING
    # Guardians do not see it yet and cannot sign up.
    assert activity not in Activity.objects.visible_to(world.parent_a1)
    # The teacher cannot approve their own; the other school's admin cannot either.
    with pytest.raises(PermissionDenied):
        services.activity_approve(actor=world.teacher_a1, activity=activity, approve=True)
    with pytest.raises(PermissionDenied):
        services.activity_approve(actor=world.school_admin_b, activity=activity, approve=True)
    with pytest.raises(ValidationError) as e:
        services.activity_approve(actor=world.school_admin_a, activity=activity, approve=False, note="")
    assert e.value.code == "reason_required"
    services.activity_approve(actor=world.school_admin_a, activity=activity, approve=True)
    assert activity.status == ActivityStatus.PUBLISHED
    s = services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    assert s.pk
    # Changing the safety plan after approval sends it back for approval: no more sign-ups meanwhile.
    services.activity_update(actor=world.teacher_a1, activity=activity, safety_plan="改为步行前往，全程教师带队。")
    assert activity.status == ActivityStatus.PENDING
    with pytest.raises(Http404):  # not visible to guardians while pending
        services.signup_create(actor=world.grandparent_a1, session_id=session.pk, include_self=True, student_ids=[])


def test_rejected_activity_returns_to_organiser(client, world):
    activity, _s = make_activity(actor=world.teacher_a1, owner=world.class_a1, **OFF_CAMPUS)
    client.force_login(world.school_admin_b)
    assert client.post(reverse("activities:approve", args=[activity.pk]), {"decision": "approve"}).status_code == 404
    client.force_login(world.school_admin_a)
    page = client.get(reverse("activities:detail", args=[activity.pk]))
    assert b'data-testid="approval-box"' in page.content
    client.post(reverse("activities:approve", args=[activity.pk]), {"decision": "reject", "note": "请补充返程安排"})
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.REJECTED and activity.approval_note == "请补充返程安排"
    services.activity_submit(actor=world.teacher_a1, activity=activity)
    assert activity.status == ActivityStatus.PENDING


def test_create_through_the_form(client, world):
    client.force_login(world.teacher_a1)
    page = client.get(reverse("activities:create"))
    assert page.status_code == 200
    start = (timezone.localtime() + dt.timedelta(days=3)).replace(second=0, microsecond=0)
    data = {
        "kind": ActivityKind.PARENT_MEETING, "title": "三(1)班家长会", "owner_unit": world.class_a1.pk, "audience_units": [world.class_a1.pk],
        "audience": "guardians", "venue": "三(1)班教室", "max_party_size": 2, "credited_hours": "1.5",
        "s-starts_at": start.strftime("%Y-%m-%dT%H:%M"), "s-ends_at": (start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "s-capacity": "",
    }
    resp = client.post(reverse("activities:create"), data)
    assert resp.status_code == 302, resp.content.decode()[:3000]
    activity = Activity.objects.get()
    assert activity.status == ActivityStatus.DRAFT and activity.sessions.count() == 1
    # A class outside the teacher's scope is not even offered (the form refuses it).
    data["audience_units"] = [world.class_a2.pk]
    resp = client.post(reverse("activities:create"), data)
    assert resp.status_code == 200 and Activity.objects.count() == 1
    client.post(reverse("activities:submit", args=[activity.pk]))
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PUBLISHED


def test_guardian_cannot_open_staff_pages(client, world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1)
    client.force_login(world.parent_a1)
    for url in [
        reverse("activities:create"), reverse("activities:edit", args=[activity.pk]), reverse("activities:qr", args=[session.pk]),
        reverse("activities:attendance", args=[session.pk]), reverse("activities:export", args=[session.pk]),
        reverse("activities:coverage"), reverse("activities:campaign_create"),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("activities:cancel", args=[activity.pk])).status_code == 404
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PUBLISHED


def test_cancel_frees_everything(world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, capacity=5)
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    services.activity_cancel(actor=world.teacher_a1, activity=activity)
    session.refresh_from_db()
    assert session.places_taken == 0
    assert not activity.signups.exclude(status="cancelled").exists()


def test_publishing_announces_through_notices(world, django_capture_on_commit_callbacks):
    notices = pytest.importorskip("notices.models")
    with django_capture_on_commit_callbacks(execute=True):
        activity, _s = make_activity(actor=world.teacher_a1, owner=world.class_a1, announce=True, title="亲子运动会")
    notice = notices.Notice.objects.get()
    assert notice.title == "活动通知：亲子运动会" and f"/activities/{activity.pk}/" in notice.body
    # Without the tick, publishing sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        make_activity(actor=world.school_admin_a, owner=world.school_a, announce=False, title="不通知")
    assert notices.Notice.objects.count() == 1
