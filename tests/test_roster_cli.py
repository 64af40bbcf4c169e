"""manage.py import_roster / export_roster: dry runs, JSON reports, exit codes, scope with --as, and an
export → import round trip from the command line."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from people.models import Guardian, Student
from roster.testing import id_number, template_rows, xlsx_bytes


def roster_file(tmp_path, students, guardians, name="roster.xlsx"):
    path = tmp_path / name
    path.write_bytes(xlsx_bytes(template_rows(students, guardians)))
    return path


def s(i, **kw):
    row = {"school_code": "SA", "grade": "三年级", "class_name": "三(1)班", "student_name": f"命令行{i}", "student_no": f"C{i:010d}", "id_number": id_number(i)}
    row.update(kw)
    return row


def g(i, phone, **kw):
    row = {"student_no": f"C{i:010d}", "guardian_name": f"家长{i}", "relation": "父亲", "phone": phone}
    row.update(kw)
    return row


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_dry_run_reports_counts_and_writes_nothing(world, tmp_path):
    path = roster_file(tmp_path, [s(1), s(2)], [g(1, "13300000001"), g(2, "13300000002")])
    report = tmp_path / "report.json"
    before = Student.objects.count()
    out, err = run("import_roster", str(path), "--district", "D1", "--dry-run", "--report-json", str(report))
    assert "试运行" in out and "将新增 2" in out
    assert "校验" in err  # progress goes to stderr
    assert Student.objects.count() == before
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["dry_run"] is True and data["committed"] is False and data["problems"] == []
    assert data["counts"]["students"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert data["sheets"][0]["sheet"] == "学生"


def test_problems_give_exit_code_one_and_a_json_report(world, tmp_path):
    path = roster_file(tmp_path, [s(1, id_number="110101201501010012"), s(2, class_name="三(7)班")], [g(3, "13300000001"), g(1, "1330000")])
    report = tmp_path / "report.json"
    with pytest.raises(CommandError) as exc:
        run("import_roster", str(path), "--district", "D1", "--report-json", str(report))
    assert exc.value.returncode == 1 and "4 个问题" in str(exc.value)
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["committed"] is False and data["problem_count"] == 4
    assert [(p["row"], p["column"], p["code"]) for p in data["problems"]] == [
        (2, "身份证号", "id_checksum"), (3, "班级", "class_unknown"), (2, "学生学籍号", "guardian_without_student"), (3, "手机号", "phone_invalid"),
    ]
    assert all(set(p) >= {"row", "column", "code", "message"} for p in data["problems"])
    assert not Student.objects.filter(name__startswith="命令行").exists()
    # A dry run of a broken file fails the same way (the problems would prevent the commit).
    with pytest.raises(CommandError):
        run("import_roster", str(path), "--district", "D1", "--dry-run")


def test_import_commits_and_reimport_changes_nothing(world, tmp_path):
    path = roster_file(tmp_path, [s(1), s(2)], [g(1, "13300000001"), g(2, "13300000001", guardian_name="家长1")])
    with pytest.raises(CommandError, match="--district"):
        run("import_roster", str(path))  # two districts on this platform: the system must be told which
    out, _err = run("import_roster", str(path), "--district", "D1")
    assert "导入完成" in out and "新增 2" in out
    assert Student.objects.filter(name__startswith="命令行").count() == 2 and Guardian.objects.filter(name="家长1").count() == 1
    event = AuditEvent.objects.get(action="roster.import")
    assert event.actor_label == "cli:system" and event.changes["students"]["created"] == 2
    report = tmp_path / "again.json"
    run("import_roster", str(path), "--district", "D1", "--report-json", str(report))
    counts = json.loads(report.read_text(encoding="utf-8"))["counts"]
    assert counts["students"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert counts["guardianships"] == {"created": 0, "updated": 0, "unchanged": 2}


def test_as_a_school_admin_the_scope_applies(world, tmp_path):
    path = roster_file(tmp_path, [s(1), s(2, school_code="SB", grade="七年级", class_name="七(1)班")], [])
    with pytest.raises(CommandError):
        run("import_roster", str(path), "--as", world.school_admin_a.phone, "--report-json", str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [(p["row"], p["code"]) for p in data["problems"]] == [(3, "scope_denied")]
    with pytest.raises(CommandError, match="无权"):
        run("import_roster", str(path), "--as", world.school_admin_a.phone, "--school", "SB")
    with pytest.raises(CommandError, match="找不到"):
        run("import_roster", str(path), "--as", "13000000000")
    assert not Student.objects.filter(name__startswith="命令行").exists()


def test_export_then_import_round_trips_from_the_command_line(world, tmp_path):
    run("import_roster", "--district", "D1", str(roster_file(tmp_path, [s(1), s(2)], [g(1, "13300000001"), g(2, "13300000002", relation="外公")])))
    out_path = tmp_path / "export.xlsx"
    out, _err = run("export_roster", "--school", "SA", str(out_path))
    assert "已导出" in out and out_path.stat().st_size > 0
    report = tmp_path / "rt.json"
    run("import_roster", str(out_path), "--school", "SA", "--dry-run", "--report-json", str(report))
    counts = json.loads(report.read_text(encoding="utf-8"))["counts"]
    for key in ("students", "guardians", "guardianships"):
        assert counts[key]["created"] == 0 and counts[key]["updated"] == 0, (key, counts)
    assert counts["students"]["unchanged"] == Student.objects.filter(school=world.school_a).count()
    # As the district admin the numbers are masked, and the masked file still round-trips.
    masked = tmp_path / "masked.csv"
    out, _err = run("export_roster", "--as", world.district_admin.phone, str(masked))
    assert "脱敏" in out and "****" in masked.read_text(encoding="utf-8-sig")
    run("import_roster", str(masked), "--as", world.district_admin.phone, "--dry-run", "--report-json", str(report))
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["problems"] == [] and all(data["counts"][k]["updated"] == 0 for k in ("students", "guardians", "guardianships"))
