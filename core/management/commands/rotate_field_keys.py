from django.core.management.base import BaseCommand

from core.crypto import rotate_encrypted_fields


class Command(BaseCommand):
    help = "用首个 GONGYU_FIELD_KEY 重新加密敏感字段并重算摘要 / Re-encrypt sensitive fields under the first key."

    def handle(self, *args, **options):
        for label, rows in rotate_encrypted_fields().items():
            self.stdout.write(f"{label}: {rows} rows re-encrypted")
