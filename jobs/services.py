"""The jobs outbox: register a handler, enqueue a unit of work in the caller's transaction, run it once.

- enqueue() writes a Job row in the caller's transaction and sends the queue message (the job id only)
  when that transaction commits: a rollback leaves neither row nor message.
- The key is unique: enqueueing the same unit twice gives one row and one effect.
- run() claims the row atomically, so a duplicated message runs nothing twice; a handler that raises is
  retried with backoff until max_attempts, its attempts and last error kept on the row for the operators.
- sweep() is the one sweeper: pending rows whose message was lost and running rows whose worker stopped
  beating are queued again. Handlers must therefore be idempotent (the domain's unique keys make them so).

Handlers live in the domain apps (their tasks.py, loaded by JobsConfig.ready): this module never imports one.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from jobs.models import Job, Status

# The outbox acts for no user: its runner and sweeper read every row (docs/decisions/0013).
_OUTBOX = "the jobs outbox: runner and sweeper"

__all__ = ["Job", "Status", "claim", "complete", "current", "enqueue", "heartbeat", "keepalive", "register", "run",
           "running", "sweep"]

log = logging.getLogger(__name__)

MAX_PAYLOAD_CHARS = 1000  # ids, not documents
BACKOFF_SECONDS = (10, 60, 300, 1800, 3600)  # after the 1st, 2nd, … failed attempt
SWEEP_BATCH = 500
# A handler registered with a short stale limit (a resume within a minute) is beaten this often from a side
# thread on its own connection, so a live worker stays visible inside one long statement or transaction.
KEEPALIVE_SECONDS = 10


@dataclass(frozen=True)
class Handler:
    kind: str
    func: Callable[[Job], object]
    max_attempts: int
    on_give_up: Callable[[Job], None] | None
    stale_seconds: int | None  # None: GONGYU_JOB_STALE_SECONDS


_handlers: dict[str, Handler] = {}
_current: contextvars.ContextVar[Job | None] = contextvars.ContextVar("current_job", default=None)
# What sends a queue message, callable(job_id, eta or None): jobs.tasks installs the Huey task; tests may
# put a stand-in here (a list that records messages, or nothing: a lost message).
send_message: Callable[[int, dt.datetime | None], None] | None = None


def register(kind: str, *, max_attempts: int = 5, on_give_up: Callable[[Job], None] | None = None,
             stale_seconds: int | None = None):
    """Decorator: handler(job) runs the unit of work `kind`; it reads its ids from job.payload.

    on_give_up(job) runs once when the job ends failed, so the domain can mark its own record.
    stale_seconds: for a handler that works inside one long transaction, whose heartbeats nobody sees
    before it commits — the sweeper waits this long before it takes the worker for dead."""

    def decorate(func):
        known = _handlers.get(kind)
        if known is not None and known.func.__qualname__ != func.__qualname__:
            raise ImproperlyConfigured(f"job kind {kind!r} is registered twice")
        _handlers[kind] = Handler(kind, func, max_attempts, on_give_up, stale_seconds)
        return func

    return decorate


def handler_for(kind: str) -> Handler:
    try:
        return _handlers[kind]
    except KeyError:
        raise ImproperlyConfigured(f"no job handler registered for {kind!r}") from None


def stale_seconds(kind: str | None = None) -> int:
    handler = _handlers.get(kind) if kind else None
    if handler is not None and handler.stale_seconds:
        return handler.stale_seconds
    return max(5, int(getattr(settings, "GONGYU_JOB_STALE_SECONDS", 60)))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:80]


def _check_payload(payload: dict) -> None:
    text = json.dumps(payload, sort_keys=True)
    if len(text) > MAX_PAYLOAD_CHARS:
        raise ValueError("a job payload carries ids only")


def enqueue(kind: str, *, key: str, payload: dict, run_after: dt.datetime | None = None,
            district_id: int | None = None, max_attempts: int | None = None) -> Job:
    """The row, in the caller's transaction; the message, after it commits. Same key: the row there is."""
    handler = handler_for(kind)
    _check_payload(payload)
    if not key or len(key) > 200:  # cut, two keys could meet: refuse instead
        raise ValueError("a job key has 1 to 200 characters")
    now = timezone.now()
    when = run_after or now
    with transaction.atomic():
        job, created = Job.objects.system(reason=_OUTBOX).get_or_create(
            key=key,
            defaults={"kind": kind, "payload": payload, "run_after": when, "queued_at": when, "district_id": district_id,
                      "max_attempts": max_attempts or handler.max_attempts},
        )
    if created:
        job_id = job.pk
        transaction.on_commit(lambda: _send(job_id, when if when > now else None))
    return job


def _send(job_id: int, eta: dt.datetime | None) -> None:
    if send_message is None:
        raise ImproperlyConfigured("jobs.tasks is not loaded: no queue to send job messages to")
    send_message(job_id, eta)


def current() -> Job | None:
    """The job this thread is running, if any."""
    return _current.get()


def heartbeat(job: Job | None = None) -> None:
    """Long handlers call this between steps: a row silent for GONGYU_JOB_STALE_SECONDS is taken for dead."""
    job = job or _current.get()
    if job is None:  # the same code run synchronously (a command, the demo): no row to keep alive
        return
    now = timezone.now()
    Job.objects.system(reason=_OUTBOX).filter(pk=job.pk, status=Status.RUNNING).update(heartbeat_at=now)
    job.heartbeat_at = now


def complete(job: Job) -> None:
    """Mark the job done in the handler's own transaction: for a handler whose effect is one transaction,
    the effect and the completion then commit together, so a worker killed in between repeats nothing."""
    now = timezone.now()
    Job.objects.system(reason=_OUTBOX).filter(pk=job.pk, status=Status.RUNNING).update(status=Status.DONE, finished_at=now, heartbeat_at=now)


def claim(job_id: int, *, now: dt.datetime | None = None) -> Job | None:
    """Take a due pending row for this worker, or None (another worker has it, it is done, or not yet due)."""
    now = now or timezone.now()
    due = Job.objects.system(reason=_OUTBOX).filter(pk=job_id, status=Status.PENDING, run_after__lte=now)
    fields = {"status": Status.RUNNING, "attempts": F("attempts") + 1, "claimed_at": now, "heartbeat_at": now,
              "claimed_by": worker_name()}
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: a second delivery of the same message skips the locked row instead of queueing on it.
        with transaction.atomic():
            if not due.select_for_update(skip_locked=True).values_list("pk", flat=True).first():
                return None
            due.update(**fields)
    elif not due.update(**fields):  # SQLite: the conditional UPDATE is the claim (writers are serialised)
        return None
    return Job.objects.system(reason=_OUTBOX).get(pk=job_id)


def describe_error(exc: BaseException) -> str:
    """What the operators see: the exception's class and where it was raised, never its message
    (messages of database and validation errors quote the values: names, phones, ID numbers)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" at {os.path.basename(last.filename)}:{last.lineno} in {last.name}"
    return f"{type(exc).__name__}{where}"[:300]


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1])


def run(job_id: int, *, now: dt.datetime | None = None) -> str:
    """Run one job to its end: done, retried later, or failed after max_attempts. Returns which."""
    job = claim(job_id, now=now)
    if job is None:
        return "skipped"
    handler = _handlers.get(job.kind)
    if handler is None:  # a worker still on older code during a deployment: try again later, on another
        return _failed(job, Handler(job.kind, lambda job: None, job.max_attempts, None, None),
                       f"UnknownKind: {job.kind}"[:300])
    quick = handler.stale_seconds is not None and handler.stale_seconds <= stale_seconds()
    with running(job), (keepalive(job) if quick else contextlib.nullcontext()):
        return _run_claimed(job, handler)


@contextlib.contextmanager
def keepalive(job: Job, every: float = KEEPALIVE_SECONDS):
    """Beat the job's row every `every` seconds while the block runs, from a thread with its own database
    connection: its beats commit at once, whatever statement or transaction the handler is in. A killed
    process takes the thread with it, so the beats stop exactly when the worker dies."""
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(every):
                try:
                    Job.objects.system(reason=_OUTBOX).filter(pk=job.pk, status=Status.RUNNING).update(heartbeat_at=timezone.now())
                except Exception:  # a lost connection for one beat: the next beat tries again
                    log.exception("keepalive of job %s failed", job.pk)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"job-{job.pk}-keepalive", daemon=True)
    thread.start()
    try:
        yield job
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def running(job: Job):
    """Make `job` this thread's current job (heartbeat() without an argument beats it)."""
    token = _current.set(job)
    try:
        yield job
    finally:
        _current.reset(token)


def _run_claimed(job: Job, handler: Handler) -> str:
    try:
        # No transaction around the handler: its steps commit as they go (a fan-out's batches), so that a
        # rerun after a killed worker resumes where it stopped. A killed worker never reaches except/finally.
        handler.func(job)
    except Exception as exc:
        log.exception("job %s (%s) failed on attempt %s", job.pk, job.kind, job.attempts)
        return _failed(job, handler, describe_error(exc))
    finished = timezone.now()
    Job.objects.system(reason=_OUTBOX).filter(pk=job.pk, status=Status.RUNNING).update(status=Status.DONE, finished_at=finished,
                                                                 heartbeat_at=finished)
    return "done"


def _failed(job: Job, handler: Handler, error: str) -> str:
    now = timezone.now()
    if job.attempts >= job.max_attempts:
        Job.objects.system(reason=_OUTBOX).filter(pk=job.pk).update(status=Status.FAILED, last_error=error, finished_at=now, heartbeat_at=now)
        job.status, job.last_error = Status.FAILED, error
        if handler.on_give_up is not None:
            handler.on_give_up(job)
        return "failed"
    when = now + backoff(job.attempts)
    Job.objects.system(reason=_OUTBOX).filter(pk=job.pk).update(status=Status.PENDING, last_error=error, run_after=when, queued_at=when,
                                         heartbeat_at=now)
    transaction.on_commit(lambda: _send(job.pk, when))
    return "retry"


def sweep(now: dt.datetime | None = None) -> dict:
    """The one sweeper. Running rows silent for the stale limit lost their worker: queue them again (or
    fail them when out of attempts). Pending rows whose message is older than the limit lost it: send again."""
    now = now or timezone.now()
    shortest = min([stale_seconds(), *(h.stale_seconds for h in _handlers.values() if h.stale_seconds)])
    stale = now - dt.timedelta(seconds=shortest)
    counts = {"restarted": 0, "resent": 0, "failed": 0}
    lost_worker = "WorkerLost: no heartbeat"
    for job in Job.objects.system(reason=_OUTBOX).filter(status=Status.RUNNING, heartbeat_at__lt=stale).order_by("heartbeat_at")[:SWEEP_BATCH]:
        silent_since = now - dt.timedelta(seconds=stale_seconds(job.kind))
        still = Job.objects.system(reason=_OUTBOX).filter(pk=job.pk, status=Status.RUNNING, heartbeat_at__lt=silent_since)
        if job.attempts >= job.max_attempts:
            if still.update(status=Status.FAILED, last_error=lost_worker, finished_at=now):
                counts["failed"] += 1
                handler = _handlers.get(job.kind)
                if handler is not None and handler.on_give_up is not None:
                    handler.on_give_up(job)
        elif still.update(status=Status.PENDING, last_error=lost_worker, queued_at=now):  # run_after: due already
            _send_after_commit(job.pk)
            counts["restarted"] += 1
    for pk, kind in Job.objects.system(reason=_OUTBOX).filter(status=Status.PENDING, queued_at__lt=stale).order_by("queued_at").values_list(
        "pk", "kind"
    )[:SWEEP_BATCH]:
        # Each kind's own limit: a short one (the notices' 30 s) must not resend every other kind's messages early.
        lost_since = now - dt.timedelta(seconds=stale_seconds(kind))
        if Job.objects.system(reason=_OUTBOX).filter(pk=pk, status=Status.PENDING, queued_at__lt=lost_since).update(queued_at=now):
            _send_after_commit(pk)
            counts["resent"] += 1
    return counts


def _send_after_commit(job_id: int) -> None:
    transaction.on_commit(lambda: _send(job_id, None))


def run_pending(*, keys: list[str], now: dt.datetime | None = None) -> int:
    """Run these pending jobs here and now, as a worker would (the demo data and tests need the outcome
    at once). A job already taken or finished is skipped, as a duplicated message would be."""
    ran = 0
    for pk in Job.objects.system(reason=_OUTBOX).filter(key__in=keys, status=Status.PENDING).order_by("pk").values_list("pk", flat=True):
        ran += run(pk, now=now) != "skipped"
    return ran
