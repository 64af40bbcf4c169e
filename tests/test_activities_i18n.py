"""English pages of activities and the parent school: dates through Django's localized formats, semester
names, the 活动通知 prefix and plurals through the catalogue. The last three need the English
translations the lead adds after makemessages (listed in var/aux_translations.txt)."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from activities.testing import make_activity
from courses import services as course_services
from notices.models import Notice
from periods.models import Period
from periods.services import school_year_ensure, school_year_start_for


def _english(client, user):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_activity_dates_are_english_in_english(client, world):
    _activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, title="亲子运动会")
    _english(client, world.parent_a1)
    body = client.get(reverse("activities:list")).content.decode()
    when = body[body.index('data-testid="card-when"'):][:300]
    month = timezone.localtime(session.starts_at).strftime("%B")
    assert month in when and "月" not in when and "日" not in when
    detail = client.get(reverse("activities:detail", args=[_activity.pk])).content.decode()
    assert month in detail and "月" not in detail.split('data-testid="session-', 1)[1][:400]


def test_semester_names_prefix_and_plurals_are_english(client, world, django_capture_on_commit_callbacks):
    school_year_ensure(district=world.district, start_year=school_year_start_for(timezone.localdate()))
    with translation.override("en"):
        labels = [p.label for p in Period.objects.filter(district=world.district)]
        assert labels and not [x for x in labels if "学" in x or "季度" in x or "月" in x], labels
        with django_capture_on_commit_callbacks(execute=True):
            make_activity(actor=world.teacher_a1, owner=world.class_a1, announce=True, title="Sports day")
        assert Notice.objects.get().title == "Activity: Sports day"
    course = course_services.course_create(actor=world.school_admin_a, owner_unit=world.school_a, title="Good habits", category="basic",
                                           stage="primary", mode="offline")
    course_services.lesson_create(actor=world.school_admin_a, course=course, title="One", hours="1", intro="x")
    course_services.course_publish(actor=world.school_admin_a, course=course)
    _english(client, world.parent_a1)
    body = client.get(reverse("courses:catalogue")).content.decode()
    assert "1 lesson" in body and "1 lessons" not in body and "课时" not in body
