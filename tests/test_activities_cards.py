"""Where activities are listed, each says when and where: the guardian's cards and sign-ups, the
organiser's table and the approval list."""

import datetime as dt

from django.urls import reverse
from django.utils import formats, timezone

from activities import services
from activities.testing import make_activity


def _when(moment):
    local = timezone.localtime(moment)
    return f"{formats.date_format(local, 'MONTH_DAY_FORMAT')} {formats.date_format(local, 'D')} {formats.time_format(local, 'TIME_FORMAT')}"


def test_guardian_cards_show_date_time_and_venue(client, world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, venue="学校操场", title="亲子运动会")
    later = session.starts_at + dt.timedelta(days=7)
    services.session_add(actor=world.teacher_a1, activity=activity, starts_at=later, ends_at=later + dt.timedelta(hours=1), capacity=None)
    client.force_login(world.parent_a1)
    body = client.get(reverse("activities:list")).content.decode()
    card = body[body.index('data-testid="open-activity"'):]
    card = card[:card.index("</a>")]
    local = timezone.localtime(session.starts_at)
    assert f"{local.month}月{local.day}日" in card and local.strftime("%H:%M") in card and "学校操场" in card
    assert "共 2 场" in card
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    body = client.get(reverse("activities:list")).content.decode()
    mine = body[body.index('data-testid="my-signup"'):]
    assert _when(session.starts_at) in mine[:1500] and "学校操场" in mine[:1500]


def test_organiser_table_and_approval_list_show_when_and_where(client, world):
    _a, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, venue="区博物馆", off_campus=True, title="博物馆研学",
                                safety_plan="教师随行", responsible_name="王老师", responsible_contact="0571-88886666")
    when = timezone.localtime(session.starts_at)
    for user in (world.teacher_a1, world.school_admin_a):
        client.force_login(user)
        body = client.get(reverse("activities:list")).content.decode()
        assert f"{when.month}月{when.day}日 {when:%H:%M}" in body and "区博物馆" in body, user


def test_activities_of_my_class_say_when_and_where_to_staff_who_do_not_organise_them(client, world):
    _a, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, venue="学校操场", title="亲子运动会")
    client.force_login(world.subject_teacher_a1)
    body = client.get(reverse("activities:list")).content.decode()
    row = body[body.index('data-testid="scope-activity"'):]
    row = row[:row.index("</li>")]
    local = timezone.localtime(session.starts_at)
    assert "亲子运动会" in row and f"{local.month}月{local.day}日" in row and local.strftime("%H:%M") in row and "学校操场" in row
