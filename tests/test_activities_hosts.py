"""Communities, partner organisations and street work stations host activities (R3.1): the form offers
them the schools they serve, saving works, and families there see the activity and sign up."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from activities import services
from activities.models import Activity, ActivityStatus
from activities.testing import make_activity


def _post(client, owner, audience, title):
    start = timezone.localtime(timezone.now() + dt.timedelta(days=3)).replace(second=0, microsecond=0)
    return client.post(reverse("activities:create"), {
        "kind": "community_class", "title": title, "owner_unit": owner.pk, "audience_units": [audience.pk], "audience": "families",
        "venue": "社区活动中心", "max_party_size": 4, "credited_hours": 0,
        "s-starts_at": start.strftime("%Y-%m-%dT%H:%M"), "s-ends_at": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    })


@pytest.mark.parametrize(("user_key", "owner_key", "audience_key", "outside_key"), [
    ("grid_worker_1", "community_1", "school_a", "school_b"),  # 东社区 is in 东街道, as is 东城实验小学
    ("partner_contact", "partner", "school_b", "other_school"),  # 区博物馆 serves the district's schools
    ("street_staff_1", "street_1", "school_a", "school_b"),
])
def test_host_saves_an_activity_for_the_schools_it_serves(client, world, user_key, owner_key, audience_key, outside_key):
    user, owner, audience = getattr(world, user_key), getattr(world, owner_key), getattr(world, audience_key)
    client.force_login(user)
    offered = set(client.get(reverse("activities:create")).context["form"].fields["audience_units"].queryset)
    assert audience in offered and getattr(world, outside_key) not in offered
    assert 'name="announce"' not in client.get(reverse("activities:create")).content.decode()  # they cannot send notices
    response = _post(client, owner, audience, "社区亲子课堂")
    assert response.status_code == 302, response.content.decode()[:2000]
    activity = Activity.objects.get(title="社区亲子课堂")
    assert activity.owner_unit == owner and list(activity.audience_units.all()) == [audience]
    # Outside what the unit serves: a clear refusal, nothing saved.
    with pytest.raises(ValidationError) as e:
        make_activity(actor=user, owner=owner, audience_units=[getattr(world, outside_key)])
    assert e.value.code == "audience_out_of_scope"


def test_community_activity_reaches_the_families_of_its_street(world):
    activity, session = make_activity(actor=world.grid_worker_1, owner=world.community_1, audience_units=[world.school_a])
    assert activity.status == ActivityStatus.PUBLISHED
    assert activity in Activity.objects.visible_to(world.parent_a1)
    assert activity not in Activity.objects.visible_to(world.parent_other)
    signup = services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    assert signup.status == "confirmed"
    # The host sees who signed up (to run the check-in), not the school's roster.
    guardians, students = services.checkin_candidates(actor=world.grid_worker_1, session=session)
    assert world.child_a1.pk in students and world.child_b1.pk not in students
    assert set(students) <= {world.child_a1.pk, world.child_a2.pk}  # child_a2: the child this grid worker cares for


@pytest.mark.parametrize("user_key, shown", [("grid_worker_1", False), ("partner_contact", False), ("teacher_a1", True)])
def test_the_coverage_button_is_offered_only_to_those_with_a_coverage_page(client, world, user_key, shown):
    """A community or partner organises but holds no families: no button to a page that answers 404."""
    client.force_login(getattr(world, user_key))
    body = client.get(reverse("activities:list")).content.decode()
    assert (reverse("activities:coverage") in body) is shown
    assert client.get(reverse("activities:coverage")).status_code == (200 if shown else 404)
