"""Simultaneous sign-ups never overfill a session; simultaneous check-ins never double-count.

Real parallel requests (threads, each with its own database connection and test client) against
PostgreSQL. Skipped on SQLite, where writers are serialised by the database anyway and Django's flush
after a transactional test is blocked by the audit tables' triggers."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import reverse

from activities import qr, services
from activities.models import CheckIn, SignUp, SignUpStatus
from activities.testing import make_activity
from courses import services as course_services
from courses.models import TopicVote
from ledger.models import LearningHours, Participation
from people.models import Guardian, Guardianship, Student
from tests.world import make_user

pytestmark = [
    pytest.mark.skipif("postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="needs PostgreSQL (DATABASE_URL)"),
    pytest.mark.django_db(transaction=True),
]


def _families(world, n, cls_key="class_a1"):
    """n extra families (guardian account + child) in a class."""

    cls = world.units[cls_key]
    out = []
    for i in range(n):
        child = Student.objects.create(district_id=cls.district_id, school=cls.parent.parent, school_class=cls, name=f"并发{i}",
                                       student_no=f"CC{cls.pk}{i:04d}")
        user = make_user(f"家长{i}")
        g = Guardian.objects.create(district_id=cls.district_id, user=user, name=f"家长{i}", phone=user.phone)
        Guardianship.objects.create(guardian=g, student=child, relation="mother")
        out.append((user, g, child))
    return out


def _parallel(fns):
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 — reported to the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_parallel_signups_never_overfill(world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, capacity=7)
    families = _families(world, 12)

    def signup(user, child):
        def go():
            c = Client()
            c.force_login(user)
            return c.post(reverse("activities:signup", args=[session.pk]), {"self": "1", "student": [child.pk]}).status_code
        return go

    codes = _parallel([signup(u, ch) for u, _g, ch in families])
    assert codes == [302] * 12, codes
    session.refresh_from_db()
    confirmed = SignUp.objects.filter(session=session, status=SignUpStatus.CONFIRMED)
    waitlisted = SignUp.objects.filter(session=session, status=SignUpStatus.WAITLISTED)
    # Parties of 2, capacity 7: exactly 3 parties fit (6 places); the other 9 wait; nobody is half in.
    assert confirmed.count() == 3 and waitlisted.count() == 9
    assert session.places_taken == 6 == sum(confirmed.values_list("party_size", flat=True))


def test_parallel_cancellations_and_signups_keep_the_count_true(world):
    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, capacity=4)
    families = _families(world, 10)
    signups = [services.signup_create(actor=u, session_id=session.pk, include_self=True, student_ids=[]) for u, _g, _c in families[:8]]
    assert [s.status for s in signups].count(SignUpStatus.CONFIRMED) == 4

    def cancel(user, s):
        return lambda: services.signup_cancel(actor=user, signup_id=s.pk)

    def join(user):
        return lambda: services.signup_create(actor=user, session_id=session.pk, include_self=True, student_ids=[])

    results = _parallel([cancel(families[i][0], signups[i]) for i in range(3)] + [join(families[8][0]), join(families[9][0])])
    assert not [r for r in results if isinstance(r, Exception)], results
    session.refresh_from_db()
    confirmed = SignUp.objects.filter(session=session, status=SignUpStatus.CONFIRMED)
    assert confirmed.count() == 4 and session.places_taken == 4
    # The waitlist moved up in order: the first three who waited got the freed places.
    assert set(signups[i].pk for i in range(4, 7)) <= set(confirmed.values_list("pk", flat=True))


def test_parallel_checkins_never_double_count(world):


    activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1, starts_in=dt.timedelta(minutes=5), credited_hours=2)
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    token = qr.make_token(session.pk)

    def device(user, include_self):
        def go():
            c = Client()
            c.force_login(user)
            c.get(reverse("activities:checkin", args=[session.pk]), {"t": token})
            data = {"student": [world.child_a1.pk]}
            if include_self:
                data["self"] = "1"
            return c.post(reverse("activities:checkin", args=[session.pk]), data).status_code
        return go

    # Mother on two phones and grandmother at once, each several times.
    fns = [device(world.parent_a1, True) for _ in range(5)] + [device(world.grandparent_a1, False) for _ in range(5)]
    fns += [lambda: services.checkin_manual(actor=world.teacher_a1, session=session, guardian_ids=[world.guardians["parent_a1"].pk],
                                            student_ids=[world.child_a1.pk]) for _ in range(2)]
    results = _parallel(fns)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert CheckIn.objects.filter(session=session, student=world.child_a1).count() == 1
    assert CheckIn.objects.filter(session=session, guardian=world.guardians["parent_a1"]).count() == 1
    assert Participation.objects.filter(source_key=f"activity.session:{session.pk}").count() == 1
    assert list(LearningHours.objects.values_list("hours", flat=True)) == [Decimal("2.0")]


def test_parallel_topic_votes_count_once(world):
    topic = course_services.topic_propose(actor=world.parent_a2, school=world.school_a, stage="primary", title="隔代教育怎么沟通")
    results = _parallel([lambda: course_services.topic_vote(actor=world.parent_a1, topic=topic) for _ in range(6)])
    assert sum(1 for r in results if r is True) == 1
    assert TopicVote.objects.filter(topic=topic).count() == 2  # the proposer and parent_a1
