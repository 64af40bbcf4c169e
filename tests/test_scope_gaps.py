"""The last personal rows under scoped managers (contract 1, round 2): each seen from its own family or
unit, and not from the neighbouring one."""

import pytest

from accounts.models import ApiToken
from courses import services as course_services
from courses.models import TopicVote
from homeschool import services as homeschool_services
from homeschool.models import GuideRead
from notices.models import NoticeAttachment, Reminder
from notices.services import notice_remind
from roster.models import ImportJob, ImportProblem, JobStatus
from tests.test_notices_helpers import notice_settings, send  # noqa: F401

pytestmark = pytest.mark.django_db


def ids(qs):
    return set(qs.values_list("pk", flat=True))


def test_a_guide_read_is_the_familys_own_and_its_authors(world):
    guide = homeschool_services.guide_publish(actor=world.teacher_a1, author_unit=world.class_a1, title="情绪", body="先共情。",
                                              topic="emotion")
    homeschool_services.guide_mark_read(actor=world.parent_a1, guide=guide)
    homeschool_services.guide_rate(actor=world.parent_a2, guide=guide, rating=4)
    own = ids(GuideRead.objects.filter(guardian=world.guardians["parent_a1"]))
    assert ids(GuideRead.objects.visible_to(world.parent_a1)) == own
    # Another family of the same class sees only its own rating, not who else read it.
    assert ids(GuideRead.objects.visible_to(world.parent_a2)) == ids(GuideRead.objects.filter(guardian=world.guardians["parent_a2"]))
    assert len(ids(GuideRead.objects.visible_to(world.teacher_a1))) == 2  # the author
    assert not GuideRead.objects.visible_to(world.teacher_b1).exists()  # a teacher of another school
    assert not GuideRead.objects.visible_to(world.parent_other).exists()


def test_a_topic_vote_is_the_voters_and_their_schools_managers(world):
    topic = course_services.topic_propose(actor=world.parent_a1, school=world.school_a, stage="primary", title="隔代教育")
    course_services.topic_vote(actor=world.parent_a2, topic=topic)
    assert ids(TopicVote.objects.visible_to(world.parent_a2)) == ids(TopicVote.objects.filter(guardian=world.guardians["parent_a2"]))
    assert TopicVote.objects.visible_to(world.school_admin_a).count() == 2
    assert not TopicVote.objects.visible_to(world.school_admin_b).exists()  # the neighbouring school
    assert not TopicVote.objects.visible_to(world.parent_other).exists()


def test_import_problems_are_seen_where_their_import_is(world):
    job = ImportJob.objects.create(district=world.district, school=world.school_a, created_by=world.school_admin_a,
                                   status=JobStatus.READY, file_name="roster/imports/x.xlsx", original_name="名单.xlsx")
    problem = ImportProblem.objects.create(job=job, sheet="学生", row=2, column="班级", code="class_unknown", message="机密")
    assert ids(ImportProblem.objects.visible_to(world.school_admin_a)) == {problem.pk} == ids(job.problems.all())
    assert set(ImportJob.objects.visible_to(world.school_admin_b)) == set()
    assert not ImportProblem.objects.visible_to(world.school_admin_b).exists()
    sees_job = ImportJob.objects.visible_to(world.teacher_a1).filter(pk=job.pk).exists()
    assert ids(ImportProblem.objects.visible_to(world.teacher_a1)) == ({problem.pk} if sees_job else set())


def test_reminders_and_attachments_are_seen_where_their_notice_is(world, django_capture_on_commit_callbacks, notice_settings):  # noqa: F811

    notice = send(django_capture_on_commit_callbacks, world.teacher_a1, [world.class_a1],
                  attachments=[("通知.pdf", b"%PDF-1.4 test", "application/pdf")])
    with django_capture_on_commit_callbacks(execute=True):
        reminder = notice_remind(actor=world.teacher_a1, notice=notice)
    assert ids(Reminder.objects.visible_to(world.teacher_a1)) == {reminder.pk}
    assert ids(NoticeAttachment.objects.visible_to(world.parent_a1)) == ids(notice.attachments.all()) != set()
    for neighbour in (world.teacher_b1, world.parent_other, world.school_admin_b):
        assert not Reminder.objects.visible_to(neighbour).exists()
        assert not NoticeAttachment.objects.visible_to(neighbour).exists()


def test_an_api_token_is_its_users_own(world):

    mine, _key = ApiToken.issue(user=world.parent_a1)
    ApiToken.issue(user=world.parent_a2)
    assert ids(ApiToken.objects.visible_to(world.parent_a1)) == {mine.pk}
    assert mine.pk not in ids(ApiToken.objects.visible_to(world.parent_a2))
    assert not ApiToken.objects.visible_to(world.district_admin).exists()  # not even the district's admin
