"""After an activity: ratings from participants, the organiser's photo album, meeting minutes."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from activities import services
from activities.models import ActivityKind, ActivityPhoto, Audience
from activities.testing import make_activity, png_bytes, png_upload


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}


@pytest.fixture
def meeting(world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, starts_in=dt.timedelta(minutes=5),
                                      kind=ActivityKind.PARENT_MEETING, audience=Audience.GUARDIANS, requires_signup=False, title="期中家长会")
    return activity, session


def test_only_participants_rate(client, world, meeting):
    activity, session = meeting
    with pytest.raises(ValidationError) as e:
        services.rating_save(actor=world.parent_a1, activity=activity, stars=5, comment="")
    assert e.value.code == "not_attended"
    services.checkin_manual(actor=world.teacher_a1, session=session, guardian_ids=[world.guardians["grandparent_a1"].pk], student_ids=[])
    client.force_login(world.parent_a1)  # the family came (grandmother), so the mother may rate too
    client.post(reverse("activities:rate", args=[activity.pk]), {"stars": "4", "comment": "沟通充分"})
    client.post(reverse("activities:rate", args=[activity.pk]), {"stars": "5", "comment": "改为5星"})
    assert list(activity.ratings.values_list("stars", "comment")) == [(5, "改为5星")]
    resp = client.post(reverse("activities:rate", args=[activity.pk]), {"stars": "9"}, follow=True)
    assert "请选择1到5星".encode() in resp.content
    client.force_login(world.teacher_a1)
    page = client.get(reverse("activities:detail", args=[activity.pk]))
    assert "改为5星".encode() in page.content and b'data-testid="summary"' in page.content


def test_album_by_organiser_visible_to_audience(client, world, meeting):
    activity, _s = meeting
    with pytest.raises(PermissionDenied):
        services.photos_add(actor=world.parent_a1, activity=activity, files=[png_upload()])
    client.force_login(world.teacher_a1)
    client.post(reverse("activities:photos", args=[activity.pk]), {"photos": [png_upload("x.png")], "caption": "合影"})
    photo = ActivityPhoto.objects.get()
    assert not photo.image.name.endswith("x.png")  # stored under a generated name
    client.force_login(world.parent_a1)
    resp = client.get(reverse("activities:photo", args=[photo.pk]))
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == png_bytes()
    assert "private" in resp["Cache-Control"]
    client.force_login(world.parent_a2)
    assert client.get(reverse("activities:photo", args=[photo.pk])).status_code == 404


def test_minutes_for_meetings(client, world, meeting):
    activity, _s = meeting
    client.force_login(world.teacher_a1)
    client.post(reverse("activities:minutes", args=[activity.pk]), {"minutes": "1. 期中成绩分析\n2. 家长建议：增加户外活动"})
    activity.refresh_from_db()
    assert activity.minutes.startswith("1. 期中成绩分析") and activity.minutes_by == world.teacher_a1
    client.force_login(world.parent_a1)
    assert "家长建议".encode() in client.get(reverse("activities:detail", args=[activity.pk])).content
    other, _ = make_activity(actor=world.teacher_a1, owner=world.class_a1)
    with pytest.raises(ValidationError) as e:
        services.minutes_save(actor=world.teacher_a1, activity=other, text="x")
    assert e.value.code == "not_meeting"
