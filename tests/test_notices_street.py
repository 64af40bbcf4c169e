"""Issue 12: a street workstation sends notices to its street's schools (families and staff), never to a
neighbouring street's; it does not oversee the schools' own notices nor see who the families are; and the
notices page explains itself to those who can neither send nor have received anything."""

import pytest
from django.urls import reverse

from notices.audience import can_send, sendable_units
from notices.models import Notice, NoticeStatus, Receipt
from tests.test_notices_helpers import login, notice_settings, send  # noqa: F401


def post(client, capture, **data):
    payload = {"title": "社区课堂报名", "body": "周六上午。", "priority": "normal", "reply_kind": "none", "reply_per_household": "1", "include_guardians": "on"}
    payload.update(data)
    with capture(execute=True):
        return client.post(reverse("notices:create"), payload)


def test_street_staff_may_send_and_others_may_not(world):
    assert can_send(world.street_staff_1) and can_send(world.teacher_a1) and can_send(world.district_admin)
    assert not can_send(world.liaison) and not can_send(world.subject_teacher_a1) and not can_send(world.parent_a1)


def test_street_staff_sends_to_the_families_of_their_streets_schools(client, world, django_capture_on_commit_callbacks):
    units = set(sendable_units(world.street_staff_1).values_list("name", flat=True))
    assert {"东街道", "东城实验小学", "三(1)班"} <= units and "西城第二中学" not in units and "西街道" not in units
    login(client, world.street_staff_1)
    response = post(client, django_capture_on_commit_callbacks, units=[str(world.school_a.pk)])
    notice = Notice.objects.get()
    assert response.status_code == 302 and notice.status == NoticeStatus.PUBLISHED
    # Every family of school A (the mother with a child in each school once), none of school B only.
    names = set(Receipt.objects.filter(notice=notice).values_list("guardian__name", flat=True))
    assert names == {"parent_a1", "grandparent_a1", "未激活家长", "parent_a2", "parent_two_schools"}


def test_street_staff_sends_to_the_schools_staff(client, world, django_capture_on_commit_callbacks):
    login(client, world.street_staff_1)
    post(client, django_capture_on_commit_callbacks, units=[str(world.street_1.pk)], include_guardians="", staff_roles=["school_admin"])
    notice = Notice.objects.get()
    assert set(Receipt.objects.filter(notice=notice).values_list("user_id", flat=True)) == {world.school_admin_a.pk}


@pytest.mark.parametrize("unit_key", ["school_b", "street_2", "class_b1"])
def test_street_staff_cannot_target_a_neighbouring_streets_schools(client, world, django_capture_on_commit_callbacks, unit_key):
    login(client, world.street_staff_1)
    response = post(client, django_capture_on_commit_callbacks, units=[str(getattr(world, unit_key).pk)])
    assert response.status_code == 200 and "无权发送" in response.content.decode()
    assert not Notice.objects.exists()


def test_street_staff_does_not_oversee_the_schools_own_notices(client, world, django_capture_on_commit_callbacks):
    school_notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1], audience_note="困难家庭")
    login(client, world.street_staff_1)
    assert client.get(reverse("notices:stats", args=[school_notice.pk])).status_code == 404
    client.post(reverse("notices:withdraw", args=[school_notice.pk]), {"reason": "误发"})
    school_notice.refresh_from_db()
    assert school_notice.status == NoticeStatus.PUBLISHED
    assert "困难家庭" not in client.get(reverse("notices:index")).content.decode()


def test_street_staff_follows_the_figures_of_their_notice_not_the_families(client, world, django_capture_on_commit_callbacks):
    notice = send(django_capture_on_commit_callbacks, world.street_staff_1, [world.school_a])
    login(client, world.street_staff_1)
    html = client.get(reverse("notices:stats", args=[notice.pk])).content.decode()
    assert 'data-testid="total">5<' in html and "未读名单" not in html and 'data-testid="export"' not in html
    assert client.get(reverse("notices:class_report", args=[notice.pk, world.class_a1.pk])).status_code == 404
    assert client.get(reverse("notices:export", args=[notice.pk])).status_code == 404
    # The other street's staff sees nothing of it.
    login(client, world.street_staff_2)
    assert client.get(reverse("notices:stats", args=[notice.pk])).status_code == 404


def test_the_notices_page_explains_itself_to_who_can_neither_send_nor_has_received(client, world, django_capture_on_commit_callbacks):
    login(client, world.liaison)
    response = client.get(reverse("notices:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="notices-explained"' in html and "不能发送通知" in html and 'data-testid="new-notice"' not in html
    login(client, world.parent_a1)  # a guardian: the inbox
    assert client.get(reverse("notices:index")).url == reverse("notices:inbox")
    # A staff recipient who cannot send: the inbox too, once something arrived.
    send(django_capture_on_commit_callbacks, world.school_admin_a, [world.school_a], guardians=False, roles=["subject_teacher"])
    login(client, world.subject_teacher_a1)
    assert client.get(reverse("notices:index")).url == reverse("notices:inbox")


@pytest.mark.parametrize("user_key, shown", [("parent_two_schools", True), ("subject_teacher_a1", False), ("street_staff_1", False)])
def test_the_channel_settings_are_offered_only_to_families(client, world, user_key, shown):
    """接收方式 is a guardian's page: staff who open their inbox get no link to a page that answers 404."""
    client.force_login(getattr(world, user_key))
    body = client.get(reverse("notices:inbox")).content.decode()
    assert (reverse("notices:preferences") in body) is shown
    assert client.get(reverse("notices:preferences")).status_code == (200 if shown else 404)
