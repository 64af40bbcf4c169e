"""manage.py export_roster [--school CODE] [--district CODE] [--as PHONE] [--format xlsx|csv] PATH

Writes the students and guardians of the school (or the whole district) in the import layout. With --as,
the user's scope applies, including masking of phones and ID numbers they may not see."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from audit.services import Actor, actor_for
from roster import services
from roster.management.commands._roster_cli import acting_user, resolve_place


class Command(BaseCommand):
    help = "导出学生及监护人花名册（与导入模板格式相同）"

    def add_arguments(self, parser):
        parser.add_argument("path", help="输出文件（.xlsx 或 .csv）")
        parser.add_argument("--school", help="学校标识码；不填则导出整个区县")
        parser.add_argument("--district", help="区县代码（有多个区县时必填，除非给出 --school）")
        parser.add_argument("--format", choices=["xlsx", "csv"], help="默认按文件扩展名")
        parser.add_argument("--as", dest="as_phone", help="以该手机号账号的身份和权限范围导出")

    def handle(self, *args, **options):
        path = Path(options["path"])
        fmt = options["format"] or ("csv" if path.suffix.lower() == ".csv" else "xlsx")
        user = acting_user(options["as_phone"])
        district, school = resolve_place(user=user, school_code=options["school"], district_code=options["district"])
        unit = school or district
        actor = actor_for(user, label=f"cli:{user.pk}") if user is not None else Actor(None, "cli:system")
        try:
            with path.open("wb") as out:
                result = services.export_roster(user=user, unit=unit, fmt=fmt, out=out, actor=actor)
        except PermissionDenied as exc:
            path.unlink(missing_ok=True)
            raise CommandError(_("该账号无权导出所选的学校或区县。")) from exc
        self.stdout.write(self.style.SUCCESS(_("已导出 %(s)d 名学生、%(g)d 条监护关系到 %(path)s") % {
            "s": result.students, "g": result.guardianships, "path": path}))
        if result.contact_masked or result.identity_masked:
            self.stdout.write(_("按权限脱敏：%(c)d 名学生的监护人手机号、%(i)d 名学生的身份证号和学籍号。再次导入时脱敏值表示“不修改”，脱敏学籍号按学生姓名对应。") % {
                "c": result.contact_masked, "i": result.identity_masked})
