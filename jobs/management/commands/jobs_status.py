"""Operators' check of the jobs outbox: counts by kind and status, and what is overdue.

    manage.py jobs_status            # a table
    manage.py jobs_status --check    # also exit 1 when a job failed in the last 24 h (--hours) or waits
                                     # well past the stale limit: for the operators' monitoring
"""

import datetime as dt

from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils import timezone

from jobs import services
from jobs.models import Job, Status


class Command(BaseCommand):
    help = "Counts of background jobs by kind and status; --check exits 1 on failed or overdue jobs."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="exit 1 when a job failed or is overdue")
        parser.add_argument("--hours", type=int, default=24, help="count jobs that failed within this many hours")

    def handle(self, *args, check=False, hours=24, **options):
        rows = Job.objects.system(reason="an operators' report of the outbox").values("kind", "status").annotate(n=Count("id")).order_by("kind", "status")
        for row in rows:
            self.stdout.write(f"{row['kind']:<24} {row['status']:<8} {row['n']}")
        # Overdue: due for longer than two sweeps could take, or running without a heartbeat that long.
        limit = timezone.now() - dt.timedelta(seconds=2 * services.stale_seconds() + 60)
        overdue = Job.objects.system(reason="an operators' report of the outbox").filter(status=Status.PENDING, run_after__lt=limit, queued_at__lt=limit).count()
        silent = Job.objects.system(reason="an operators' report of the outbox").filter(status=Status.RUNNING, heartbeat_at__lt=limit).count()
        since = timezone.now() - dt.timedelta(hours=hours)
        failed = Job.objects.system(reason="an operators' report of the outbox").filter(status=Status.FAILED, finished_at__gte=since).count()
        self.stdout.write(f"failed in {hours} h: {failed}; pending overdue: {overdue}; running silent: {silent}")
        if check and (failed or overdue):
            raise SystemExit(1)
