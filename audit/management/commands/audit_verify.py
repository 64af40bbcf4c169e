from django.core.management.base import BaseCommand, CommandError

from audit.models import AccessEvent, AuditEvent
from audit.services import verify_chain


class Command(BaseCommand):
    help = "校验审计日志哈希链，报告第一条被篡改或缺失的记录 / Verify the audit hash chains."

    def handle(self, *args, **options):
        broken = False
        for model in (AuditEvent, AccessEvent):
            report = verify_chain(model)
            name = model._meta.label
            if report.ok:
                self.stdout.write(f"{name}: OK, {report.checked} rows verified")
            else:
                broken = True
                self.stdout.write(f"{name}: BROKEN at row id={report.first_broken_id} after {report.checked} good rows: {report.problem}")
        if broken:
            raise CommandError("audit chain verification failed")
