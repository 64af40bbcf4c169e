"""Check-in of a party in which one child holds no place: that child is not offered and the others
check in; a started session tells the family why sign-up is closed."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from activities import qr, services
from activities.models import CheckIn
from activities.testing import make_activity


@pytest.fixture
def party(world):
    """A district activity starting in 10 minutes; parent_two_schools signed up with child_a2, not child_b1."""
    activity, session = make_activity(actor=world.district_admin, owner=world.district, starts_in=dt.timedelta(minutes=10))
    services.signup_create(actor=world.parent_two_schools, session_id=session.pk, include_self=True, student_ids=[world.child_a2.pk])
    return activity, session


def test_unbooked_child_is_not_tickable_and_the_others_check_in(client, world, party):
    _activity, session = party
    client.force_login(world.parent_two_schools)
    page = client.get(reverse("activities:checkin", args=[session.pk]), {"t": qr.make_token(session.pk)}).content.decode()
    assert f'name="student" value="{world.child_a2.pk}"' in page
    assert f'name="student" value="{world.child_b1.pk}"' not in page and 'data-testid="unbooked-child"' in page
    # A stale form (or a hand-made request) still ticking the unbooked child: the rest of the party checks in.
    resp = client.post(reverse("activities:checkin", args=[session.pk]),
                       {"self": "1", "student": [world.child_a2.pk, world.child_b1.pk]}, follow=True)
    body = resp.content.decode()
    assert "签到成功" in body and world.child_b1.name in body
    came = set(CheckIn.objects.filter(session=session).values_list("guardian_id", "student_id"))
    assert came == {(world.guardians["parent_two_schools"].pk, None), (None, world.child_a2.pk)}
    # Nobody with a place among those ticked: a clear refusal, nothing written.
    with pytest.raises(ValidationError) as e:
        services.checkin_self(actor=world.parent_two_schools, session_id=session.pk, include_self=False, student_ids=[world.child_b1.pk])
    assert e.value.code == "not_signed_up" and CheckIn.objects.count() == 2


def test_started_session_says_why_sign_up_is_closed(client, world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, starts_in=dt.timedelta(minutes=1))
    session.starts_at -= dt.timedelta(minutes=30)
    session.ends_at -= dt.timedelta(minutes=30)
    session.save()
    client.force_login(world.parent_a1)
    body = client.get(reverse("activities:detail", args=[activity.pk])).content.decode()
    assert f'data-testid="signup-closed-{session.pk}"' in body and "本场次已开始，报名已截止" in body
    assert f'data-testid="signup-form-{session.pk}"' not in body
