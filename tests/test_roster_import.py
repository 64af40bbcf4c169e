"""Roster import: what a school relies on — every problem reported at its row and column with nothing
written, normalisation of what Excel and people type, idempotent re-import keyed by 学籍号 and phone,
scope enforced per row, and a query count that does not grow with the file."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from audit.services import verify_chain
from core.crypto import digest
from people.models import Guardian, Guardianship, Household, Relation, Student
from people.validators import check_char
from roster import exporter, services
from roster.importer import RosterImport
from roster.testing import GUARDIAN_HEADERS, STUDENT_HEADERS, csv_bytes, id_number, template_rows, xlsx_bytes

SA = "东城实验小学"
SB = "西城第二中学"


def run(user, district, data: bytes, *, fmt="xlsx", school=None, dry_run=False):
    imp, _job = services.import_file(path_or_file=io.BytesIO(data), fmt=fmt, user=user, district=district, school=school,
                                     dry_run=dry_run, source="test")
    return imp


def people_counts():
    return (Student.objects.count(), Guardian.objects.count(), Guardianship.objects.count(), Household.objects.count())


def student(no: int, **kw) -> dict:
    row = {"school_name": SA, "grade": "三年级", "class_name": "三(1)班", "student_name": f"新生{no:03d}",
           "student_no": f"G{no:010d}", "id_number": id_number(no)}
    row.update(kw)
    return row


def guardian(no: int, phone: str, **kw) -> dict:
    row = {"student_no": f"G{no:010d}", "guardian_name": f"家长{phone[-3:]}", "relation": "母亲", "phone": phone, "is_primary": "否", "lives_with": "是"}
    row.update(kw)
    return row


def problems_by_cell(imp) -> dict[tuple[str, int, str], str]:
    return {(p.sheet, p.row, p.column): p.code for p in imp.problems}


# --- the happy path --------------------------------------------------------------------------------
def test_import_creates_students_guardians_links_and_one_audit_row(world):
    before = people_counts()
    data = xlsx_bytes(template_rows(
        [student(1, gender="男"), student(2, class_name="三(2)班")],
        [guardian(1, "13700000001", relation="母亲", is_primary="是"), guardian(1, "13700000002", relation="外婆"),
         guardian(2, "13700000003", relation="父亲")],
    ))
    imp = run(world.school_admin_a, world.district, data)
    assert imp.problems == []
    assert imp.counts["students"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert imp.counts["guardians"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert imp.counts["guardianships"] == {"created": 3, "updated": 0, "unchanged": 0}
    after = people_counts()
    assert after[:3] == (before[0] + 2, before[1] + 3, before[2] + 3)
    s1 = Student.objects.with_student_no("G0000000001").get()
    assert (s1.school_class_id, s1.school_id, s1.district_id) == (world.class_a1.pk, world.school_a.pk, world.district.pk)
    # Digests set by the bulk path, so later lookups by ID number and phone work.
    assert s1.id_number == id_number(1) and s1.id_digest == digest(id_number(1))
    assert s1.gender == "M" and s1.birth_date == dt.date(2015, 1, 1)
    mum = Guardian.objects.get(phone_digest=digest("13700000001"))
    assert mum.phone == "13700000001" and mum.district_id == world.district.pk
    link = Guardianship.objects.get(guardian=mum, student=s1)
    assert (link.relation, link.is_primary, link.lives_with) == (Relation.MOTHER, True, True)
    grandma = Guardianship.objects.get(guardian__phone_digest=digest("13700000002"))
    assert grandma.relation == Relation.MATERNAL_GRANDMOTHER and grandma.is_primary is False
    # The two guardians of student 1 share a household; student 2's father has his own.
    assert mum.household_id and mum.household_id == Guardian.objects.get(phone_digest=digest("13700000002")).household_id
    assert Guardian.objects.get(phone_digest=digest("13700000003")).household_id not in (None, mum.household_id)
    events = AuditEvent.objects.filter(action="roster.import")
    assert events.count() == 1
    event = events.get()
    assert event.actor_id == world.school_admin_a.pk
    assert event.changes["students"]["created"] == 2 and event.changes["guardianships"]["created"] == 3
    text = str(event.changes)
    assert "新生" not in text and "13700000001" not in text and id_number(1) not in text


def test_import_records_one_audit_row_per_student_and_guardian_it_writes(world):
    """Bulk writes bypass the registry; the import keeps each person's history itself (ADR 0009)."""
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    data = xlsx_bytes(template_rows([student(1), student(2)], [guardian(1, "13700000001"), guardian(2, "13700000002", relation="父亲")]))
    assert run(world.school_admin_a, world.district, data).problems == []
    rows = AuditEvent.objects.filter(id__gt=last, model__in=["people.student", "people.guardian"])
    s1, s2 = (Student.objects.with_student_no(f"G{i:010d}").get() for i in (1, 2))
    mum = Guardian.objects.get(phone_digest=digest("13700000001"))
    assert sorted((r.action, r.model, r.object_id) for r in rows) == sorted(
        [("create", "people.student", str(s1.pk)), ("create", "people.student", str(s2.pk)),
         ("create", "people.guardian", str(mum.pk)),
         ("create", "people.guardian", str(Guardian.objects.get(phone_digest=digest("13700000002")).pk))])
    assert {r.actor_id for r in rows} == {world.school_admin_a.pk}
    assert rows.get(object_id=str(s1.pk), model="people.student").changes["student_no"] == "***"
    text = str([r.changes for r in rows])
    assert "13700000001" not in text and id_number(1) not in text and "G0000000001" not in text

    # A second file renames one student: one update row, for that student only.
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    data = xlsx_bytes(template_rows([student(1, student_name="改名"), student(2)], [guardian(1, "13700000001"), guardian(2, "13700000002", relation="父亲")]))
    assert run(world.school_admin_a, world.district, data).problems == []
    rows = AuditEvent.objects.filter(id__gt=last, model__in=["people.student", "people.guardian"])
    assert [(r.action, r.object_id, r.changes["fields"]) for r in rows] == [("update", str(s1.pk), ["name"])]
    assert verify_chain().ok


def test_reimport_same_file_changes_nothing_and_updated_file_updates_in_place(world):
    rows = ([student(1), student(2)], [guardian(1, "13700000001", is_primary="是"), guardian(2, "13700000002", relation="父亲")])
    data = xlsx_bytes(template_rows(*rows))
    assert run(world.school_admin_a, world.district, data).problems == []
    before = people_counts()
    again = run(world.school_admin_a, world.district, data)
    assert again.problems == []
    assert again.counts["students"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert again.counts["guardians"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert again.counts["guardianships"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert people_counts() == before

    # Student 1 moves class and is renamed; student 2's guardian is now recorded as 祖父 and not living with them;
    # guardian 1 corrects their name; a new guardian (grandmother) is added to student 1.
    updated = xlsx_bytes(template_rows(
        [student(1, class_name="三(2)班", student_name="新名字"), student(2)],
        [guardian(1, "13700000001", is_primary="是", guardian_name="改名家长"),
         guardian(1, "13700000009", relation="奶奶", guardian_name="奶奶"),
         guardian(2, "13700000002", relation="祖父", lives_with="否")],
    ))
    imp = run(world.school_admin_a, world.district, updated)
    assert imp.problems == []
    assert imp.counts["students"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert imp.counts["guardians"] == {"created": 1, "updated": 1, "unchanged": 1}
    assert imp.counts["guardianships"] == {"created": 1, "updated": 1, "unchanged": 1}
    assert people_counts()[:3] == (before[0], before[1] + 1, before[2] + 1)
    s1 = Student.objects.with_student_no("G0000000001").get()
    assert (s1.school_class_id, s1.name) == (world.class_a2.pk, "新名字")
    assert Guardian.objects.get(phone_digest=digest("13700000001")).name == "改名家长"
    link = Guardianship.objects.get(student__student_no_digest=digest("G0000000002"))
    assert (link.relation, link.lives_with) == (Relation.PATERNAL_GRANDFATHER, False)
    # The preview lists what changes on existing records.
    assert any("班级" in c["what"] for c in imp.changes)


def test_guardian_changing_phone_is_updated_not_duplicated(world):
    data = xlsx_bytes(template_rows([student(1)], [guardian(1, "13700000001", guardian_name="王芳")]))
    run(world.school_admin_a, world.district, data)
    gid = Guardian.objects.get(phone_digest=digest("13700000001")).pk
    moved = xlsx_bytes(template_rows([student(1)], [guardian(1, "13700000055", guardian_name="王芳")]))
    imp = run(world.school_admin_a, world.district, moved)
    assert imp.problems == []
    assert imp.counts["guardians"] == {"created": 0, "updated": 1, "unchanged": 0}
    g = Guardian.objects.get(pk=gid)
    assert g.phone == "13700000055" and g.phone_digest == digest("13700000055")
    assert Guardian.objects.filter(name="王芳").count() == 1


def test_two_guardians_sharing_two_children(world):
    data = xlsx_bytes(template_rows(
        [student(1), student(2, class_name="三(2)班")],
        [guardian(1, "13700000001", relation="父亲", guardian_name="张父"), guardian(1, "13700000002", relation="母亲", guardian_name="张母"),
         guardian(2, "13700000001", relation="父亲", guardian_name="张父"), guardian(2, "13700000002", relation="母亲", guardian_name="张母")],
    ))
    imp = run(world.school_admin_a, world.district, data)
    assert imp.problems == []
    assert imp.counts["guardians"]["created"] == 2 and imp.counts["guardianships"]["created"] == 4
    father = Guardian.objects.get(phone_digest=digest("13700000001"))
    assert sorted(father.guardianships.values_list("student__student_no", flat=True)) == ["G0000000001", "G0000000002"]
    mother = Guardian.objects.get(phone_digest=digest("13700000002"))
    assert father.household_id == mother.household_id is not None


def test_existing_guardian_joins_new_sibling_and_household(world):
    """A guardian already on the platform (parent_a1) registered for a new child: linked, not duplicated."""
    parent = world.guardians["parent_a1"]
    data = xlsx_bytes(template_rows([student(1)], [guardian(1, parent.phone, guardian_name="parent_a1", relation="母亲")]))
    imp = run(world.school_admin_a, world.district, data)
    assert imp.problems == []
    assert imp.counts["guardians"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert Guardian.objects.filter(phone_digest=digest(parent.phone)).count() == 1
    assert parent.guardianships.count() == 2


def test_district_admin_imports_many_schools_at_once(world):
    data = xlsx_bytes(template_rows(
        [student(1), student(2, school_name="", school_code="SB", grade="七年级", class_name="七(1)班"),
         student(3, school_name=SB, grade="初一", class_name="1班")],
        [guardian(2, "13700000002"), guardian(3, "13700000003")],
    ))
    imp = run(world.district_admin, world.district, data)
    assert imp.problems == []
    assert imp.counts["students"]["created"] == 3
    assert Student.objects.with_student_no("G0000000002").get().school_class_id == world.class_b1.pk
    assert Student.objects.with_student_no("G0000000003").get().school_class_id == world.class_b1.pk


def test_school_admin_row_for_another_school_is_scope_denied_and_nothing_written(world):
    before = people_counts()
    data = xlsx_bytes(template_rows([student(1), student(2, school_name=SB, grade="七年级", class_name="七(1)班")], [guardian(1, "13700000001")]))
    imp = run(world.school_admin_a, world.district, data)
    assert problems_by_cell(imp) == {("学生", 3, "学校名称"): "scope_denied"}
    assert people_counts() == before
    assert not AuditEvent.objects.filter(action="roster.import").exists()
    # Limited to school A (the upload page's choice, or --school), the same row is refused the same way.
    imp = run(world.district_admin, world.district, data, school=world.school_a)
    assert [p.code for p in imp.problems] == ["scope_denied"]
    assert people_counts() == before


# --- problems ------------------------------------------------------------------------------------------
def test_broken_sheet_reports_each_problem_at_its_row_and_column_and_writes_nothing(world):
    bad_check = id_number(7)[:-1] + ("0" if id_number(7)[-1] != "0" else "1")
    bad_birth = "110101201513320012"  # month 13
    students = [
        student(1),                                                        # row 2: fine
        student(2, id_number=bad_check),                                   # 3: checksum
        student(3, id_number=bad_birth),                                   # 4: birth date in the ID
        student(4, school_name="不存在的学校"),                              # 5
        student(5, grade="九年级"),                                         # 6
        student(6, class_name="三(9)班"),                                   # 7
        student(1, student_name="另一人"),                                  # 8: duplicate 学籍号
        student(8, student_no=world.child_b1.student_no),                  # 9: 学籍号 of a school-B student
        student(9, student_name=""),                                       # 10: required
        student(10, gender="女", id_number=id_number(11, gender="M")),     # 11: gender vs ID
        student(12, birth_date="2015-02-30", id_number=""),                # 12: impossible date
    ]
    guardians = [
        guardian(1, "13700000001"),                                         # 2: fine
        guardian(1, "12345"),                                               # 3: phone
        guardian(77, "13700000003"),                                        # 4: no such student
        guardian(1, "13700000004", relation="邻居"),                        # 5: relation
        guardian(1, "13700000001", guardian_name="别的名字"),                # 6: same phone, other name
        guardian(1, "13700000006", student_name_ref="不是他"),                   # 7: name check column
        guardian(1, "", guardian_name="无手机"),                             # 8: required
        guardian(1, "138****0000", guardian_name="脱敏"),                    # 9: masked, matches nobody
    ]
    before = people_counts()
    data = xlsx_bytes(template_rows(students, guardians))
    imp = run(world.school_admin_a, world.district, data)
    got = problems_by_cell(imp)
    expected = {
        ("学生", 3, "身份证号"): "id_checksum",
        ("学生", 4, "身份证号"): "id_birth_date",
        ("学生", 5, "学校名称"): "school_unknown",
        ("学生", 6, "年级"): "grade_unknown",
        ("学生", 7, "班级"): "class_unknown",
        ("学生", 8, "学籍号"): "student_no_duplicate_in_file",
        ("学生", 9, "学籍号"): "student_no_taken_by_other_school",
        ("学生", 10, "学生姓名"): "required_missing",
        ("学生", 11, "性别"): "gender_mismatch",
        ("学生", 12, "出生日期"): "birth_date_invalid",
        ("监护人", 3, "手机号"): "phone_invalid",
        ("监护人", 4, "学生学籍号"): "guardian_without_student",
        ("监护人", 5, "关系"): "relation_unknown",
        ("监护人", 6, "监护人姓名"): "phone_name_conflict",
        ("监护人", 7, "学生姓名"): "student_name_mismatch",
        ("监护人", 8, "手机号"): "required_missing",
        ("监护人", 9, "手机号"): "masked_value_unmatched",
    }
    assert got == expected
    for p in imp.problems:
        assert p.message and p.message.endswith(("。", "）")), p  # a sentence saying what to do
    # The other school's data is not revealed: only "used by another school in the district".
    taken = next(p for p in imp.problems if p.code == "student_no_taken_by_other_school")
    assert SB not in taken.message and world.child_b1.name not in taken.message
    assert people_counts() == before
    assert not AuditEvent.objects.filter(action="roster.import").exists()


def test_missing_headers_are_reported_with_their_synonyms(world):
    data = xlsx_bytes({"学生": [["姓名", "班级"], ["张三", "三(1)班"]]})
    imp = run(world.district_admin, world.district, data)
    by_column = {p.column: p for p in imp.problems}
    assert set(by_column) == {"学籍号", "学校名称"}
    assert all(p.code == "header_missing" and p.row == 1 for p in imp.problems)
    assert "全国学籍号" in by_column["学籍号"].message


def test_excel_rounded_id_number_is_reported_not_guessed(world):
    sheets = template_rows([student(1)], [])
    sheets["学生"][1][7] = 110101201501010011.0  # an ID typed into a number cell: Excel keeps 15 digits
    imp = run(world.school_admin_a, world.district, xlsx_bytes(sheets))
    assert [(p.column, p.code) for p in imp.problems] == [("身份证号", "number_precision_lost")]


def test_an_existing_guardian_of_another_school_cannot_be_renamed_by_this_school(world):
    """parent_two_schools has children in school A and B: school A may link them, not rename them."""
    phone = world.guardians["parent_two_schools"].phone
    data = xlsx_bytes(template_rows([student(1)], [guardian(1, phone, guardian_name="改个名字")]))
    imp = run(world.school_admin_a, world.district, data)
    assert [p.code for p in imp.problems] == ["guardian_name_conflict"]
    assert "西城" not in imp.problems[0].message
    same_name = xlsx_bytes(template_rows([student(1)], [guardian(1, phone, guardian_name="parent_two_schools")]))
    assert run(world.school_admin_a, world.district, same_name).problems == []


def test_primary_guardian_at_most_one_per_student(world):
    data = xlsx_bytes(template_rows([student(1)], [guardian(1, "13700000001", is_primary="是"), guardian(1, "13700000002", is_primary="是")]))
    imp = run(world.school_admin_a, world.district, data)
    assert problems_by_cell(imp) == {("监护人", 3, "是否第一监护人"): "primary_guardian_multiple"}


# --- normalisation ---------------------------------------------------------------------------------
def test_normalises_full_width_spaces_excel_numbers_lower_x_merged_cells_and_dates(world):
    idx = "11010120150101" + "0" + "3" + "X"  # needs a valid check character: build one ending in X

    base = None
    for seq in range(100):
        candidate = id_number(seq, birth=dt.date(2014, 5, 6))
        if candidate.endswith("X"):
            base = candidate
            break
    assert base, idx
    rows = [
        STUDENT_HEADERS,
        # School / grade / class merged over rows 2–4; inner spaces, full-width digits, lower-case x.
        ["", SA, "三年级", "三（1）班", "李 小 明", "", "Ｇ０００００００００１", base.lower(), dt.date(2014, 5, 6)],
        ["", "", "", "", "  王 芳 ", "", " G0000000002 ", "", 41746],  # Excel serial for 2014-04-17
        ["", "", "", "", "Ayşe Mehmet", "女", "G0000000003", "", "2014/4/7"],
        ["", SA, "", "三年级2班", "阿依古丽•买买提", "女", "G0000000004", "", "20140408"],
    ]
    guardians = [GUARDIAN_HEADERS,
                 ["G0000000001", "", "李 大 伟", "爸爸", 13700000001, "√", "是"],
                 ["G0000000002", "", "王母", "母亲", "１３７ ００００ ０００２", "", ""],
                 ["G0000000003", "", "Mehmet", "父亲", "+86 137-0000-0003", "否", "否"]]
    data = xlsx_bytes({"学生": rows, "监护人": guardians}, merges={"学生": [(1, 1, 3, 1), (1, 2, 3, 2), (1, 3, 3, 3)]}, numbers=False)
    imp = run(world.school_admin_a, world.district, data)
    assert imp.problems == []
    s1, s2, s3, s4 = (Student.objects.with_student_no(f"G{i:010d}").get() for i in (1, 2, 3, 4))
    assert (s1.name, s1.id_number, s1.school_class_id, s1.birth_date) == ("李小明", base, world.class_a1.pk, dt.date(2014, 5, 6))
    assert (s2.name, s2.school_class_id, s2.birth_date) == ("王芳", world.class_a1.pk, dt.date(2014, 4, 17))
    assert (s3.name, s3.birth_date, s3.school_class_id) == ("Ayşe Mehmet", dt.date(2014, 4, 7), world.class_a1.pk)
    assert (s4.name, s4.school_class_id, s4.birth_date) == ("阿依古丽·买买提", world.class_a2.pk, dt.date(2014, 4, 8))
    g1 = Guardian.objects.get(phone_digest=digest("13700000001"))
    assert g1.name == "李大伟" and g1.phone == "13700000001"
    assert Guardian.objects.get(phone_digest=digest("13700000002")).phone == "13700000002"
    link = Guardianship.objects.get(student=s1)
    assert (link.relation, link.is_primary) == (Relation.FATHER, True)
    assert check_char(base[:17]) == "X"


@pytest.mark.parametrize(("grade", "class_name", "expected"), [
    ("三年级", "三(2)班", "class_a2"), ("", "三（2）班", "class_a2"), ("", "三年级2班", "class_a2"), ("", "3-2班", "class_a2"),
    ("三年级", "2班", "class_a2"), ("3年级", "(2)班", "class_a2"), ("", "3(2)班", "class_a2"), ("三年级", "二班", "class_a2"),
])
def test_class_names_resolve_to_the_existing_class(world, grade, class_name, expected):
    data = xlsx_bytes(template_rows([student(1, grade=grade, class_name=class_name)], []))
    imp = run(world.school_admin_a, world.district, data)
    assert imp.problems == []
    assert Student.objects.with_student_no("G0000000001").get().school_class_id == world.units[expected].pk


def test_junior_school_grade_one_means_chu_yi(world):
    data = xlsx_bytes(template_rows([student(1, school_name=SB, grade="一年级", class_name="1班")], []))
    assert run(world.school_admin_b, world.district, data).problems == []
    assert Student.objects.with_student_no("G0000000001").get().school_class_id == world.class_b1.pk


def test_school_admin_may_leave_out_the_school_column(world):
    sheets = {"学生": [["年级", "班级", "学生姓名", "学籍号"], ["三年级", "三(1)班", "王五", "G0000000001"]]}
    imp = run(world.school_admin_a, world.district, xlsx_bytes(sheets))
    assert imp.problems == []
    assert Student.objects.with_student_no("G0000000001").get().school_id == world.school_a.pk


def test_flat_sheet_with_synonyms_and_a_title_row(world):
    rows = [
        ["东城实验小学2025学年三年级学生名单"],
        ["序号", "学校", "班级", "姓名", "性别", "学籍辅号", "家长姓名", "与学生关系", "联系电话", "备注"],
        [1, SA, "三(1)班", "赵一", "男", "G0000000001", "赵父", "父亲", "13700000001", ""],
        [2, SA, "三(1)班", "赵一", "男", "G0000000001", "赵母", "母亲", "13700000002", "双胞胎"],
        [3, SA, "三(2)班", "钱二", "女", "G0000000002", "钱母", "妈妈", "13700000003", ""],
    ]
    imp = run(world.school_admin_a, world.district, xlsx_bytes({"Sheet1": rows}))
    assert imp.problems == []
    assert imp.counts["students"]["created"] == 2 and imp.counts["guardianships"]["created"] == 3
    assert imp.layouts[0].header_row == 2
    assert set(imp.layouts[0].ignored) == {"序号", "备注"}


def test_flat_sheet_with_conflicting_repeated_student_is_a_duplicate(world):
    rows = [["学校", "班级", "姓名", "学籍号", "家长姓名", "关系", "手机"],
            [SA, "三(1)班", "赵一", "G0000000001", "赵父", "父亲", "13700000001"],
            [SA, "三(2)班", "赵一", "G0000000001", "赵母", "母亲", "13700000002"]]
    imp = run(world.school_admin_a, world.district, xlsx_bytes({"Sheet1": rows}))
    assert problems_by_cell(imp) == {("Sheet1", 3, "学籍号"): "student_no_duplicate_in_file"}


def test_wide_sheet_with_father_and_mother_columns(world):
    rows = [["学校名称", "年级", "班级", "学生姓名", "学籍号", "父亲姓名", "父亲电话", "母亲姓名", "母亲手机号"],
            [SA, "三年级", "1班", "孙三", "G0000000001", "孙父", "13700000001", "孙母", "13700000002"],
            [SA, "三年级", "1班", "李四", "G0000000002", "", "", "李母", "13700000003"]]
    imp = run(world.school_admin_a, world.district, xlsx_bytes({"学生": rows}))
    assert imp.problems == []
    rel = dict(Guardianship.objects.filter(student__student_no_digest__in=[digest("G0000000001"), digest("G0000000002")]).values_list("guardian__name", "relation"))
    assert rel == {"孙父": Relation.FATHER, "孙母": Relation.MOTHER, "李母": Relation.MOTHER}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_in_utf8_with_or_without_bom_and_gbk(world, encoding):
    rows = [["学校名称", "班级", "学生姓名", "学籍号", "监护人姓名", "关系", "手机号"],
            [SA, "三(1)班", "周五", "G0000000001", "周父", "父亲", "13700000001"]]
    imp = run(world.school_admin_a, world.district, csv_bytes(rows, encoding=encoding), fmt="csv")
    assert imp.problems == []
    assert Student.objects.with_student_no("G0000000001").get().name == "周五"
    assert Guardian.objects.get(phone_digest=digest("13700000001")).name == "周父"


def test_template_example_rows_are_skipped(world):
    out = io.BytesIO()
    exporter.write_template(out)
    imp = run(world.school_admin_a, world.district, out.getvalue())
    assert imp.skipped_examples == 1
    assert [p.code for p in imp.problems] == ["empty_file"]
    assert {layout.name: layout.kind for layout in imp.layouts} == {"学生": "students", "监护人": "guardians"}


# --- cost --------------------------------------------------------------------------------------------
def _validation_queries(world, n: int) -> int:
    students = [student(i, class_name="三(1)班" if i % 2 else "三(2)班") for i in range(1, n + 1)]
    guardians = [guardian(i, f"137{i:08d}") for i in range(1, n + 1)] + [guardian(i, f"136{i:08d}", relation="父亲") for i in range(1, n + 1)]
    data = xlsx_bytes(template_rows(students, guardians))
    imp = RosterImport(user=world.school_admin_a, district=world.district)
    with CaptureQueriesContext(connection) as ctx:
        imp.read(io.BytesIO(data), "xlsx")
        imp.validate()
    assert imp.problems == []
    return len(ctx.captured_queries)


def test_validation_query_count_does_not_grow_with_rows(world):
    small = _validation_queries(world, 3)
    large = _validation_queries(world, 150)
    assert small == large
    assert large <= 12


# --- the 学籍号 is encrypted: matched by digest, never stored or shown in clear -------------------------
def test_imported_student_nos_are_ciphertext_and_a_reimport_matches_them_by_digest(world):
    data = xlsx_bytes(template_rows([student(1), student(2)], [guardian(1, "13700000001"), guardian(2, "13700000002")]))
    run(world.school_admin_a, world.district, data)
    before = people_counts()
    with connection.cursor() as cur:
        cur.execute("SELECT student_no FROM people_student WHERE id = %s", [Student.objects.with_student_no("G0000000001").get().pk])
        (raw,) = cur.fetchone()
    assert raw.startswith("gAAAA") and "0000000001" not in raw
    imp = run(world.school_admin_a, world.district, data)
    assert imp.problems == [] and imp.counts["students"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert imp.counts["guardianships"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert people_counts() == before


def test_the_change_preview_shows_the_student_no_masked(world):
    run(world.school_admin_a, world.district, xlsx_bytes(template_rows([student(1)], [guardian(1, "13700000001")])))
    imp = run(world.school_admin_a, world.district, xlsx_bytes(template_rows(
        [student(1, class_name="三(2)班")], [guardian(1, "13700000001", relation="父亲")])), dry_run=True)
    assert imp.changes and "G0000000001" not in str(imp.changes)
    assert {c["who"] for c in imp.changes} == {"新生001（G…0001）", "家长001 — G…0001"}


def test_a_masked_student_no_that_matches_none_or_several_students_is_refused(world):
    run(world.school_admin_a, world.district, xlsx_bytes(template_rows(
        [student(1), student(2), student(3, student_name="新生001", student_no="G7770000001", class_name="三(2)班")], [])))
    before = people_counts()
    imp = run(world.school_admin_a, world.district, xlsx_bytes(template_rows(
        [student(1, student_no="G…0001"), student(2, student_no="G…9999")], [guardian(2, "13700000002", student_no="G…0002")])))
    assert problems_by_cell(imp) == {
        ("学生", 2, "学籍号"): "student_no_masked_unmatched",  # two students named 新生001 end in 0001
        ("学生", 3, "学籍号"): "student_no_masked_unmatched",  # no 新生002 ends in 9999
        ("监护人", 2, "学生学籍号"): "student_no_masked_unmatched",  # a masked 学籍号 needs the student's name
    }
    assert "同名" in imp.problems[0].message
    assert people_counts() == before
