"""manage.py import_roster FILE [--school CODE] [--district CODE] [--dry-run] [--report-json PATH] [--as PHONE]

Validates the file and, when no row has a problem, writes it in one transaction (nothing is written
otherwise). Exit code 1 when problems prevent the import. Without --as the command acts as the system
(any school of the district); with --as it acts with that user's scope."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from django.utils.translation import gettext as _

from core.perms import can
from people.perms import MANAGE
from roster import reader, services
from roster.management.commands._roster_cli import acting_user, resolve_place

SHOWN_PROBLEMS = 30


class Command(BaseCommand):
    help = "导入学生及监护人花名册（.xlsx 或 .csv）"

    def add_arguments(self, parser):
        parser.add_argument("file", help="花名册文件（.xlsx 或 .csv）")
        parser.add_argument("--school", help="学校标识码：只导入到这所学校，空白的学校列按该校处理")
        parser.add_argument("--district", help="区县代码（有多个区县时必填，除非给出 --school）")
        parser.add_argument("--dry-run", action="store_true", help="只校验并报告，不写入")
        parser.add_argument("--report-json", help="把计数和问题清单写入该 JSON 文件")
        parser.add_argument("--as", dest="as_phone", help="以该手机号账号的身份和权限范围导入")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("找不到文件：%(path)s") % {"path": path})
        with path.open("rb") as fh:
            fmt = reader.sniff_format(fh.read(65536))
        if fmt is None or (path.suffix.lower() not in (".xlsx", ".csv")):
            raise CommandError(_("只能导入 .xlsx 或 .csv 文件（按内容判断）。"))
        user = acting_user(options["as_phone"])
        district, school = resolve_place(user=user, school_code=options["school"], district_code=options["district"])
        if user is not None and not can(user, MANAGE, school or district):
            if school is not None or not can(user, MANAGE):
                raise CommandError(_("该账号无权导入到所选的学校或区县。"))

        last = {"phase": None}

        def progress(phase: str, done: int, total: int) -> None:
            if total:
                self.stderr.write(f"  {phase} {done}/{total}")
            elif phase != last["phase"]:
                self.stderr.write(f"  {phase}…")
            last["phase"] = phase

        try:
            imp, job = services.import_file(path_or_file=str(path), fmt=fmt, user=user, district=district, school=school,
                                            dry_run=options["dry_run"], progress=progress, name=path.name)
        except IntegrityError as exc:
            raise CommandError(_("导入时另一项操作同时修改了这些学生或监护人，未写入任何数据。请重新运行。")) from exc
        committed = not imp.problems and not options["dry_run"]
        report = {
            "file": path.name,
            "district": district.name,
            "school": school.name if school else None,
            "dry_run": options["dry_run"],
            "committed": committed,
            "job": job.pk,
            "counts": imp.counts,
            "problem_count": len(imp.problems),
            "problems": [{"row": p.row, "column": p.column, "code": p.code, "message": p.message, "sheet": p.sheet}
                         for p in imp.problems],
            "sheets": reader.sheet_summary(imp.layouts),
        }
        if options["report_json"]:
            Path(options["report_json"]).write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        self._print_counts(imp.counts, committed, options["dry_run"])
        if imp.problems:
            for p in imp.problems[:SHOWN_PROBLEMS]:
                where = f"{p.sheet}!" if p.sheet else ""
                self.stdout.write(f"  {where}第{p.row}行 [{p.column or '-'}] {p.code}: {p.message}")
            if len(imp.problems) > SHOWN_PROBLEMS:
                self.stdout.write(_("  ……另有 %(n)d 个问题，见 --report-json") % {"n": len(imp.problems) - SHOWN_PROBLEMS})
            raise CommandError(_("发现 %(n)d 个问题，未写入任何数据。") % {"n": len(imp.problems)}, returncode=1)

    def _print_counts(self, counts: dict, committed: bool, dry_run: bool) -> None:
        out = self.stdout
        if committed:
            out.write(self.style.SUCCESS(_("导入完成。")))
        elif dry_run:
            out.write(_("试运行（--dry-run），未写入任何数据。"))
        rows = counts.get("rows", {})
        out.write(_("读取：学生 %(s)d 行，监护人 %(g)d 行") % {"s": rows.get("students", 0), "g": rows.get("guardians", 0)})
        if counts.get("problems"):
            return  # with problems nothing will be written: per-kind counts would only mislead
        for key, label in (("students", _("学生")), ("guardians", _("监护人")), ("guardianships", _("监护关系"))):
            c = counts.get(key, {})
            verb = _("新增") if committed else _("将新增")
            out.write(f"{label}: {verb} {c.get('created', 0)}，{_('更新')} {c.get('updated', 0)}，{_('无变化')} {c.get('unchanged', 0)}")
        sys.stdout.flush()
