"""Family check-ins (打卡): per-child posts with photos (checked by content and size), teachers see
their class's participation, comment and feature; families see only their own."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from activities import services
from activities.models import CampaignKind, CampaignPhoto, CampaignPost
from activities.testing import png_bytes, png_upload
from ledger.models import Participation


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}


@pytest.fixture
def family_day(world):
    today = timezone.localdate()
    return services.campaign_create(actor=world.school_admin_a, owner_unit=world.school_a, audience_units=[world.school_a],
                                    kind=CampaignKind.FAMILY_DAY, title="11月家庭日：家务小能手", description="和孩子一起做一顿饭",
                                    starts_on=today - dt.timedelta(days=1), ends_on=today + dt.timedelta(days=20))


def test_post_with_photos_and_participation(client, world, family_day):
    client.force_login(world.parent_a1)
    resp = client.post(reverse("activities:campaign_post", args=[family_day.pk]),
                       {"student": world.child_a1.pk, "text": "今天一起包了饺子。", "photos": [png_upload("a.png"), png_upload("b.png")]},
                       follow=True)
    assert "打卡成功".encode() in resp.content
    post = CampaignPost.objects.get()
    assert post.photos.count() == 2 and post.school_class_id == world.class_a1.pk
    assert Participation.objects.filter(source_key=f"activity.campaign:{family_day.pk}", student=world.child_a1).count() == 1
    # A second post the same month is welcome but the family is counted once.
    services.campaign_post_create(actor=world.grandparent_a1, campaign=family_day, student_id=world.child_a1.pk, text="又做了一次。")
    assert Participation.objects.filter(source_key=f"activity.campaign:{family_day.pk}").count() == 1
    photo = post.photos.first()
    img = client.get(reverse("activities:campaign_photo", args=[photo.pk]))
    assert img.status_code == 200 and img["Content-Type"] == "image/png" and b"".join(img.streaming_content) == png_bytes()
    client.force_login(world.parent_a2)
    assert client.get(reverse("activities:campaign_photo", args=[photo.pk])).status_code == 404
    page = client.get(reverse("activities:campaign", args=[family_day.pk]))
    assert "一起包了饺子".encode() not in page.content


@pytest.mark.parametrize(("name", "data", "code"), [
    ("evil.png", png_bytes()[:-12] + b"<script>alert(1)</script>" + png_bytes()[-12:], "upload_polyglot"),
    ("notes.png", b"just some text, not an image at all", "upload_bad_type"),
    ("photo.gif", png_bytes(), "upload_bad_extension"),
    ("big.png", png_bytes() + b"\0" * (8 * 1024 * 1024), "upload_too_large"),
    ("cut.png", png_bytes()[:-8], "upload_truncated"),
])
def test_bad_uploads_are_refused_and_nothing_is_saved(world, family_day, name, data, code):
    with pytest.raises(ValidationError) as e:
        services.campaign_post_create(actor=world.parent_a1, campaign=family_day, student_id=world.child_a1.pk, text="x",
                                      files=[png_upload("ok.png"), SimpleUploadedFile(name, data)])
    assert e.value.code == code
    assert not CampaignPost.objects.exists() and not CampaignPhoto.objects.exists() and not Participation.objects.exists()


def test_only_own_children_and_audience(world, family_day):
    with pytest.raises(ValidationError) as e:
        services.campaign_post_create(actor=world.parent_a1, campaign=family_day, student_id=world.child_a2.pk, text="x")
    assert e.value.code == "not_own_child"
    with pytest.raises(ValidationError) as e:
        services.campaign_post_create(actor=world.parent_two_schools, campaign=family_day, student_id=world.child_b1.pk, text="x")
    assert e.value.code == "not_in_audience"
    with pytest.raises(ValidationError) as e:
        services.campaign_post_create(actor=world.parent_a1, campaign=family_day, student_id=world.child_a1.pk, text="   ")
    assert e.value.code == "text_required"


def test_teachers_see_class_participation_comment_and_feature(client, world, family_day):
    post = services.campaign_post_create(actor=world.parent_a1, campaign=family_day, student_id=world.child_a1.pk, text="读完了一本书")
    client.force_login(world.teacher_a1)
    page = client.get(reverse("activities:campaign", args=[family_day.pk]))
    assert b'data-testid="class-participation"' in page.content and "读完了一本书".encode() in page.content
    client.post(reverse("activities:post_comment", args=[post.pk]), {"text": "坚持得真好！"})
    client.post(reverse("activities:post_feature", args=[post.pk]), {"featured": "1"})
    post.refresh_from_db()
    assert post.featured and post.comments.get().text == "坚持得真好！"
    # The teacher of another class does not see the post and cannot touch it.
    assert not CampaignPost.objects.visible_to(world.teacher_a2).exists()
    client.force_login(world.teacher_a2)
    assert client.post(reverse("activities:post_feature", args=[post.pk]), {"featured": "0"}).status_code == 404
    with pytest.raises(PermissionDenied):
        services.post_comment(actor=world.teacher_b1, post=post, text="x")
    post.refresh_from_db()
    assert post.featured
    client.force_login(world.parent_a1)
    page = client.get(reverse("activities:campaign", args=[family_day.pk]) + "?featured=1")
    assert "坚持得真好".encode() in page.content and "优秀打卡".encode() in page.content


def test_campaign_closed_outside_its_dates(world):
    past = timezone.localdate() - dt.timedelta(days=40)
    c = services.campaign_create(actor=world.teacher_a1, owner_unit=world.class_a1, audience_units=[world.class_a1],
                                 kind=CampaignKind.READING, title="共读一本书", description="", starts_on=past, ends_on=past + dt.timedelta(days=7))
    with pytest.raises(ValidationError) as e:
        services.campaign_post_create(actor=world.parent_a1, campaign=c, student_id=world.child_a1.pk, text="x")
    assert e.value.code == "campaign_closed"
    with pytest.raises(ValidationError) as e:
        services.campaign_create(actor=world.teacher_a1, owner_unit=world.class_a1, audience_units=[world.class_a2],
                                 kind=CampaignKind.READING, title="x", description="", starts_on=past, ends_on=past)
    assert e.value.code == "audience_out_of_scope"
