"""Consent records: give, withdraw, give again; history kept; one in force; basic pages unaffected."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from people.models import Consent, ConsentPurpose
from people.services import consent_give, consent_in_force, consent_withdraw

PHOTO = ConsentPurpose.PHOTO_PUBLICITY
GROWTH = ConsentPurpose.GROWTH_SHARING
PRIVACY = reverse("accounts:privacy")


@pytest.fixture
def mum(world):
    return world.guardians["parent_a1"]


def test_give_withdraw_give_again_keeps_history(world, mum):
    first = consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1", student=world.child_a1)
    assert consent_in_force(guardian=mum, purpose=PHOTO, student=world.child_a1)
    assert consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1", student=world.child_a1) == first  # idempotent

    consent_withdraw(actor=world.parent_a1, consent=first)
    first.refresh_from_db()
    assert first.withdrawn_at is not None
    assert not consent_in_force(guardian=mum, purpose=PHOTO, student=world.child_a1)

    second = consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1", student=world.child_a1)
    assert second.pk != first.pk
    rows = Consent.objects.filter(guardian=mum, purpose=PHOTO)
    assert rows.count() == 2 and rows.in_force().get() == second
    assert Consent.objects.get(pk=first.pk).withdrawn_at is not None  # the old row is unchanged


def test_new_rules_version_replaces_the_one_in_force(world, mum):
    old = consent_give(guardian=mum, purpose=ConsentPurpose.PLATFORM, rules_version="2026.1")
    new = consent_give(guardian=mum, purpose=ConsentPurpose.PLATFORM, rules_version="2027.1")
    old.refresh_from_db()
    assert old.withdrawn_at is not None and new.withdrawn_at is None
    assert Consent.objects.filter(guardian=mum, purpose=ConsentPurpose.PLATFORM).in_force().count() == 1


def test_one_in_force_per_guardian_student_and_purpose(world, mum):
    consent_give(guardian=mum, purpose=GROWTH, rules_version="2026.1", student=world.child_a1)
    consent_give(guardian=mum, purpose=GROWTH, rules_version="2026.1", student=world.child_a1)
    consent_give(guardian=mum, purpose=GROWTH, rules_version="2026.1")  # guardian-wide: a separate key
    consent_give(guardian=mum, purpose=GROWTH, rules_version="2026.1")
    assert Consent.objects.filter(guardian=mum, purpose=GROWTH, student=world.child_a1).in_force().count() == 1
    assert Consent.objects.filter(guardian=mum, purpose=GROWTH, student__isnull=True).in_force().count() == 1


def test_guardian_wide_consent_covers_each_child(world, mum):
    assert not consent_in_force(guardian=mum, purpose=PHOTO, student=world.child_a1)
    consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1")
    assert consent_in_force(guardian=mum, purpose=PHOTO, student=world.child_a1)
    assert consent_in_force(guardian=mum, purpose=PHOTO)
    # A child-specific consent does not count as guardian-wide.
    consent_give(guardian=mum, purpose=GROWTH, rules_version="2026.1", student=world.child_a1)
    assert not consent_in_force(guardian=mum, purpose=GROWTH)


def test_consents_are_per_guardian(world, mum):
    consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1", student=world.child_a1)
    grandma = world.guardians["grandparent_a1"]
    assert not consent_in_force(guardian=grandma, purpose=PHOTO, student=world.child_a1)


def test_cannot_consent_for_someone_elses_child(world, mum):
    with pytest.raises(ValidationError):
        consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1", student=world.child_b1)
    assert not Consent.objects.exists()


def test_unknown_purpose_is_refused(world, mum):
    with pytest.raises(ValidationError):
        consent_give(guardian=mum, purpose="marketing", rules_version="2026.1")


def test_platform_consent_cannot_be_withdrawn_here(world, mum):
    platform = consent_give(guardian=mum, purpose=ConsentPurpose.PLATFORM, rules_version="2026.1")
    with pytest.raises(ValidationError) as exc:
        consent_withdraw(actor=world.parent_a1, consent=platform)
    assert "注销账号" in " ".join(exc.value.messages)
    platform.refresh_from_db()
    assert platform.withdrawn_at is None


@pytest.mark.parametrize("who", ["parent_a2", "grandparent_a1", "teacher_b1", "school_admin_b", "subject_teacher_a1"])
def test_others_cannot_withdraw(world, mum, who):
    consent = consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1", student=world.child_a1)
    with pytest.raises(PermissionDenied):
        consent_withdraw(actor=world.users[who], consent=consent)
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_class_teacher_records_a_paper_withdrawal(world, mum):
    consent = consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1", student=world.child_a1)
    consent_withdraw(actor=world.teacher_a1, consent=consent)
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    event = AuditEvent.objects.filter(model="people.consent", object_id=str(consent.pk), action="update").last()
    assert event.actor_id == world.teacher_a1.pk and "withdrawn_at" in event.changes


def test_privacy_page_lists_consents_and_withdraws_and_gives_again(client, world, mum):
    consent_give(guardian=mum, purpose=ConsentPurpose.PLATFORM, rules_version="2026.1")
    photo = consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1", student=world.child_a1)
    client.force_login(world.parent_a1)
    page = client.get(PRIVACY).content.decode()
    assert "使用共育平台（基础服务）" in page and "2026.1" in page and "注销账号" in page
    assert "活动照片宣传使用" in page and "成长档案共享" in page

    response = client.post(PRIVACY, {"action": "withdraw", "consent": photo.pk})
    assert response.status_code == 302
    photo.refresh_from_db()
    assert photo.withdrawn_at is not None

    # Basic pages keep working after every optional consent is withdrawn.
    family = client.get(reverse("people:family"))
    assert family.status_code == 200 and world.child_a1.name in family.content.decode()
    assert client.get(reverse("home")).status_code in (200, 302)
    assert client.get("/api/v1/auth/me").status_code == 401  # (no token: unrelated to consent)

    client.post(PRIVACY, {"action": "give", "purpose": PHOTO, "student": world.child_a1.pk})
    assert consent_in_force(guardian=mum, purpose=PHOTO, student=world.child_a1)
    assert Consent.objects.filter(guardian=mum, purpose=PHOTO).count() == 2
    history = client.get(PRIVACY).content.decode()
    assert history.count("活动照片宣传使用") >= 3  # current state + two history rows


def test_privacy_page_offers_no_platform_withdrawal(client, world, mum):
    platform = consent_give(guardian=mum, purpose=ConsentPurpose.PLATFORM, rules_version="2026.1")
    client.force_login(world.parent_a1)
    page = client.get(PRIVACY).content.decode()
    assert f'name="consent" value="{platform.pk}"' not in page
    client.post(PRIVACY, {"action": "withdraw", "consent": platform.pk})
    platform.refresh_from_db()
    assert platform.withdrawn_at is None


def test_privacy_page_refuses_other_families(client, world, mum):
    theirs = consent_give(guardian=world.guardians["parent_a2"], purpose=PHOTO, rules_version="2026.1", student=world.child_a2)
    client.force_login(world.parent_a1)
    assert client.post(PRIVACY, {"action": "withdraw", "consent": theirs.pk}).status_code == 404
    assert client.post(PRIVACY, {"action": "give", "purpose": PHOTO, "student": world.child_a2.pk}).status_code == 404
    assert client.post(PRIVACY, {"action": "give", "purpose": ConsentPurpose.PLATFORM, "student": world.child_a1.pk}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.withdrawn_at is None
    assert not Consent.objects.filter(guardian=mum).exists()
    # The co-guardian (grandmother) sees only her own consents.
    consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1", student=world.child_a1)
    client.force_login(world.grandparent_a1)
    grandma_page = client.get(PRIVACY).content.decode()
    assert "已同意</span>" not in grandma_page


def test_privacy_page_for_staff_and_anonymous(client, world):
    assert client.get(PRIVACY).status_code == 302
    client.force_login(world.teacher_a1)
    assert "不是家长账号" in client.get(PRIVACY).content.decode()


def test_privacy_page_query_count_is_bounded(client, world, mum, django_assert_max_num_queries):
    for child in (world.child_a1,):
        consent_give(guardian=mum, purpose=PHOTO, rules_version="2026.1", student=child)
        consent_give(guardian=mum, purpose=GROWTH, rules_version="2026.1", student=child)
    client.force_login(world.parent_a1)
    with django_assert_max_num_queries(15):
        assert client.get(PRIVACY).status_code == 200
