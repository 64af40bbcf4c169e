"""Notes in Redis, under the probe queue's name, what each consumer process does with periodic tasks.

run_huey imports this module (it autoloads every installed app's `tasks`), so it is in every consumer the
test starts. Each note is "<verb> <pid> [<task name>]":
- "tick": the consumer's scheduler is looping (Huey's Scheduler reads the schedule once per loop, then
  enqueues the periodic tasks that are due: the first loop after start-up enqueues every task of the
  current minute). A second tick therefore means the first loop's periodic step is over.
- "enqueued": this process put a periodic task on the queue (a project task or `probe_every_minute`).
No task runs: the consumers have no database of their own, and the test is about scheduling only.
"""

import os

from huey import crontab
from huey.api import PeriodicTask
from huey.contrib.djhuey import HUEY, periodic_task
from huey.exceptions import CancelExecution
from huey.signals import SIGNAL_ENQUEUED

NOTES = f"{HUEY.name}:probe"
_redis = HUEY.storage.conn
_read_schedule = HUEY.read_schedule


@periodic_task(crontab())  # every minute, so the first scheduler loop always has it due
def probe_every_minute():
    pass


@HUEY.signal(SIGNAL_ENQUEUED)
def _note_enqueued(signal, task):
    if isinstance(task, PeriodicTask):
        _redis.rpush(NOTES, f"enqueued {os.getpid()} {task.name}")


def _read_schedule_noted(timestamp=None):
    _redis.rpush(NOTES, f"tick {os.getpid()}")
    return _read_schedule(timestamp)


HUEY.read_schedule = _read_schedule_noted


@HUEY.pre_execute(name="huey_probe.run_nothing")
def _run_nothing(task):
    raise CancelExecution(retry=False)
