"""Activities tell families: a family promoted from the waitlist gets one message (messaging) after the
transaction commits, and publishing announces the activity to its audience (a notice)."""

from django.utils import timezone, translation

from activities import services
from activities.models import SignUpStatus
from activities.testing import make_activity
from messaging.models import Delivery
from notices.models import Notice, Receipt


def test_promoted_family_receives_one_notice_after_commit(world, django_capture_on_commit_callbacks):
    activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, capacity=1, title="亲子阅读会")
    first = services.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[])
    waiting = services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=False,
                                     student_ids=[world.child_a1.pk])
    assert waiting.status == SignUpStatus.WAITLISTED
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        promoted = services.signup_cancel(actor=world.parent_a2, signup_id=first.pk)
    assert [s.pk for s in promoted] == [waiting.pk]
    assert not Delivery.objects.exists()  # nothing is sent before the promotion is committed
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    told = Delivery.objects.filter(channel="inapp", kind="promoted").select_related("message")
    assert all("亲子阅读会" in d.message.title for d in told)
    # The promoted family (mother and grandmother of child_a1), once each; nobody else.
    assert sorted(told.values_list("guardian_id", flat=True)) == sorted([world.guardians["parent_a1"].pk, world.guardians["grandparent_a1"].pk]
                                                                      + [world.guardians["unactivated_a1"].pk])
    assert not told.filter(guardian=world.guardians["parent_a2"]).exists()


def test_guardian_alone_on_the_waitlist_is_told_through_their_children(world, django_capture_on_commit_callbacks):
    _activity, session = make_activity(actor=world.teacher_a2, owner=world.class_a2, capacity=1)
    first = services.signup_create(actor=world.parent_two_schools, session_id=session.pk, include_self=True, student_ids=[])
    services.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[])
    with django_capture_on_commit_callbacks(execute=True):
        services.signup_cancel(actor=world.parent_two_schools, signup_id=first.pk)
    assert Delivery.objects.filter(guardian=world.guardians["parent_a2"], channel="inapp").count() == 1


def test_raising_capacity_notifies_the_promoted_once(world, django_capture_on_commit_callbacks):
    _activity, session = make_activity(actor=world.school_admin_a, owner=world.school_a, capacity=1)
    services.signup_create(actor=world.parent_a2, session_id=session.pk, include_self=True, student_ids=[])
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[])
    with django_capture_on_commit_callbacks(execute=True):
        services.session_set_capacity(actor=world.school_admin_a, session=session, capacity=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.session_set_capacity(actor=world.school_admin_a, session=session, capacity=3)  # nobody left to promote
    assert Delivery.objects.filter(guardian=world.guardians["parent_a1"], channel="inapp").count() == 1


def test_announcement_reaches_the_audience_with_a_localised_date(world, django_capture_on_commit_callbacks):
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        _a, session = make_activity(actor=world.school_admin_a, owner=world.school_a, audience_units=[world.class_a1], announce=True,
                                    title="开放日")
    notice = Notice.objects.get()
    # An English-speaking organiser's notice says "December 18", not 12月18日.
    assert timezone.localtime(session.starts_at).strftime("%B ") in notice.body and "月" not in notice.body
    guardians = set(Receipt.objects.filter(notice=notice).values_list("guardian_id", flat=True))
    assert {world.guardians["parent_a1"].pk, world.guardians["grandparent_a1"].pk} <= guardians
    assert world.guardians["parent_a2"].pk not in guardians and world.guardians["parent_other"].pk not in guardians
