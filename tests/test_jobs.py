"""The jobs outbox: a row per unit of work, sent on commit, claimed once, retried, swept (docs/decisions/0007)."""

import ast
import datetime as dt
import io
import pathlib

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from activities import services as activity_services
from activities.testing import make_activity
from jobs import services as jobs
from jobs import tasks as job_tasks
from jobs.models import Job, Status
from notices import tasks as notice_tasks
from notices.models import Notice, NoticeJob, NoticeStatus, Receipt
from notices.services import job_key, notice_create
from roster import services as roster_services
from roster.models import ImportJob
from roster.models import JobStatus as ImportStatus
from tests.test_notices_helpers import audience, notice_settings  # noqa: F401
from tests.test_roster_pages import good_file, upload
from tests.world import make_user

ROOT = pathlib.Path(__file__).resolve().parent.parent
effects: list = []


@jobs.register("test.effect")
def _effect(job):
    effects.append(job.payload["n"])


@jobs.register("test.boom", max_attempts=3, on_give_up=lambda job: effects.append(("gave up", job.pk)))
def _boom(job):
    raise ValueError("13800138000 张三 110101199003077777")  # what a database error might quote


@pytest.fixture(autouse=True)
def _clear_effects():
    effects.clear()


@pytest.fixture
def lost(monkeypatch):
    """The queue loses every message (a process killed between commit and send, a Redis flush)."""
    sent: list = []
    monkeypatch.setattr(jobs, "send_message", lambda job_id, eta: sent.append((job_id, eta)))
    return sent


def later(seconds: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


# --- enqueue ---------------------------------------------------------------------------------------------
def test_a_rolled_back_enqueue_leaves_no_row_and_sends_nothing(db, lost, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            jobs.enqueue("test.effect", key="k1", payload={"n": 1})
            raise RuntimeError
    assert not Job.objects.exists() and lost == [] and callbacks == [] and effects == []


def test_the_message_goes_only_after_commit_and_carries_the_id_only(db, lost, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = jobs.enqueue("test.effect", key="k1", payload={"n": 1}, district_id=7)
        assert lost == []
    for callback in callbacks:
        callback()
    assert lost == [(job.pk, None)]
    assert (job.status, job.attempts, job.district_id) == (Status.PENDING, 0, 7)


def test_the_same_key_twice_is_one_row_and_one_effect(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = jobs.enqueue("test.effect", key="once", payload={"n": 1})
    with django_capture_on_commit_callbacks(execute=True):
        second = jobs.enqueue("test.effect", key="once", payload={"n": 2})
    assert first.pk == second.pk and Job.objects.count() == 1
    assert effects == [1]
    assert Job.objects.get().status == Status.DONE
    # A duplicated message finds the row taken and runs nothing.
    assert jobs.run(first.pk) == "skipped" and effects == [1]


def test_unknown_kinds_and_large_payloads_are_refused(db):
    with pytest.raises(ImproperlyConfigured):
        jobs.enqueue("test.no-such-handler", key="x", payload={})
    with pytest.raises(ValueError):
        jobs.enqueue("test.effect", key="x", payload={"ids": list(range(1000))})
    with pytest.raises(ValueError):
        jobs.enqueue("test.effect", key="x" * 201, payload={})
    assert not Job.objects.exists()


def test_a_job_due_later_is_sent_with_its_time_and_not_run_before(db, lost, django_capture_on_commit_callbacks):
    when = later(3600)
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue("test.effect", key="later", payload={"n": 1}, run_after=when)
    assert lost == [(job.pk, when)]
    assert jobs.run(job.pk) == "skipped" and effects == []
    assert jobs.run(job.pk, now=when) == "done" and effects == [1]


# --- failures and retries ----------------------------------------------------------------------------------
def test_a_failing_handler_is_retried_with_backoff_then_fails_with_its_error_visible(db, lost, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue("test.boom", key="boom", payload={})
    with django_capture_on_commit_callbacks(execute=True) as retries:
        _retry_until_failed(job)
    assert len(retries) == 2  # each retry's message goes after its transaction commits, with its time
    assert [eta is not None for _id, eta in lost] == [False, True, True]


def _retry_until_failed(job):
    assert jobs.run(job.pk) == "retry"
    job.refresh_from_db()
    assert job.status == Status.PENDING and job.attempts == 1 and job.run_after > timezone.now()
    assert job.last_error.startswith("ValueError at test_jobs.py:") and "_boom" in job.last_error
    # No personal data reaches the operators' page: not the exception's message.
    assert "13800138000" not in job.last_error and "张三" not in job.last_error and "1101" not in job.last_error
    assert jobs.run(job.pk) == "skipped"  # not due before its backoff
    assert jobs.run(job.pk, now=later(3600)) == "retry"
    assert effects == []
    assert jobs.run(job.pk, now=later(7200)) == "failed"
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempts == 3 and job.finished_at is not None
    assert effects == [("gave up", job.pk)]
    assert jobs.run(job.pk, now=later(9000)) == "skipped"


def test_a_kind_this_worker_does_not_know_is_retried_not_lost(db, lost):
    job = Job.objects.create(kind="test.newer-code", key="new", run_after=timezone.now(), queued_at=timezone.now())
    assert jobs.run(job.pk) == "retry"
    job.refresh_from_db()
    assert job.status == Status.PENDING and job.attempts == 1 and job.last_error == "UnknownKind: test.newer-code"


# --- the sweeper ---------------------------------------------------------------------------------------------
def test_a_lost_message_is_sent_again_by_the_sweeper(db, lost, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue("test.effect", key="lost", payload={"n": 5})
    lost.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep(now=later(30)) == {"restarted": 0, "resent": 0, "failed": 0}  # still in flight
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep(now=later(61))["resent"] == 1
    assert lost == [(job.pk, None)]
    jobs.run(job.pk)
    assert effects == [5]


def test_a_dead_workers_job_is_reclaimed_by_the_sweeper_and_finishes(db, lost, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue("test.effect", key="dead", payload={"n": 9})
    claimed = jobs.claim(job.pk)  # a worker takes it and is killed: no finish, no more heartbeats
    assert claimed.status == Status.RUNNING and claimed.claimed_by and claimed.attempts == 1
    assert jobs.claim(job.pk) is None  # nobody else may take it meanwhile
    lost.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep(now=later(59))["restarted"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep(now=later(61))["restarted"] == 1
    assert lost == [(job.pk, None)]
    assert jobs.run(job.pk) == "done" and effects == [9]
    job.refresh_from_db()
    assert job.status == Status.DONE and job.attempts == 2 and job.last_error == "WorkerLost: no heartbeat"


def test_heartbeats_keep_a_long_job_alive(db, lost, settings, django_capture_on_commit_callbacks):
    settings.GONGYU_JOB_STALE_SECONDS = 60
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue("test.effect", key="long", payload={"n": 1})
    claimed = jobs.claim(job.pk)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=later(-120))  # silent for two minutes …
    with jobs.running(claimed):
        jobs.heartbeat()  # … until it beats
    assert jobs.sweep()["restarted"] == 0
    jobs.heartbeat(claimed)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=later(-120))
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep()["restarted"] == 1


def test_one_sweeper_runs_every_30_seconds(monkeypatch):
    """The minute tick (Huey's periodic tasks are minute-grained) lays out the minute's sweeps: one now, one
    30 s later, both the one sweeper task; nothing else sweeps."""
    planned = []

    class Sweeper:
        def __call__(self):
            planned.append(0)

        def schedule(self, *, delay):
            planned.append(delay)

    monkeypatch.setattr(job_tasks, "sweep_jobs", Sweeper())
    job_tasks.schedule_sweeps.call_local()
    assert planned == [0, 30] and job_tasks.SWEEP_SECONDS == 30
    periodic = {t.name for t in HUEY._registry.periodic_tasks}
    assert "schedule_sweeps" in periodic and not {n for n in periodic if "sweep_jobs" in n}


def test_the_sweep_cadence_keeps_the_emergency_resume_within_60_seconds():
    """docs/decisions/0007: a killed fan-out is dead after notices' stale limit and swept by the next sweep,
    so the two add up to at most 60 s; a live worker's beats (every 10 s) stay well inside the limit."""
    assert notice_tasks.STALE_SECONDS + job_tasks.SWEEP_SECONDS <= notice_tasks.RESUME_WITHIN_SECONDS == 60
    assert jobs.stale_seconds(notice_tasks.services.JOB_KIND) == notice_tasks.STALE_SECONDS
    assert 3 * jobs.KEEPALIVE_SECONDS <= notice_tasks.STALE_SECONDS
    assert 60 % job_tasks.SWEEP_SECONDS == 0


def test_a_worker_that_keeps_dying_ends_failed(db, lost, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue("test.boom", key="dies", payload={})
    for n in range(3):
        assert jobs.claim(job.pk, now=later(120 * n)) is not None
        with django_capture_on_commit_callbacks(execute=True):
            jobs.sweep(now=later(120 * n + 61))
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempts == 3 and effects == [("gave up", job.pk)]


# --- the domain jobs on the outbox ----------------------------------------------------------------------------
def test_a_notice_fanout_runs_through_its_outbox_row(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notice = notice_create(actor=world.teacher_a1, title="家长会", body="请参加。", audience=audience(world.teacher_a1, [world.class_a1]))
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PUBLISHED and Receipt.objects.filter(notice=notice).count() == 3
    nj = NoticeJob.objects.get(notice=notice)
    row = Job.objects.get(key=job_key(nj.pk))
    assert (row.kind, row.payload, row.status, row.attempts, row.district_id) == (
        "notices.job", {"notice_job": nj.pk}, Status.DONE, 1, notice.district_id)


def test_a_notice_whose_message_was_lost_is_published_by_the_sweeper(world, lost, django_capture_on_commit_callbacks, monkeypatch):
    with django_capture_on_commit_callbacks(execute=True):
        notice = notice_create(actor=world.teacher_a1, title="家长会", body="请参加。", audience=audience(world.teacher_a1, [world.class_a1]))
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PUBLISHING
    monkeypatch.undo()  # the queue works again
    with django_capture_on_commit_callbacks(execute=True):
        jobs.sweep(now=later(61))
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PUBLISHED and Receipt.objects.filter(notice=notice).count() == 3


def test_a_roster_import_runs_its_steps_as_outbox_rows(world, client, django_capture_on_commit_callbacks):
    client.force_login(world.school_admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, good_file(), world=world)
    imp = ImportJob.objects.get()
    assert imp.status == ImportStatus.READY
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("roster:job_commit", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    rows = dict(Job.objects.values_list("key", "status"))
    assert rows == {f"roster.validate:{imp.pk}": Status.DONE, f"roster.commit:{imp.pk}": Status.DONE}


def test_a_roster_step_that_keeps_failing_marks_the_import_failed(world, client, django_capture_on_commit_callbacks, monkeypatch):
    def broken(job_id):
        raise OSError("disk")

    monkeypatch.setattr(roster_services, "job_validate", broken)
    client.force_login(world.school_admin_a)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, good_file(), world=world)
    row = Job.objects.get()
    for n in range(1, 5):
        jobs.run(row.pk, now=later(4000 * n))
    row.refresh_from_db()
    imp = ImportJob.objects.get()
    assert row.status == Status.FAILED and row.attempts == 5 and row.last_error.startswith("OSError")
    assert imp.status == ImportStatus.FAILED and imp.error


def test_the_activity_announcement_survives_a_crash_between_commit_and_send(world, lost, django_capture_on_commit_callbacks, monkeypatch):
    with django_capture_on_commit_callbacks(execute=True):
        activity, _session = make_activity(actor=world.school_admin_a, owner=world.school_a, audience_units=[world.class_a1],
                                           announce=True, title="开放日")
    # The process died after the commit: the row is there, no message was sent, no notice exists.
    row = Job.objects.get(kind="activities.announce")
    assert row.key == f"activities.announce:{activity.pk}" and row.payload == {"activity": activity.pk}
    assert row.status == Status.PENDING and not Notice.objects.exists()
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep(now=later(61))["resent"] == 1
    row.refresh_from_db()
    assert row.status == Status.DONE and Notice.objects.count() == 1
    notice = Notice.objects.get()
    assert notice.title.endswith("开放日") and Receipt.objects.filter(notice=notice).exists()
    # Announcing again (a duplicated message, a second publish) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        activity_services.queue_announcement(activity)
        assert jobs.run(row.pk) == "skipped"
    assert Notice.objects.count() == 1 and Job.objects.filter(kind="activities.announce").count() == 1


def test_an_announcement_whose_worker_died_after_the_notice_committed_is_not_sent_twice(world, lost, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_activity(actor=world.school_admin_a, owner=world.school_a, audience_units=[world.class_a1], announce=True)
    row = Job.objects.get(kind="activities.announce")
    handler = jobs.handler_for("activities.announce")
    claimed = jobs.claim(row.pk)
    with jobs.running(claimed), django_capture_on_commit_callbacks(execute=False):
        handler.func(claimed)  # the notice and the row's completion commit together; then the worker dies
    assert Notice.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.sweep(now=later(61))["restarted"] == 0
    assert Notice.objects.count() == 1 and Job.objects.get(pk=row.pk).status == Status.DONE


# --- staff visibility -----------------------------------------------------------------------------------
def test_operators_see_jobs_read_only_with_attempts_and_errors(world, client, lost, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue("test.boom", key="visible", payload={})
    jobs.run(job.pk)
    client.force_login(make_user("运维", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:jobs_job_changelist") + "?status__exact=pending")
    assert page.status_code == 200 and "ValueError" in page.content.decode() and "visible" in page.content.decode()
    assert client.get(reverse("admin:jobs_job_change", args=[job.pk])).status_code == 200
    assert client.get(reverse("admin:jobs_job_add")).status_code == 403
    response = client.post(reverse("admin:jobs_job_delete", args=[job.pk]), {"post": "yes"})
    assert response.status_code == 403 and Job.objects.filter(pk=job.pk).exists()


def test_the_status_command_fails_the_check_on_failed_or_overdue_jobs(db, lost, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.enqueue("test.effect", key="ok", payload={"n": 1})
    out = io.StringIO()
    call_command("jobs_status", "--check", stdout=out)  # pending, just sent: fine
    assert "test.effect" in out.getvalue() and "failed in 24 h: 0" in out.getvalue()
    Job.objects.filter(pk=job.pk).update(run_after=later(-600), queued_at=later(-600))  # lost and not swept
    with pytest.raises(SystemExit):
        call_command("jobs_status", "--check", stdout=io.StringIO())
    Job.objects.filter(pk=job.pk).update(status=Status.FAILED, finished_at=timezone.now())
    with pytest.raises(SystemExit):
        call_command("jobs_status", "--check", stdout=io.StringIO())
    Job.objects.filter(pk=job.pk).update(finished_at=later(-2 * 86400))
    call_command("jobs_status", "--check", stdout=io.StringIO())


@pytest.mark.parametrize("who", ["district_admin", "school_admin_a", "teacher_a1"])
def test_no_role_sees_the_outbox(world, client, who, lost, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue("test.effect", key="x", payload={"n": 1}, district_id=world.district.pk)
    assert not Job.objects.visible_to(getattr(world, who)).exists()
    client.force_login(getattr(world, who))
    assert client.get(reverse("admin:jobs_job_changelist")).status_code == 302


# --- structure --------------------------------------------------------------------------------------------
def test_the_jobs_app_imports_no_domain_app():
    domain = {"notices", "activities", "courses", "homeschool", "roster", "periods"}
    for path in (ROOT / "jobs").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & domain, path


# --- the data move ------------------------------------------------------------------------------------------
@pytest.mark.skipif(connection.vendor != "postgresql", reason="migrates inside the test's transaction: PostgreSQL's DDL is transactional")
def test_unfinished_notice_jobs_move_into_the_outbox_on_upgrade(world):
    before, after = [("notices", "0008_a_reply_implies_a_read")], [("notices", "0009_noticejob_runs_as_a_jobs_row")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldNotice, OldJob = old.get_model("notices", "Notice"), old.get_model("notices", "NoticeJob")
    notice = OldNotice.objects.create(district_id=world.district.pk, sender_unit_id=world.school_a.pk, title="t", body="b",
                                      status="publishing", audience={}, publish_at=timezone.now())
    pending = OldJob.objects.create(notice=notice, kind="fanout", status="pending")
    running = OldJob.objects.create(notice=notice, kind="escalate", status="running", attempts=2, error="KeyError",
                                    heartbeat_at=timezone.now())
    OldJob.objects.create(notice=notice, kind="remind", ref=1, status="done", attempts=1)
    with connection.cursor() as cur:  # deferred foreign-key checks now: ALTER TABLE refuses pending ones
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    rows = {row.key: row for row in Job.objects.all()}
    assert set(rows) == {f"notices.job:{pending.pk}", f"notices.job:{running.pk}"}
    moved = rows[f"notices.job:{running.pk}"]
    assert (moved.status, moved.attempts, moved.last_error, moved.district_id) == (Status.PENDING, 2, "KeyError", world.district.pk)
    assert rows[f"notices.job:{pending.pk}"].payload == {"notice_job": pending.pk}
