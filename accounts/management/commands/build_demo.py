"""manage.py build_demo [--students N] [--seed S] [--if-empty]: build the demo district and write the
demo log-in list (var/demo_logins.json). Safe to run again: an existing demo district is kept as it is."""

import time

from django.core.management.base import CommandError

from accounts.demo import DISTRICT_CODE, DemoBuilder, DemoConflict, write_logins
from core.demo import DemoCommand
from org.models import Kind, OrgUnit
from people.models import Student

MIN_STUDENTS = 100
MAX_STUDENTS = 500_000


class Command(DemoCommand):  # refuses under production settings
    help = "Build the demo district (Faker zh_CN, seeded) and write var/demo_logins.json."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=3000, help="number of students (default 3000)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed: the same seed builds the same district")
        parser.add_argument("--if-empty", action="store_true", help="build only when the database holds no district yet")

    def handle(self, *args, students, seed, if_empty, **options):
        if not MIN_STUDENTS <= students <= MAX_STUDENTS:
            raise CommandError(f"--students 应在 {MIN_STUDENTS} 到 {MAX_STUDENTS} 之间。")
        districts = OrgUnit.objects.filter(kind=Kind.DISTRICT)
        existing = districts if if_empty else districts.filter(code=DISTRICT_CODE)
        first = existing.order_by("id").first()
        if first is not None:
            count = Student.objects.filter(district_id=first.pk).count()
            self.stdout.write(f"demo district already present: {first.name}, {count} students; nothing built")
        else:
            started = time.monotonic()
            try:
                counts = DemoBuilder(students=students, seed=seed, out=self.stdout.write).build()
            except DemoConflict as exc:
                raise CommandError(f"无法生成示范区：{exc}。请使用空数据库，或先删除这些账号。") from exc
            summary = ", ".join(f"{k}={v}" for k, v in counts.items() if k != "seconds")
            self.stdout.write(self.style.SUCCESS(f"demo district built in {time.monotonic() - started:.1f}s: {summary}"))
        path, n = write_logins()
        self.stdout.write(f"demo log-ins ({n} accounts) written to {path}")
