"""The one guard of the commands that build demo data (demo, build_demo, demo_activities, demo_notices)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class DemoCommand(BaseCommand):
    """Refuses to run under production settings: the demo creates thousands of accounts, a district admin
    among them, whose password is published in the README and in var/demo_logins.json."""

    def execute(self, *args, **options):
        if settings.GONGYU_ENV == "production":
            raise CommandError(
                f"{self._name()} 只用于试用和演示，生产环境（GONGYU_ENV=production）下不能运行："
                "它会创建数千个使用公开密码的账号，其中包括区管理员。"
            )
        return super().execute(*args, **options)

    def _name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]
