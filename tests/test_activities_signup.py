"""Sign-up (报名/接龙): parties all-or-nothing, waitlist that moves up, leaving it, and families kept apart."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from activities import services
from activities.models import ActivitySession, SignUp, SignUpPerson, SignUpStatus
from activities.testing import make_activity


def _code(excinfo):
    return excinfo.value.code


@pytest.fixture
def reading(world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, capacity=3)
    return activity, session


def test_party_gets_places_together(world, reading):
    _a, session = reading
    s = services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    assert s.status == SignUpStatus.CONFIRMED and s.party_size == 2
    session.refresh_from_db()
    assert session.places_taken == 2
    assert set(SignUpPerson.objects.filter(signup=s).values_list("guardian_id", "student_id")) == {
        (world.guardians["parent_a1"].pk, None), (None, world.child_a1.pk),
    }


def test_party_that_does_not_fit_waits_as_a_whole(world):
    # Class A2 has parent_a2 and parent_two_schools sharing child_a2; use two families across A1/A2 at school level.
    activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, capacity=2)
    services.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[])
    s = services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    assert s.status == SignUpStatus.WAITLISTED  # 1 place left, party of 2: nobody of the party gets in
    session.refresh_from_db()
    assert session.places_taken == 1


def test_cancellation_moves_the_waitlist_up(world):
    activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, capacity=2)
    first = services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    waiting = services.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[world.child_a2.pk])
    assert waiting.status == SignUpStatus.WAITLISTED
    promoted = services.signup_cancel(actor=world.parent_a1, signup_id=first.pk)
    assert [p.pk for p in promoted] == [waiting.pk]
    waiting.refresh_from_db()
    session.refresh_from_db()
    assert waiting.status == SignUpStatus.CONFIRMED and session.places_taken == 2


def test_family_can_leave_the_waitlist_without_freeing_places(world):
    activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, capacity=1)
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    waiting = services.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[])
    assert waiting.status == SignUpStatus.WAITLISTED
    assert services.signup_cancel(actor=world.parent_a2, signup_id=waiting.pk) == []
    waiting.refresh_from_db()
    session.refresh_from_db()
    assert waiting.status == SignUpStatus.CANCELLED and session.places_taken == 1
    # …and may sign up again later (the cancelled row no longer holds the person).
    again = services.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[])
    assert again.status == SignUpStatus.WAITLISTED


def test_raising_capacity_promotes_waitlisted_parties(world):
    activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, capacity=1)
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    waiting = services.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[world.child_a2.pk])
    with pytest.raises(ValidationError) as e:
        services.session_set_capacity(actor=world.school_admin_a, session=session, capacity=0)
    assert _code(e) == "capacity_below_taken"
    promoted = services.session_set_capacity(actor=world.school_admin_a, session=session, capacity=3)
    assert [p.pk for p in promoted] == [waiting.pk]


def test_only_own_children(world, reading):
    _a, session = reading
    with pytest.raises(ValidationError) as e:
        services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=False, student_ids=[world.child_a2.pk])
    assert _code(e) == "not_own_child"
    assert not SignUp.objects.exists()


def test_same_child_cannot_hold_two_places(world, reading):
    _a, session = reading
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=False, student_ids=[world.child_a1.pk])
    with pytest.raises(ValidationError) as e:
        services.signup_create(actor=world.grandparent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    assert _code(e) == "already_signed_up"
    session.refresh_from_db()
    assert session.places_taken == 1


def test_party_size_and_empty_party_are_refused(world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, max_party_size=1)
    with pytest.raises(ValidationError) as e:
        services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    assert _code(e) == "party_too_large"
    with pytest.raises(ValidationError) as e:
        services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=False, student_ids=[])
    assert _code(e) == "party_empty"


def test_child_outside_the_audience_is_refused(world):
    # parent_two_schools has child_a2 (class A2) and child_b1 (school B); a class A2 activity takes only child_a2.
    activity, session = make_activity(actor=world.teacher_a2, owner=world.class_a2)
    with pytest.raises(ValidationError) as e:
        services.signup_create(actor=world.parent_two_schools, session_id=session.pk, include_self=False,
                               student_ids=[world.child_a2.pk, world.child_b1.pk])
    assert _code(e) == "not_in_audience"


def test_signup_window(world):
    now = timezone.now()
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, signup_opens_at=now + dt.timedelta(hours=1))
    with pytest.raises(ValidationError) as e:
        services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    assert _code(e) == "signup_not_open"
    activity.signup_opens_at = now - dt.timedelta(days=2)
    activity.signup_closes_at = now - dt.timedelta(days=1)
    activity.save()
    with pytest.raises(ValidationError) as e:
        services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    assert _code(e) == "signup_closed"


def test_draft_and_out_of_scope_sessions_answer_404(world):
    _a, draft = make_activity(actor=world.teacher_a1, owner=world.class_a1, publish=False)
    with pytest.raises(Http404):
        services.signup_create(actor=world.parent_a1, session_id=draft.pk, include_self=True, student_ids=[])
    _b, other = make_activity(actor=world.teacher_b1, owner=world.class_b1)
    with pytest.raises(Http404):
        services.signup_create(actor=world.parent_a1, session_id=other.pk, include_self=True, student_ids=[])


def test_guardian_never_sees_another_familys_signups(world, reading):
    activity, session = reading
    mine = services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    assert list(SignUp.objects.visible_to(world.parent_a2)) == []
    # The co-guardian of the same child is the same family.
    assert list(SignUp.objects.visible_to(world.grandparent_a1)) == [mine]
    # The organiser sees it; a teacher of another class does not.
    assert list(SignUp.objects.visible_to(world.teacher_a1)) == [mine]
    assert list(SignUp.objects.visible_to(world.teacher_a2)) == []
    with pytest.raises(Http404):
        services.signup_cancel(actor=world.parent_a2, signup_id=mine.pk)
    client_pages = [reverse("activities:signup_cancel", args=[mine.pk])]

    c = Client()
    c.force_login(world.parent_a2)
    for url in client_pages:
        assert c.post(url).status_code == 404
    mine.refresh_from_db()
    assert mine.status == SignUpStatus.CONFIRMED


def test_signup_through_the_page(client, world, reading):
    activity, session = reading
    client.force_login(world.parent_a1)
    page = client.get(reverse("activities:detail", args=[activity.pk]))
    assert page.status_code == 200
    assert f'data-testid="signup-form-{session.pk}"'.encode() in page.content
    resp = client.post(reverse("activities:signup", args=[session.pk]), {"self": "1", "student": [world.child_a1.pk]}, follow=True)
    assert "报名成功".encode() in resp.content
    assert SignUp.objects.get().status == SignUpStatus.CONFIRMED
    # Bad input: another family's child → a clear message, nothing changes.
    resp = client.post(reverse("activities:signup", args=[session.pk]), {"student": [world.child_a2.pk]}, follow=True)
    assert "只能为自己的孩子报名".encode() in resp.content
    assert SignUp.objects.count() == 1
    listing = client.get(reverse("activities:list"))
    assert b'data-testid="my-signup"' in listing.content


def test_other_district_guardian_gets_404(client, world, reading):
    activity, session = reading
    client.force_login(world.parent_other)
    assert client.get(reverse("activities:detail", args=[activity.pk])).status_code == 404
    assert client.post(reverse("activities:signup", args=[session.pk]), {"self": "1"}).status_code == 404
    assert not ActivitySession.objects.visible_to(world.parent_other).exists()


def test_organiser_exports_the_list(client, world, reading):
    activity, session = reading
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    client.force_login(world.teacher_a1)
    resp = client.get(reverse("activities:export", args=[session.pk]))
    assert resp.status_code == 200
    assert resp["Content-Disposition"].startswith("attachment")
    body = b"".join(resp.streaming_content)
    assert body[:2] == b"PK"  # an xlsx (zip) file
    client.force_login(world.teacher_a2)
    assert client.get(reverse("activities:export", args=[session.pk])).status_code == 404
