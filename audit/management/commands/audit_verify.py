from django.core.management.base import BaseCommand, CommandError

from audit.models import AccessEvent, AuditEvent
from audit.services import verify_chain


class Command(BaseCommand):
    help = "校验审计日志哈希链，报告第一条被篡改或缺失的记录 / Verify the audit hash chains."

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor",
            metavar="ID:HASH",
            help="a head printed by an earlier run and kept outside the database: that row must still "
            "exist with that hash (catches removal of the newest rows, which a chain alone cannot)",
        )

    def handle(self, *args, anchor=None, **options):
        broken = False
        for model in (AuditEvent, AccessEvent):
            report = verify_chain(model)
            name = model._meta.label
            if report.ok:
                head = f"; head {report.last_id}:{report.last_hash}" if report.last_id else ""
                self.stdout.write(f"{name}: OK, {report.checked} rows verified{head}")
            else:
                broken = True
                self.stdout.write(f"{name}: BROKEN at row id={report.first_broken_id} after {report.checked} good rows: {report.problem}")
        if anchor:
            row_id, _sep, row_hash = anchor.partition(":")
            if not (row_id.isdigit() and AuditEvent.objects.filter(pk=int(row_id), hash=row_hash).exists()):
                broken = True
                self.stdout.write(f"audit.AuditEvent: anchor {anchor} not found: rows at or before it were removed or rewritten")
            else:
                self.stdout.write(f"audit.AuditEvent: anchor {row_id} present")
        if broken:
            raise CommandError("audit chain verification failed")
