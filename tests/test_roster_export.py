"""Roster export: the same layout as the import, only what the user may see, masked where they may not see
contact or identity numbers — and export → import round-trips with nothing changed."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from python_calamine import CalamineWorkbook

from audit.models import AuditEvent
from people.models import Guardian, Guardianship, Student
from roster import services
from roster.testing import id_number, template_rows, xlsx_bytes
from tests.world import identity_reads


def export(user, unit, fmt="xlsx") -> bytes:
    out = io.BytesIO()
    services.export_roster(user=user, unit=unit, fmt=fmt, out=out)
    return out.getvalue()


def run(user, district, data, fmt="xlsx"):
    imp, _job = services.import_file(path_or_file=io.BytesIO(data), fmt=fmt, user=user, district=district, source="test")
    return imp


def sheets(data: bytes) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def no_changes(imp) -> bool:
    c = imp.counts
    return not imp.problems and all(c[k]["created"] == 0 and c[k]["updated"] == 0 for k in ("students", "guardians", "guardianships"))


@pytest.fixture
def roster_world(world):
    """The world plus a few imported families, so the round trip covers IDs, flags and shared guardians."""
    students = [
        {"school_name": "东城实验小学", "grade": "三年级", "class_name": "三(1)班", "student_name": f"学生{i}", "student_no": f"G{i:010d}",
         "id_number": id_number(i), "gender": "男" if i % 2 else "女"}
        for i in range(1, 6)
    ] + [{"school_code": "SB", "grade": "七年级", "class_name": "七(1)班", "student_name": "初中生", "student_no": "G0000000099"}]
    guardians = [
        {"student_no": f"G{i:010d}", "guardian_name": f"母亲{i}", "relation": "母亲", "phone": f"1370000000{i}", "is_primary": "是", "lives_with": "是"}
        for i in range(1, 6)
    ] + [
        {"student_no": "G0000000001", "guardian_name": "共同外婆", "relation": "外祖母", "phone": "13600000001", "lives_with": "否"},
        {"student_no": "G0000000002", "guardian_name": "共同外婆", "relation": "外祖母", "phone": "13600000001", "lives_with": "否"},
        {"student_no": "G0000000099", "guardian_name": "初中家长", "relation": "父亲", "phone": "13600000099"},
    ]
    imp = run(world.district_admin, world.district, xlsx_bytes(template_rows(students, guardians)))
    assert imp.problems == []
    return world


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_school_admin_round_trip_reports_zero_changes(roster_world, fmt):
    w = roster_world
    data = export(w.school_admin_a, w.school_a, fmt)
    before = (Student.objects.count(), Guardian.objects.count(), Guardianship.objects.count())
    imp = run(w.school_admin_a, w.district, data, fmt)
    assert no_changes(imp), (imp.problems, imp.counts)
    assert imp.counts["students"]["unchanged"] == Student.objects.filter(school=w.school_a).count()
    assert (Student.objects.count(), Guardian.objects.count(), Guardianship.objects.count()) == before


def test_export_holds_full_numbers_for_a_school_admin(roster_world):
    w = roster_world
    book = sheets(export(w.school_admin_a, w.school_a))
    assert book["学生"][0] == ["学校标识码", "学校名称", "年级", "班级", "学生姓名", "性别", "学籍号", "身份证号", "出生日期"]
    rows = {r[6]: r for r in book["学生"][1:]}
    assert rows["G0000000001"][7] == id_number(1)
    assert rows["G0000000001"][:6] == ["SA", "东城实验小学", "三年级", "三(1)班", "学生1", "男"]
    phones = {r[4] for r in book["监护人"][1:]}
    assert "13700000001" in phones and "13912345678" in phones
    # Only school A: the other school's and the other district's students are not in it.
    assert w.child_b1.student_no not in rows and "G0000000099" not in rows and w.child_other.student_no not in rows


def test_district_admin_export_is_masked_and_round_trips_without_overwriting(roster_world):
    w = roster_world
    data = export(w.district_admin, w.district)
    book = sheets(data)
    students = {r[4]: r for r in book["学生"][1:]}
    # No identity permission: the 学籍号 ("G" + the ID number) is masked like the ID number.
    assert students["学生1"][6:8] == ["G…0001", "110***********" + id_number(1)[-4:]]
    assert students[w.child_b1.name][6] == "G…0033"  # the whole district
    assert not any(r[6] == s.student_no for r in book["学生"][1:] for s in Student.objects.all())
    assert not any(r[0] == s.student_no for r in book["监护人"][1:] for s in Student.objects.all())
    phones = [r[4] for r in book["监护人"][1:]]
    assert phones and all("****" in p for p in phones)
    assert "13912345678" not in phones

    imp = run(w.district_admin, w.district, data)
    assert no_changes(imp), (imp.problems, imp.counts)

    # Edit the masked file: move one student to class 2 and change a relation; masked cells stay as they are.
    book["学生"] = [r if r[4] != "学生1" else r[:3] + ["三(2)班"] + r[4:] for r in book["学生"]]
    book["监护人"] = [r if not (r[1] == "学生2" and r[2] == "母亲2") else r[:3] + ["其他监护人"] + r[4:] for r in book["监护人"]]
    imp = run(w.district_admin, w.district, xlsx_bytes(book))
    assert imp.problems == []
    assert imp.counts["students"] == {"created": 0, "updated": 1, "unchanged": Student.objects.filter(is_active=True, district=w.district).count() - 1}
    assert imp.counts["guardianships"]["updated"] == 1 and imp.counts["guardians"]["updated"] == 0
    s1 = Student.objects.with_student_no("G0000000001").get()
    assert s1.school_class_id == w.class_a2.pk
    assert s1.id_number == id_number(1)  # the masked value did not overwrite it
    assert Guardian.objects.get(name="母亲1").phone == "13700000001"
    assert Guardian.objects.get(name="未激活家长").phone == "13912345678"


def test_masked_value_that_does_not_match_is_refused(roster_world):
    w = roster_world
    book = sheets(export(w.district_admin, w.school_a))
    book["学生"] = [r if r[4] != "学生1" else r[:7] + ["110***********9999"] + r[8:] for r in book["学生"]]
    imp = run(w.district_admin, w.district, xlsx_bytes(book))
    assert [(p.column, p.code) for p in imp.problems] == [("身份证号", "masked_value_unmatched")]


def test_class_teacher_exports_only_their_class_and_guardians_cannot_export(roster_world):
    w = roster_world
    book = sheets(export(w.teacher_a1, w.class_a1))
    names = {r[4] for r in book["学生"][1:]}
    assert w.child_a1.name in names and w.child_a2.name not in names
    # A class teacher sees contact numbers but neither ID numbers nor the 学籍号 (their "G" + ID number).
    assert "13912345678" in {r[4] for r in book["监护人"][1:]}
    assert all("*" in r[7] for r in book["学生"][1:] if r[7])
    assert {r[6] for r in book["学生"][1:] if r[4] == w.child_a1.name} == {"G…0011"}
    assert not identity_reads().exists()  # no full 学籍号 or ID number was read (the teacher's phones are)
    with pytest.raises(PermissionDenied):
        export(w.teacher_a1, w.school_a)
    with pytest.raises(PermissionDenied):
        export(w.parent_a1, w.class_a1)


def test_export_writes_one_audit_row_with_counts_only(roster_world):
    w = roster_world
    export(w.district_admin, w.school_a)
    event = AuditEvent.objects.filter(action="roster.export").get()
    assert event.actor_id is None or event.actor_id == w.district_admin.pk
    assert event.changes["students"] == Student.objects.filter(school=w.school_a).count()
    assert event.changes["contact_masked"] > 0
    assert "学生1" not in str(event.changes) and "1370000000" not in str(event.changes)


def test_export_page_downloads_the_chosen_class_and_refuses_foreign_units(client, roster_world):
    w = roster_world
    client.force_login(w.school_admin_a)
    page = client.get(reverse("roster:export"))
    assert page.status_code == 200
    assert w.school_a.name in page.content.decode() and w.school_b.name not in page.content.decode()
    parts = client.get(reverse("roster:export_parts"), {"scope": w.school_a.pk}, HTTP_HX_REQUEST="true")
    assert "三(1)班" in parts.content.decode() and "三年级" in parts.content.decode()
    r = client.post(reverse("roster:export"), {"scope": w.school_a.pk, "part": w.class_a2.pk, "format": "xlsx"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    nos = {row[6] for row in sheets(b"".join(r.streaming_content))["学生"][1:]}
    assert nos == {w.child_a2.student_no}
    r = client.post(reverse("roster:export"), {"scope": w.school_a.pk, "format": "csv"})
    body = b"".join(r.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf") and "学生1".encode() in body
    assert client.post(reverse("roster:export"), {"scope": w.school_b.pk, "format": "xlsx"}).status_code == 404
    assert client.get(reverse("roster:export_parts"), {"scope": w.school_b.pk}).status_code == 404
    client.force_login(w.parent_a1)
    assert client.get(reverse("roster:export")).status_code == 403


def test_csv_export_guards_formula_like_cells_and_still_round_trips(roster_world):
    w = roster_world
    Student.objects.with_student_no("G0000000003").update(name="=1+2")
    data = export(w.school_admin_a, w.school_a, "csv")
    assert b"'=1+2" in data and b",=1+2," not in data
    imp = run(w.school_admin_a, w.district, data, "csv")
    assert no_changes(imp), (imp.problems, imp.counts)
    assert Student.objects.with_student_no("G0000000003").get().name == "=1+2"


def test_an_export_with_full_student_nos_writes_one_access_row(roster_world):
    w = roster_world
    nos = {r[6] for r in sheets(export(w.school_admin_a, w.school_a))["学生"][1:]}
    assert "G0000000001" in nos and w.child_a1.student_no in nos
    row = identity_reads().get()  # one row for the export, not one per student
    assert (row.model, row.object_id, row.actor_id) == ("org.orgunit", str(w.school_a.pk), w.school_admin_a.pk)
    assert "学籍号" in row.reason and "学生1" not in row.reason and "G0000000001" not in row.reason
    export(w.district_admin, w.school_a)  # masked throughout: nothing unmasked was read
    export(w.teacher_a1, w.class_a1)
    assert identity_reads().count() == 1
