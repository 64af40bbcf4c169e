"""The roster import engine: read a file, validate every row against the organisation, the people already
in the district and the importer's scope, then (only when no row has a problem) write everything in one
transaction.

Set-based by design: rows are normalised in Python, the database is asked in a fixed number of
IN-list queries per 2,000 keys (学籍号, ID-number and phone digests), and writes are
bulk_create / bulk_update in batches. Bulk writes bypass save() and the per-row audit signals, so
this module sets the digest columns itself, records one audit row per student and guardian it creates
or changes (audit.services.record_many, ADR 0009), and the caller writes one summary row per import.

Keys: a student is the same student when the 学籍号 matches (its digest, unique in the district); a guardian is the
same guardian when the mobile number matches (its digest, unique in the district). Blank cells and
masked values (138****5678) never overwrite what is stored."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record_many, record_many_from
from core.crypto import STUDENT_NO_MASK, digest, mask_id_number, mask_phone, mask_student_no
from core.perms import can
from core.scoping import Scope, get_scope
from org.models import Kind, OrgUnit, Stage
from people.models import Guardian, Guardianship, Household, Relation, Student
from people.perms import MANAGE
from people.validators import (
    check_char,
    id_number_birth_date,
    id_number_check,
    id_number_gender,
    id_number_normalise,
    phone_check,
    phone_normalise,
)
from roster import normalise as norm
from roster import reader, spec, sql
from roster.reader import FLAT, GUARDIANS, STUDENTS, SheetLayout, Slot

CHUNK = 2000  # keys per IN-list query
BATCH = 1000  # rows per INSERT/UPDATE statement
MAX_ROWS = 300_000
MAX_STORED_CHANGES = 300
SYSTEM_SCOPE = Scope(superuser=True)
_STUDENT_NO_RE = re.compile(r"^[0-9A-Z]{5,32}$")
_MIN_BIRTH = dt.date(1900, 1, 1)


@dataclass(slots=True)
class Problem:
    sheet: str
    row: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass(slots=True)
class StudentIn:
    sheet: str
    row: int
    layout: SheetLayout
    school_code: str
    school_name: str
    grade: str
    class_name: str
    name: str
    gender: str  # 'M' | 'F' | '' (not given)
    student_no: str
    id_number: str  # normalised, or the masked text as given, or ''
    id_masked: bool
    birth_date: dt.date | None
    id_digest: str = ""
    # Filled in from the ID number when the cell is blank: used for new students only, so that a blank
    # cell never changes a stored student (blank means "unchanged").
    derived_gender: str = ""
    derived_birth: dt.date | None = None
    ok: bool = True
    school_id: int | None = None
    class_id: int | None = None
    existing: dict | None = None  # the stored student with this 学籍号
    action: str = ""  # create | update | unchanged
    changes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class GuardianIn:
    sheet: str
    row: int
    layout: SheetLayout
    slot: Slot | None
    student_no: str
    student_name_ref: str
    name: str
    relation: str | None  # None: no relation column; '' blank cell
    phone: str  # normalised, or the masked text
    phone_masked: bool
    is_primary: bool | None
    lives_with: bool | None
    phone_digest: str = ""
    ok: bool = True
    guardian_key: object = None  # an existing guardian id, or ("new", phone digest)

    def label(self, field_name: str) -> str:
        return self.layout.label(field_name, self.slot)


def _target(path: str):
    return SimpleNamespace(path=path)


class RosterImport:
    """One import run. read() then validate(); commit() only when problems is empty."""

    def __init__(self, *, user=None, district: OrgUnit, school: OrgUnit | None = None,
                 progress: Callable[[str, int, int], None] | None = None, max_rows: int = MAX_ROWS):
        self.user = user
        self.scope = get_scope(user) if user is not None else SYSTEM_SCOPE
        self.district = district
        self.school = school
        self._progress = progress
        self._last_progress = 0.0
        self.max_rows = max_rows
        self.problems: list[Problem] = []
        self.layouts: list[SheetLayout] = []
        self.students: dict[str, StudentIn] = {}  # by 学籍号, first row wins
        self.guardian_rows: list[GuardianIn] = []
        self.skipped_examples = 0
        self.counts: dict = {}
        self.changes: list[dict] = []
        self.validated = False
        # Built by validate() for commit().
        self._existing_students: dict[str, dict] = {}
        self._guardian_updates: dict[int, dict] = {}
        self._new_guardians: dict[str, GuardianIn] = {}  # phone digest → first row
        self._links: dict[tuple, dict] = {}
        self._existing_links: dict[tuple[int, int], dict] = {}
        self._student_links: dict[int, list[dict]] = defaultdict(list)
        self._guardian_household: dict[int, int | None] = {}
        self._can_cache: dict[str, bool] = {}
        self._schools_cache: list[OrgUnit] | None = None
        self.today = timezone.localdate()

    # --- helpers ------------------------------------------------------------------------------------
    def problem(self, sheet: str, row: int, column: str, code: str, message: str) -> None:
        self.problems.append(Problem(sheet, row, column, code, str(message)[:300]))

    def progress(self, phase: str, done: int = 0, total: int = 0, *, force: bool = False) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        if force or now - self._last_progress >= 0.5:
            self._last_progress = now
            self._progress(phase, done, total)

    def can_manage(self, path: str) -> bool:
        cached = self._can_cache.get(path)
        if cached is None:
            cached = self._can_cache[path] = can(self.scope, MANAGE, _target(path))
        return cached

    # --- reading ------------------------------------------------------------------------------------
    def read(self, fileobj, fmt: str) -> None:
        self.progress(_("读取文件"), force=True)
        try:
            sheets = reader.read_file(fileobj, fmt)
        except reader.FileUnreadable as exc:
            self.problem("", 0, "", "file_unreadable", str(exc))
            return
        if fmt == "csv":
            for sheet in sheets:
                sheet.name = "CSV"
        school_given = self.school is not None or self._single_school() is not None
        for sheet in sheets:
            layout, header_problems = reader.analyse(sheet, school_given=school_given)
            for row, column, code, message in header_problems:
                self.problem(sheet.name, row, column, code, message)
            if layout is not None:
                self.layouts.append(layout)
        if not self.layouts and not self.problems:
            self.problem("", 1, "", "sheet_unrecognised", _(
                "没有找到可识别的学生或监护人表。请使用导入模板，或确保表头包含“学生姓名”“学籍号”“班级”等列。"))
        if any(p.code == "header_missing" for p in self.problems):
            return
        total = sum(len(layout.sheet.rows) - layout.header_row for layout in self.layouts)
        if total > self.max_rows:
            self.problem("", 0, "", "too_many_rows", _("文件超过%(n)d行，请按学校或年级拆分后分批导入。") % {"n": self.max_rows})
            return
        done = 0
        # Student sheets first, so that a guardian sheet can be checked against them.
        for layout in sorted(self.layouts, key=lambda lay: lay.kind == GUARDIANS):
            for row_no, cells in layout.data_rows():
                done += 1
                if done % 2000 == 0:
                    self.progress(_("读取文件"), done, total)
                if layout.kind in (STUDENTS, FLAT):
                    student = self._read_student(layout, row_no, cells)
                    if student is not None and layout.kind == FLAT:
                        for slot in layout.slots:
                            self._read_guardian(layout, row_no, cells, slot, student_no=student.student_no)
                else:
                    self._read_guardian(layout, row_no, cells, None)
        if not self.students and not self.guardian_rows and not self.problems:
            self.problem("", 0, "", "empty_file", _("文件中没有可导入的数据行（示例行会被跳过）。请在表头下方填写学生和监护人。"))

    def _single_school(self) -> OrgUnit | None:
        """The one school the importer manages in this district, if there is exactly one."""
        if self.school is not None:
            return self.school
        manageable = [s for s in self._schools() if self.can_manage(s.path)]
        district_level = self.can_manage(self.district.path)
        return manageable[0] if len(manageable) == 1 and not district_level else None

    def _schools(self) -> list[OrgUnit]:
        """The district's schools: structure, not personal data; what the user may do is decided per row."""
        if self._schools_cache is None:
            self._schools_cache = list(
                OrgUnit.objects.filter(district=self.district, kind=Kind.SCHOOL, is_active=True).only("id", "name", "code", "path", "stage", "district_id")
            )
        return self._schools_cache

    @staticmethod
    def _cell(cells: list, col: tuple[int, str] | None):
        if col is None or col[0] >= len(cells):
            return ""
        return cells[col[0]]

    def _digits(self, layout, row_no, cells, field_name, slot=None) -> str:
        where = slot.columns if slot is not None else layout.columns
        try:
            return norm.digit_text(self._cell(cells, where.get(field_name)))
        except norm.PrecisionLost:
            self.problem(layout.name, row_no, layout.label(field_name, slot), "number_precision_lost", _(
                "该单元格是Excel数字格式，长数字的后几位已被Excel改成0，无法还原。请把该列设置为“文本”格式后重新填写。"))
            return "!"

    def _read_student(self, layout: SheetLayout, row_no: int, cells: list) -> StudentIn | None:
        c = layout.columns
        sheet = layout.name
        problems_before = len(self.problems)
        name = norm.name_text(self._cell(cells, c.get(spec.STUDENT_NAME)))
        student_no = self._digits(layout, row_no, cells, spec.STUDENT_NO)
        if student_no == spec.EXAMPLE_STUDENT[spec.STUDENT_NO] and name == spec.EXAMPLE_STUDENT[spec.STUDENT_NAME]:
            self.skipped_examples += 1
            return None
        raw_id = self._digits(layout, row_no, cells, spec.ID_NUMBER)
        student = StudentIn(
            sheet=sheet, row=row_no, layout=layout,
            school_code=norm.cell_text(self._cell(cells, c.get(spec.SCHOOL_CODE))).replace(" ", "").upper(),
            school_name=norm.cell_text(self._cell(cells, c.get(spec.SCHOOL_NAME))),
            grade=norm.cell_text(self._cell(cells, c.get(spec.GRADE))),
            class_name=norm.cell_text(self._cell(cells, c.get(spec.CLASS))),
            name=name, gender="", student_no=student_no, id_number="", id_masked=False, birth_date=None,
        )
        label = layout.label
        if not name:
            self.problem(sheet, row_no, label(spec.STUDENT_NAME), "required_missing", _("请填写学生姓名。"))
        elif len(name) > 50:
            self.problem(sheet, row_no, label(spec.STUDENT_NAME), "value_too_long", _("姓名过长（最多50个字），请核对。"))
        if not student_no:
            self.problem(sheet, row_no, label(spec.STUDENT_NO), "required_missing", _("请填写学籍号（再次导入时按学籍号更新学生）。"))
        elif _is_masked_no(student_no):
            # As exported to a role without identity permission: stands for the student of this name whose
            # 学籍号 masks to it (validate() looks it up); keyed with the name until then.
            student.student_no = student_no = _masked_key(student_no, name)
        elif student_no != "!" and not _STUDENT_NO_RE.match(student_no):
            self.problem(sheet, row_no, label(spec.STUDENT_NO), "student_no_invalid", _(
                "学籍号只能由字母和数字组成（5–32位），请核对是否混入了汉字或符号。"))
        if not student.class_name:
            self.problem(sheet, row_no, label(spec.CLASS), "required_missing", _("请填写班级，如“三(2)班”。"))

        # ID number: checksum and birth date (GB 11643); a masked value means "keep what is stored".
        id_birth = id_gender = None
        if raw_id and raw_id != "!":
            if norm.is_masked(raw_id):
                student.id_masked = True
                student.id_number = raw_id
                if not norm.MASK_ID_RE.match(raw_id):
                    self.problem(sheet, row_no, label(spec.ID_NUMBER), "id_format", _(
                        "身份证号含有“*”但不是导出的脱敏格式。请填写完整的18位身份证号，或保留导出时的原样以表示不修改。"))
            else:
                value = id_number_normalise(raw_id)
                message = id_number_check(value, today=self.today)
                if message is None:
                    student.id_number = value
                    student.id_digest = digest(value)
                    id_birth, id_gender = id_number_birth_date(value), id_number_gender(value)
                else:
                    self.problem(sheet, row_no, label(spec.ID_NUMBER), _id_code(value, self.today), message)

        gender_raw = self._cell(cells, c.get(spec.GENDER))
        gender = norm.parse_gender(gender_raw)
        if gender is None:
            self.problem(sheet, row_no, label(spec.GENDER), "gender_invalid", _("性别请填写“男”或“女”。"))
            gender = ""
        if gender and id_gender and gender != id_gender:
            self.problem(sheet, row_no, label(spec.GENDER), "gender_mismatch", _(
                "性别与身份证号第17位不一致（奇数为男，偶数为女），请核对性别或身份证号。"))
        student.gender = gender
        student.derived_gender = id_gender or ""

        birth_raw = self._cell(cells, c.get(spec.BIRTH_DATE))
        if norm.cell_text(birth_raw):
            birth = norm.parse_date(birth_raw)
            if birth is None or not _MIN_BIRTH <= birth <= self.today:
                self.problem(sheet, row_no, label(spec.BIRTH_DATE), "birth_date_invalid", _(
                    "出生日期无法识别，请写成 2015-01-02 这样的格式。"))
            elif id_birth and birth != id_birth:
                self.problem(sheet, row_no, label(spec.BIRTH_DATE), "birth_date_mismatch", _(
                    "出生日期与身份证号中的出生日期（第7–14位）不一致，请核对。"))
            else:
                student.birth_date = birth
        student.derived_birth = id_birth
        student.ok = len(self.problems) == problems_before
        if not student_no or student_no == "!":
            return None

        first = self.students.get(student_no)
        if first is None:
            self.students[student_no] = student
            return student
        # The same 学籍号 again: a flat sheet repeats a student for each guardian (fine if the rows agree);
        # anywhere else it is a duplicate.
        same = layout.kind == FLAT and first.sheet == sheet and _same_student(first, student)
        if not same:
            where = _("第%(row)d行") % {"row": first.row} if first.sheet == sheet else _("“%(sheet)s”表第%(row)d行") % {
                "sheet": first.sheet, "row": first.row}
            if layout.kind == FLAT and first.sheet == sheet:
                message = _("学籍号与%(where)s相同，但学生信息（姓名、班级、身份证号等）不一致。同一学生重复出现时各行信息须一致。") % {"where": where}
            else:
                message = _("学籍号与%(where)s重复。每个学生只填一行；如是不同学生，请核对学籍号。") % {"where": where}
            self.problem(sheet, row_no, label(spec.STUDENT_NO), "student_no_duplicate_in_file", message)
            first.ok = False
        return first

    def _read_guardian(self, layout: SheetLayout, row_no: int, cells: list, slot: Slot | None, student_no: str = "") -> None:
        where = slot.columns if slot is not None else layout.columns
        name = norm.name_text(self._cell(cells, where.get(spec.GUARDIAN_NAME)))
        phone_raw = self._cell(cells, where.get(spec.PHONE))
        phone_text = norm.cell_text(phone_raw)
        relation_raw = self._cell(cells, where.get(spec.RELATION))
        primary_raw = self._cell(cells, where.get(spec.IS_PRIMARY))
        lives_raw = self._cell(cells, where.get(spec.LIVES_WITH))
        if slot is not None and not (name or phone_text or norm.cell_text(relation_raw)):
            return  # this row has no guardian in this slot
        if slot is None:
            student_no = self._digits(layout, row_no, cells, spec.STUDENT_NO)
            if student_no == spec.EXAMPLE_STUDENT[spec.STUDENT_NO]:
                return
        g = GuardianIn(
            sheet=layout.name, row=row_no, layout=layout, slot=slot, student_no=student_no,
            student_name_ref=norm.name_text(self._cell(cells, where.get(spec.STUDENT_NAME_REF))) if slot is None else "",
            name=name, relation=None, phone="", phone_masked=False, is_primary=None, lives_with=None,
        )
        problems_before = len(self.problems)
        sheet = layout.name
        if slot is None and _is_masked_no(student_no):
            if g.student_name_ref:
                g.student_no = _masked_key(student_no, g.student_name_ref)
            else:
                self.problem(sheet, row_no, g.label(spec.STUDENT_NO), "student_no_masked_unmatched", _(
                    "学籍号是脱敏值时须同时填写学生姓名，以确定是哪一位学生；或填写完整学籍号。"))
                g.student_no = "!"
        if slot is None and not student_no:
            self.problem(sheet, row_no, g.label(spec.STUDENT_NO), "required_missing", _("请填写学生学籍号，以确定这位监护人是哪个学生的。"))
        if not name:
            self.problem(sheet, row_no, g.label(spec.GUARDIAN_NAME), "required_missing", _("请填写监护人姓名。"))
        elif len(name) > 50:
            self.problem(sheet, row_no, g.label(spec.GUARDIAN_NAME), "value_too_long", _("姓名过长（最多50个字），请核对。"))
        if isinstance(phone_raw, str) and norm.is_masked(phone_text):
            g.phone_masked = True
            g.phone = re.sub(r"\s", "", phone_text)
            if not norm.MASK_PHONE_RE.match(g.phone):
                self.problem(sheet, row_no, g.label(spec.PHONE), "phone_invalid", _(
                    "手机号含有“*”但不是导出的脱敏格式。请填写完整的11位手机号，或保留导出时的原样以表示不修改。"))
        elif not phone_text:
            self.problem(sheet, row_no, g.label(spec.PHONE), "required_missing", _("请填写监护人手机号（按手机号识别监护人）。"))
        else:
            message = phone_check(phone_raw)
            if message:
                self.problem(sheet, row_no, g.label(spec.PHONE), "phone_invalid", message)
            else:
                g.phone = phone_normalise(phone_raw)
                g.phone_digest = digest(g.phone)
        if slot is not None and slot.relation:
            g.relation = slot.relation
        elif spec.RELATION in where:
            relation = norm.parse_relation(relation_raw)
            if relation is None:
                self.problem(sheet, row_no, g.label(spec.RELATION), "relation_unknown", _(
                    "关系无法识别，请从下拉列表选择：父亲、母亲、祖父、祖母、外祖父、外祖母、其他监护人。"))
                relation = ""
            g.relation = relation
        for field_name, raw in ((spec.IS_PRIMARY, primary_raw), (spec.LIVES_WITH, lives_raw)):
            try:
                value = norm.parse_bool(raw)
            except ValueError:
                self.problem(sheet, row_no, g.label(field_name), "value_invalid", _("请填写“是”或“否”。"))
                value = None
            setattr(g, field_name, value)
        if g.is_primary is None and slot is not None and slot.primary:
            g.is_primary = True
        g.ok = len(self.problems) == problems_before
        self.guardian_rows.append(g)

    # --- validation ---------------------------------------------------------------------------------
    def validate(self) -> None:
        """Check everything that needs the database; fills problems, counts and the write plan."""
        if any(p.code in ("file_unreadable", "header_missing", "too_many_rows", "sheet_unrecognised") for p in self.problems):
            self._count()
            self._sort_problems()
            self.validated = True
            return
        total = len(self.students) + len(self.guardian_rows)
        self.progress(_("校验"), 0, total, force=True)
        self._resolve_masked_student_nos()
        self._check_id_duplicates()
        self._resolve_classes()
        self.progress(_("校验"), len(self.students) // 3, total, force=True)
        self._check_students()
        self.progress(_("校验"), len(self.students), total, force=True)
        self._check_guardians()
        self.progress(_("校验"), total, total, force=True)
        self._count()
        self._sort_problems()
        self.validated = True

    def _resolve_masked_student_nos(self) -> None:
        """Masked 学籍号 (an export by a role without identity permission) → the real one, in memory only:
        the student of that name, among those the importer may see, whose 学籍号 masks to the same text.
        No match or several matches is a problem on the row; the real number is never shown."""
        keys = {k for k in self.students if _MASKED_KEY_SEP in k} | {g.student_no for g in self.guardian_rows if _MASKED_KEY_SEP in g.student_no}
        if not keys:
            return
        base = Student.objects.visible_to(self.user) if self.user is not None else Student.objects.all()
        found: dict[str, list[str]] = defaultdict(list)
        for chunk in _chunks(sorted({k.split(_MASKED_KEY_SEP, 1)[1] for k in keys})):
            for name, no in base.filter(district=self.district, name__in=chunk).values_list("name", "student_no").iterator():
                key = _masked_key(norm.digit_text(mask_student_no(no)), norm.name_text(name))
                if key in keys:
                    found[key].append(no)
        messages = {
            0: _("脱敏的学籍号与平台中该姓名的学生都不符。请填写完整学籍号，或保留导出时的原样。"),
            2: _("有多名同名学生的学籍号脱敏后相同，无法确定是哪一位。请填写完整学籍号。"),
        }
        real = {k: v[0] for k, v in found.items() if len(v) == 1}
        students: dict[str, StudentIn] = {}
        for key, st in self.students.items():
            if key not in keys:
                students.setdefault(key, st)
                continue
            if key not in real:
                self.problem(st.sheet, st.row, st.layout.label(spec.STUDENT_NO), "student_no_masked_unmatched", messages[min(len(found.get(key, ())), 2)])
                continue
            if real[key] in self.students or real[key] in students:
                self.problem(st.sheet, st.row, st.layout.label(spec.STUDENT_NO), "student_no_duplicate_in_file", _(
                    "该脱敏学籍号所指的学生在文件中已有一行。每个学生只填一行。"))
                continue
            st.student_no = real[key]
            students[real[key]] = st
        self.students = students
        for g in self.guardian_rows:
            if g.student_no not in keys:
                continue
            if g.student_no in real:
                g.student_no = real[g.student_no]
                continue
            if g.slot is None:  # a flat row's student already carries the problem
                self.problem(g.sheet, g.row, g.label(spec.STUDENT_NO), "student_no_masked_unmatched", messages[min(len(found.get(g.student_no, ())), 2)])
            g.student_no, g.ok = "!", False

    def _sort_problems(self) -> None:
        """File order: sheet by sheet, row by row (checks run by kind, users read top to bottom)."""
        order = {layout.name: i for i, layout in enumerate(self.layouts)}
        self.problems.sort(key=lambda p: (order.get(p.sheet, -1), p.row))

    def _check_id_duplicates(self) -> None:
        seen: dict[str, StudentIn] = {}
        for s in self.students.values():
            if not s.id_number or s.id_masked:
                continue
            first = seen.setdefault(s.id_number, s)
            if first is not s:
                self.problem(s.sheet, s.row, s.layout.label(spec.ID_NUMBER), "id_number_duplicate_in_file", _(
                    "身份证号与第%(row)d行的学生相同，请核对。") % {"row": first.row})
                s.ok = False

    def _resolve_classes(self) -> None:
        schools = self._schools()
        by_code: dict[str, list] = defaultdict(list)
        by_name: dict[str, list] = defaultdict(list)
        for s in schools:
            if s.code:
                by_code[s.code.upper()].append(s)
            by_name[norm.unit_key(s.name)].append(s)
        default_school = self._single_school()
        units = OrgUnit.objects.filter(district=self.district, kind__in=[Kind.GRADE, Kind.CLASS]).values(
            "id", "kind", "name", "parent_id", "path", "grade_year", "class_no", "is_active")
        grades: dict[int, list[dict]] = defaultdict(list)  # school id → grades
        classes: dict[int, list[dict]] = defaultdict(list)  # grade id → classes
        grade_school: dict[int, int] = {}
        for u in units:
            u["key"] = norm.unit_key(u["name"])
            if u["kind"] == Kind.GRADE:
                if u["grade_year"] is None:
                    u["grade_year"] = norm.parse_grade(u["name"])[0]
                grades[u["parent_id"]].append(u)
                grade_school[u["id"]] = u["parent_id"]
            else:
                if u["class_no"] is None:
                    u["class_no"] = norm.parse_class(u["name"])[2]
                classes[u["parent_id"]].append(u)
        school_by_id = {s.id: s for s in schools}
        cache: dict[tuple, tuple] = {}
        for st in self.students.values():
            key = (st.school_code, norm.unit_key(st.school_name), norm.unit_key(st.grade), norm.unit_key(st.class_name))
            if key not in cache:
                cache[key] = self._resolve_one(st, by_code, by_name, default_school, grades, classes, school_by_id)
            school_id, class_id, problem = cache[key]
            if problem:
                code, column_field, message = problem
                self.problem(st.sheet, st.row, st.layout.label(column_field), code, message)
                st.ok = False
            else:
                st.school_id, st.class_id = school_id, class_id

    def _resolve_one(self, st: StudentIn, by_code, by_name, default_school, grades, classes, school_by_id):
        """(school id, class id, None) or (None, None, (code, column field, message)) for one row's place."""
        school = None
        if st.school_code:
            found = by_code.get(st.school_code, [])
            if not found:
                return None, None, ("school_unknown", spec.SCHOOL_CODE, _(
                    "区内没有学校标识码为“%(code)s”的学校，请核对标识码，或改填学校名称。") % {"code": st.school_code[:20]})
            school = found[0]
            if st.school_name and norm.unit_key(st.school_name) != norm.unit_key(school.name):
                return None, None, ("school_unknown", spec.SCHOOL_NAME, _(
                    "学校名称与学校标识码不一致（该标识码对应“%(name)s”），请核对。") % {"name": school.name})
        elif st.school_name:
            found = by_name.get(norm.unit_key(st.school_name), [])
            if not found:
                return None, None, ("school_unknown", spec.SCHOOL_NAME, _(
                    "区内没有名为“%(name)s”的学校，请填写平台中的学校全称或学校标识码。") % {"name": st.school_name[:40]})
            if len(found) > 1:
                return None, None, ("school_unknown", spec.SCHOOL_NAME, _(
                    "区内有多所学校名为“%(name)s”，请改填学校标识码。") % {"name": st.school_name[:40]})
            school = found[0]
        elif default_school is not None:
            school = default_school
        else:
            return None, None, ("required_missing", spec.SCHOOL_NAME, _("请填写学校名称或学校标识码。"))
        if self.school is not None and school.id != self.school.id:
            return None, None, ("scope_denied", spec.SCHOOL_NAME, _(
                "本次导入限定为“%(school)s”，该行属于其他学校。请删除该行，或由区管理员导入。") % {"school": self.school.name})
        school_grades = grades.get(school.id, [])
        grade = None
        if st.grade:
            grade = self._match_grade(st.grade, school, school_grades)
            if grade is None:
                names = "、".join(g["name"] for g in school_grades if g["is_active"])[:120] or _("（该校尚未建立年级）")
                return None, None, ("grade_unknown", spec.GRADE, _(
                    "“%(school)s”没有“%(grade)s”。该校的年级有：%(names)s。") % {"school": school.name, "grade": st.grade[:20], "names": names})
        classes_of = [(g, c) for g in ([grade] if grade else school_grades) for c in classes.get(g["id"], [])]
        candidates = [gc for gc in classes_of if gc[1]["key"] == norm.unit_key(st.class_name)]
        if len(candidates) != 1:
            gy, explicit, class_no = norm.parse_class(st.class_name)
            if class_no is not None:
                structured = [gc for gc in classes_of if gc[1]["class_no"] == class_no]
                if gy is not None:
                    years = _grade_years(gy, explicit, school)
                    if grade is not None and grade["grade_year"] is not None and grade["grade_year"] not in years:
                        return None, None, ("class_unknown", spec.CLASS, _(
                            "班级“%(cls)s”与年级“%(grade)s”不一致，请核对。") % {"cls": st.class_name[:20], "grade": st.grade[:20]})
                    structured = [gc for gc in structured if gc[0]["grade_year"] in years]
                candidates = structured
        if len(candidates) > 1:
            return None, None, ("class_unknown", spec.CLASS, _(
                "“%(school)s”有多个班级与“%(cls)s”对应，请同时填写年级，或写成“三(2)班”的形式。") % {"school": school.name, "cls": st.class_name[:20]})
        if not candidates:
            where = grade["name"] if grade else school.name
            return None, None, ("class_unknown", spec.CLASS, _(
                "“%(where)s”没有班级“%(cls)s”。请核对班级名称，或先在组织架构中建立该班级。") % {"where": where, "cls": st.class_name[:20]})
        _g, cls = candidates[0]
        if not cls["is_active"]:
            return None, None, ("class_unknown", spec.CLASS, _("班级“%(cls)s”已停用，请核对。") % {"cls": cls["name"]})
        if not self.can_manage(cls["path"]):
            return None, None, ("scope_denied", spec.SCHOOL_NAME if not self.can_manage(school.path) else spec.CLASS, _(
                "您没有管理“%(where)s”学生的权限，不能导入该行。请删除该行，或请有权限的管理员导入。") % {
                "where": school.name if not self.can_manage(school.path) else cls["name"]})
        return school.id, cls["id"], None

    @staticmethod
    def _match_grade(text: str, school, school_grades: list[dict]) -> dict | None:
        key = norm.unit_key(text)
        named = [g for g in school_grades if g["key"] == key]
        if len(named) == 1:
            return named[0]
        gy, explicit = norm.parse_grade(text)
        if gy is None:
            return None
        for year in _grade_years(gy, explicit, school):
            found = [g for g in school_grades if g["grade_year"] == year]
            if len(found) == 1:
                return found[0]
        return None

    def _check_students(self) -> None:
        nos = set(self.students) | {g.student_no for g in self.guardian_rows if g.student_no and g.student_no != "!"}
        existing: dict[str, dict] = {}
        # The 学籍号 is encrypted: matched through its digest, never by decrypting the district's rows.
        by_digest = {digest(no): no for no in nos}
        for chunk in _chunks(sorted(by_digest)):
            for row in Student.objects.filter(district=self.district, student_no_digest__in=chunk).values(
                "id", "student_no_digest", "name", "gender", "birth_date", "id_digest", "is_active", "school_id",
                "school_class_id", "school_class__path", "school_class__name",
            ):
                existing[by_digest[row["student_no_digest"]]] = row
        self._existing_students = existing
        id_digests = {s.id_digest: s for s in self.students.values() if s.id_digest}
        for chunk in _chunks(sorted(id_digests)):
            for row in Student.objects.filter(district=self.district, id_digest__in=chunk).values("student_no_digest", "id_digest"):
                s = id_digests[row["id_digest"]]
                if row["student_no_digest"] != digest(s.student_no):
                    self.problem(s.sheet, s.row, s.layout.label(spec.ID_NUMBER), "id_number_taken", _(
                        "该身份证号已登记在区内另一名学生（学籍号不同）名下。请核对身份证号和学籍号；如学籍号有变更，请联系区管理员。"))
                    s.ok = False
        masked_ids = [existing[s.student_no]["id"] for s in self.students.values() if s.id_masked and s.student_no in existing]
        stored_ids: dict[int, str] = {}
        for chunk in _chunks(masked_ids):
            stored_ids.update(Student.objects.filter(id__in=chunk).values_list("id", "id_number"))
        for s in self.students.values():
            old = existing.get(s.student_no)
            s.existing = old
            if old is None:
                s.action = "create"
                if s.id_masked:
                    self.problem(s.sheet, s.row, s.layout.label(spec.ID_NUMBER), "masked_value_unmatched", _(
                        "这是新学生，身份证号不能是脱敏值（带*）。请填写完整身份证号，或留空。"))
                    s.ok = False
                continue
            if not self.can_manage(old["school_class__path"]):
                if old["school_id"] != s.school_id:
                    self.problem(s.sheet, s.row, s.layout.label(spec.STUDENT_NO), "student_no_taken_by_other_school", _(
                        "该学籍号已被区内其他学校的学生使用，请核对或联系区管理员。"))
                else:
                    self.problem(s.sheet, s.row, s.layout.label(spec.STUDENT_NO), "scope_denied", _(
                        "该学籍号的学生在您无权管理的班级中，请核对或请学校管理员导入。"))
                s.ok = False
                continue
            if s.id_masked:
                stored = stored_ids.get(old["id"], "")
                if not stored or mask_id_number(stored) != s.id_number:
                    self.problem(s.sheet, s.row, s.layout.label(spec.ID_NUMBER), "masked_value_unmatched", _(
                        "脱敏的身份证号与平台中该学生的身份证号不符。请填写完整身份证号，或保留导出时的原样。"))
                    s.ok = False
                    continue
            if not s.ok:
                continue
            changes = []
            if s.class_id != old["school_class_id"]:
                changes.append(("school_class", old["school_class__name"]))
            if s.name != old["name"]:
                changes.append(("name", old["name"]))
            if s.gender and s.gender != old["gender"]:
                changes.append(("gender", old["gender"]))
            if s.birth_date and s.birth_date != old["birth_date"]:
                changes.append(("birth_date", old["birth_date"]))
            if s.id_digest and s.id_digest != old["id_digest"]:
                changes.append(("id_number", None))
            if not old["is_active"]:
                changes.append(("is_active", None))
            s.action = "update" if changes else "unchanged"
            s.changes = [c[0] for c in changes]
            if changes and len(self.changes) < MAX_STORED_CHANGES:
                self.changes.append(self._student_change(s, dict(changes)))

    def _student_change(self, s: StudentIn, old: dict) -> dict:
        labels = {"school_class": _("班级"), "name": _("姓名"), "gender": _("性别"), "birth_date": _("出生日期"),
                  "id_number": _("身份证号"), "is_active": _("在读状态")}
        parts = []
        for key, before in old.items():
            if key == "school_class":
                parts.append(f"{labels[key]}：{before} → {s.class_name}")
            elif key == "name":
                parts.append(f"{labels[key]}：{before} → {s.name}")
            elif key == "gender":
                parts.append(f"{labels[key]}：{_gender_label(before)} → {_gender_label(s.gender)}")
            elif key == "birth_date":
                parts.append(f"{labels[key]}：{before or '—'} → {s.birth_date}")
            elif key == "is_active":
                parts.append(_("恢复为在读"))
            else:
                parts.append(_("%(label)s已更新") % {"label": labels[key]})
        return {"sheet": s.sheet, "row": s.row, "kind": _("学生"), "who": f"{s.name}（{mask_student_no(s.student_no)}）", "what": "；".join(parts)}

    def _check_guardians(self) -> None:
        existing_students = self._existing_students
        # Who may the guardian rows attach to: a student of this file, or one already stored that the
        # importer manages. Anything else reads the same, so as not to reveal other schools' students.
        student_ids = [row["id"] for row in existing_students.values() if self.can_manage(row["school_class__path"])]
        for chunk in _chunks(student_ids):
            for link in Guardianship.objects.filter(student_id__in=chunk).values(
                "id", "guardian_id", "student_id", "relation", "is_primary", "lives_with",
                "guardian__name", "guardian__phone_digest", "guardian__household_id",
            ):
                self._existing_links[(link["guardian_id"], link["student_id"])] = link
                self._student_links[link["student_id"]].append(link)
                self._guardian_household[link["guardian_id"]] = link["guardian__household_id"]
        file_digests: dict[str, GuardianIn] = {}
        for g in self.guardian_rows:
            if g.phone_digest:
                first = file_digests.setdefault(g.phone_digest, g)
                if first is not g and first.name and g.name and first.name != g.name:
                    self.problem(g.sheet, g.row, g.label(spec.GUARDIAN_NAME), "phone_name_conflict", _(
                        "同一手机号在%(where)s登记的监护人姓名不同。一个手机号只能对应一位监护人，请核对手机号或姓名。") % {
                        "where": _row_ref(first, g)})
                    g.ok = False
        by_digest: dict[str, dict] = {}
        for chunk in _chunks(sorted(file_digests)):
            for row in Guardian.objects.filter(district=self.district, phone_digest__in=chunk).values(
                "id", "name", "phone_digest", "household_id"
            ):
                by_digest[row["phone_digest"]] = row
                self._guardian_household[row["id"]] = row["household_id"]
        # A stored guardian may be renamed or given a new number only if all their children are in scope:
        # fetch the links of the guardians that this file would rename or renumber (usually none).
        guardian_ids = set()
        for g in self.guardian_rows:
            row = by_digest.get(g.phone_digest) if g.phone_digest else None
            if row is not None:
                if row["name"] != g.name:
                    guardian_ids.add(row["id"])
            elif g.phone_digest and g.student_no in existing_students:
                sid = existing_students[g.student_no]["id"]
                guardian_ids.update(link["guardian_id"] for link in self._student_links.get(sid, []) if link["guardian__name"] == g.name)
        guardian_ids = sorted(guardian_ids)
        guardian_paths: dict[int, list[str]] = defaultdict(list)
        for chunk in _chunks(guardian_ids):
            for gid, path in Guardianship.objects.filter(guardian_id__in=chunk).values_list("guardian_id", "student__school_class__path"):
                guardian_paths[gid].append(path)

        def manageable(gid: int) -> bool:
            return all(self.can_manage(p) for p in guardian_paths.get(gid, []))

        masked_candidates = {}
        for g in self.guardian_rows:
            if g.phone_masked and g.ok:
                sid = (existing_students.get(g.student_no) or {}).get("id")
                for link in self._student_links.get(sid, []):
                    if link["guardian__name"] == g.name:
                        masked_candidates[link["guardian_id"]] = None
        for chunk in _chunks(sorted(masked_candidates)):
            masked_candidates.update(Guardian.objects.filter(id__in=chunk).values_list("id", "phone"))

        seen_pairs: dict[tuple, GuardianIn] = {}
        primaries: dict[str, GuardianIn] = {}
        phone_changes: dict[int, GuardianIn] = {}
        claimed: dict[str, object] = {}  # phone digest not yet stored → the guardian it now belongs to
        for g in self.guardian_rows:
            st_file = self.students.get(g.student_no)
            st_db = existing_students.get(g.student_no)
            if not g.student_no or g.student_no == "!":
                continue
            if st_file is None and (st_db is None or not self.can_manage(st_db["school_class__path"])):
                self.problem(g.sheet, g.row, g.label(spec.STUDENT_NO), "guardian_without_student", _(
                    "找不到学籍号为该值的学生，或该学生不在您的管理范围内。请先在学生表中填写该学生，或核对学籍号。"))
                g.ok = False
                continue
            if g.student_name_ref:
                actual = st_file.name if st_file is not None else st_db["name"]
                if actual and g.student_name_ref != actual:
                    self.problem(g.sheet, g.row, g.label(spec.STUDENT_NAME_REF), "student_name_mismatch", _(
                        "学生姓名与该学籍号的学生（%(name)s）不一致，请核对学籍号。") % {"name": actual})
                    g.ok = False
            if g.is_primary:
                other = primaries.setdefault(g.student_no, g)
                if other is not g and (other.phone != g.phone or other.name != g.name):
                    self.problem(g.sheet, g.row, g.label(spec.IS_PRIMARY), "primary_guardian_multiple", _(
                        "该学生已在%(where)s标为第一监护人，每个学生最多一位第一监护人。") % {"where": _row_ref(other, g)})
                    g.ok = False
            if not g.ok:
                continue
            sid = st_db["id"] if st_db is not None else None
            # Which guardian is this row? By phone; a masked phone by the student's guardian of that name;
            # a new phone for a stored guardian of the same name and student = that guardian's new number.
            if g.phone_masked:
                gid = None
                for link in self._student_links.get(sid, []):
                    stored = masked_candidates.get(link["guardian_id"])
                    if link["guardian__name"] == g.name and stored and mask_phone(stored) == g.phone:
                        gid = link["guardian_id"]
                        break
                if gid is None:
                    self.problem(g.sheet, g.row, g.label(spec.PHONE), "masked_value_unmatched", _(
                        "脱敏的手机号（带*）无法对应到该学生已登记的监护人。新增监护人请填写完整手机号。"))
                    g.ok = False
                    continue
                g.guardian_key = gid
            else:
                d = g.phone_digest
                row = by_digest.get(d)
                if row is not None:
                    g.guardian_key = row["id"]
                    if row["name"] != g.name:
                        if not manageable(row["id"]):
                            self.problem(g.sheet, g.row, g.label(spec.GUARDIAN_NAME), "guardian_name_conflict", _(
                                "该手机号已登记为区内其他学生的监护人，姓名与本表不一致。请核对手机号；如需更正姓名，请联系区管理员。"))
                            g.ok = False
                            continue
                        self._guardian_updates.setdefault(row["id"], {"row": g, "old_name": row["name"]})["name"] = g.name
                elif d in claimed:
                    g.guardian_key = claimed[d]  # the same new number on another row: the same person
                else:
                    renamed = [
                        link for link in self._student_links.get(sid, [])
                        if link["guardian__name"] == g.name and link["guardian__phone_digest"] not in file_digests
                        and manageable(link["guardian_id"])
                    ]
                    if len(renamed) == 1:
                        gid = renamed[0]["guardian_id"]
                        if gid in phone_changes:
                            self.problem(g.sheet, g.row, g.label(spec.PHONE), "phone_name_conflict", _(
                                "同一位监护人在%(where)s填写了另一个手机号，请核对。") % {"where": _row_ref(phone_changes[gid], g)})
                            g.ok = False
                            continue
                        phone_changes[gid] = g
                        g.guardian_key = gid
                        self._guardian_updates.setdefault(gid, {"row": g, "old_name": g.name})["phone"] = g.phone
                    else:
                        g.guardian_key = ("new", d)
                        self._new_guardians.setdefault(d, g)
                    claimed[d] = g.guardian_key
            pair = (g.guardian_key, g.student_no)
            first = seen_pairs.setdefault(pair, g)
            if first is not g:
                if (first.relation, first.is_primary, first.lives_with) != (g.relation, g.is_primary, g.lives_with):
                    self.problem(g.sheet, g.row, g.label(spec.PHONE), "guardianship_duplicate_in_file", _(
                        "同一学生的同一位监护人在%(where)s已填写，且关系或标记不一致，请保留一行。") % {"where": _row_ref(first, g)})
                    g.ok = False
                continue
            self._plan_link(g, sid)

    def _plan_link(self, g: GuardianIn, sid: int | None) -> None:
        key = (g.guardian_key, g.student_no)
        stored = self._existing_links.get((g.guardian_key, sid)) if isinstance(g.guardian_key, int) and sid else None
        if stored is None:
            if g.relation == "":  # a blank cell; a sheet without a relation column defaults to 其他监护人
                self.problem(g.sheet, g.row, g.label(spec.RELATION), "required_missing", _(
                    "新增的监护关系请填写关系（父亲、母亲、祖父、祖母、外祖父、外祖母、其他监护人）。"))
                g.ok = False
                return
            self._links[key] = {"row": g, "action": "create", "relation": g.relation or Relation.OTHER,
                                "is_primary": bool(g.is_primary), "lives_with": True if g.lives_with is None else g.lives_with}
            return
        fields = {}
        if g.relation and g.relation != stored["relation"]:
            fields["relation"] = g.relation
        if g.is_primary is not None and g.is_primary != stored["is_primary"]:
            fields["is_primary"] = g.is_primary
        if g.lives_with is not None and g.lives_with != stored["lives_with"]:
            fields["lives_with"] = g.lives_with
        self._links[key] = {"row": g, "action": "update" if fields else "unchanged", "id": stored["id"], "stored": stored, **fields}
        if fields and len(self.changes) < MAX_STORED_CHANGES:
            labels = {"relation": _("关系"), "is_primary": _("第一监护人"), "lives_with": _("同住")}
            what = "；".join(f"{labels[k]}：{_show(k, stored[k])} → {_show(k, v)}" for k, v in fields.items())
            self.changes.append({"sheet": g.sheet, "row": g.row, "kind": _("监护关系"), "who": f"{g.name} — {mask_student_no(g.student_no)}", "what": what})

    def _count(self) -> None:
        def tally(actions):
            out = {"created": 0, "updated": 0, "unchanged": 0}
            for a in actions:
                if a == "create":
                    out["created"] += 1
                elif a == "update":
                    out["updated"] += 1
                elif a == "unchanged":
                    out["unchanged"] += 1
            return out

        guardian_keys = {g.guardian_key for g in self.guardian_rows if g.guardian_key is not None}
        existing_guardians = {k for k in guardian_keys if isinstance(k, int)}
        g_updated = len(self._guardian_updates)
        for update in self._guardian_updates.values():
            if len(self.changes) < MAX_STORED_CHANGES:
                row = update["row"]
                parts = []
                if "name" in update:
                    parts.append(_("姓名：%(old)s → %(new)s") % {"old": update["old_name"], "new": update["name"]})
                if "phone" in update:
                    parts.append(_("手机号已更新"))
                self.changes.append({"sheet": row.sheet, "row": row.row, "kind": _("监护人"), "who": row.name, "what": "；".join(parts)})
        self.counts = {
            "rows": {"students": len(self.students), "guardians": len(self.guardian_rows)},
            "students": tally(s.action for s in self.students.values()),
            "guardians": {"created": len(self._new_guardians), "updated": g_updated,
                          "unchanged": len(existing_guardians) - g_updated},
            "guardianships": tally(link["action"] for link in self._links.values()),
            "problems": len(self.problems),
            "skipped_examples": self.skipped_examples,
        }

    @property
    def changed(self) -> bool:
        c = self.counts
        return any(c.get(k, {}).get(a) for k in ("students", "guardians", "guardianships") for a in ("created", "updated"))

    # --- writing ------------------------------------------------------------------------------------
    def commit(self, *, actor=None) -> dict:
        """Write the plan in one transaction. Call only after validate() found no problem.
        actor: who imports (a User or audit Actor; None: the system), named in every per-object audit row."""
        if not self.validated or self.problems:
            raise RuntimeError("commit() needs a validated import without problems")
        now = timezone.now()
        total = sum(self.counts["students"].values()) + len(self.guardian_rows)
        self.progress(_("写入"), 0, total, force=True)
        with transaction.atomic():
            student_ids = self._write_students(now)
            self.progress(_("写入"), len(self.students), total)
            guardian_ids = self._write_guardians(now)
            self._write_links(student_ids, guardian_ids)
            self._audit_people(actor, student_ids, guardian_ids)
        self.progress(_("写入"), total, total, force=True)
        return self.counts

    def _audit_people(self, actor, student_ids: dict, guardian_ids: dict) -> None:
        """Per-object history of the people an import writes: one row per student and guardian, values as
        the registry would show them (numbers and phones only as ***). On PostgreSQL the created rows are
        described by the database (roster/sql.py): 27,500 of them cost no trip through Python."""
        students = [s for s in self.students.values() if s.action in ("create", "update")]
        new_students = [s for s in students if s.action == "create"]
        new_guardians = [(d, g) for d, g in self._new_guardians.items() if ("new", d) in guardian_ids]
        if connection.vendor == "postgresql":
            record_many_from("create", model="people.student", select_sql=sql.CREATED_STUDENTS_AUDIT,
                             params=[[student_ids[s.student_no] for s in new_students]], actor=actor)
            record_many_from("create", model="people.guardian", select_sql=sql.CREATED_GUARDIANS_AUDIT,
                             params=[[guardian_ids[("new", d)] for d, _g in new_guardians]], actor=actor)
        else:
            record_many("create", model="people.student", rows=[
                (student_ids[s.student_no], {"via": "roster.import", "name": s.name, "school_class_id": s.class_id,
                                             "student_no": "***", "id_number": "***" if s.id_number else ""})
                for s in new_students], actor=actor)
            record_many("create", model="people.guardian", rows=[
                (guardian_ids[("new", d)], {"via": "roster.import", "name": g.name, "phone": "***"}) for d, g in new_guardians],
                actor=actor)
        updated = [(s.existing["id"], {"via": "roster.import", "fields": sorted(s.changes)}) for s in students if s.action == "update"]
        record_many("update", model="people.student", rows=updated, actor=actor)
        changed = [(gid, {"via": "roster.import", "fields": sorted(k for k in u if k in ("name", "phone"))})
                   for gid, u in self._guardian_updates.items()]
        record_many("update", model="people.guardian", rows=changed, actor=actor)

    def _write_students(self, now) -> dict[str, int]:
        ids = {no: row["id"] for no, row in self._existing_students.items()}
        district_id = self.district.id
        new = [
            Student(district_id=district_id, school_id=s.school_id, school_class_id=s.class_id, name=s.name,
                    gender=s.gender or s.derived_gender, birth_date=s.birth_date or s.derived_birth, student_no=s.student_no, id_number=s.id_number,
                    id_digest=s.id_digest, is_active=True)
            for s in self.students.values() if s.action == "create"
        ]
        for obj in Student.objects.bulk_create(new, batch_size=BATCH):
            ids[obj.student_no] = obj.pk
        if new and any(obj.pk is None for obj in new):
            found: dict = {}
            self._requery_ids(Student, "student_no_digest", [o.student_no_digest for o in new], found)
            by_digest = {o.student_no_digest: o.student_no for o in new}
            ids.update({by_digest[d]: pk for d, pk in found.items()})
        plain, with_id = [], []
        for s in self.students.values():
            if s.action != "update":
                continue
            old = s.existing
            obj = Student(id=old["id"], school_id=s.school_id, school_class_id=s.class_id, name=s.name,
                          gender=s.gender or old["gender"], birth_date=s.birth_date or old["birth_date"], is_active=True,
                          updated_at=now)
            if "id_number" in s.changes:
                obj.id_number, obj.id_digest = s.id_number, s.id_digest
                with_id.append(obj)
            plain.append(obj)
        fields = ["school_id", "school_class_id", "name", "gender", "birth_date", "is_active", "updated_at"]
        Student.objects.bulk_update(plain, fields, batch_size=BATCH)
        Student.objects.bulk_update(with_id, ["id_number", "id_digest"], batch_size=BATCH)
        return ids

    def _write_guardians(self, now) -> dict:
        ids: dict = {}
        households = self._households_for_new()
        new = []
        for d, g in self._new_guardians.items():
            new.append(Guardian(district_id=self.district.id, name=g.name, phone=g.phone, phone_digest=d,
                                household_id=households.get(("new", d))))
        for obj in Guardian.objects.bulk_create(new, batch_size=BATCH):
            ids[("new", obj.phone_digest)] = obj.pk
        if new and any(obj.pk is None for obj in new):
            found: dict = {}
            self._requery_ids(Guardian, "phone_digest", [o.phone_digest for o in new], found, district=True)
            ids.update({("new", k): v for k, v in found.items()})
        renamed, rephoned = [], []
        for gid, update in self._guardian_updates.items():
            if "name" in update:
                renamed.append(Guardian(id=gid, name=update["name"], updated_at=now))
            if "phone" in update:
                rephoned.append(Guardian(id=gid, phone=update["phone"], phone_digest=digest(update["phone"]), updated_at=now))
        Guardian.objects.bulk_update(renamed, ["name", "updated_at"], batch_size=BATCH)
        Guardian.objects.bulk_update(rephoned, ["phone", "phone_digest", "updated_at"], batch_size=BATCH)
        return ids

    def _households_for_new(self) -> dict:
        """New guardians who share a child join that child's existing household, or get a new one."""
        parent: dict = {}

        def find(x):
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        by_student: dict[str, list] = defaultdict(list)
        for g in self.guardian_rows:
            if g.guardian_key is not None:
                by_student[g.student_no].append(g.guardian_key)
        for no, keys in by_student.items():
            sid = (self._existing_students.get(no) or {}).get("id")
            keys = keys + [link["guardian_id"] for link in self._student_links.get(sid, [])]
            for k in keys[1:]:
                parent[find(k)] = find(keys[0])
        groups: dict = defaultdict(list)
        for key in {k for keys in by_student.values() for k in keys} | set(parent):
            groups[find(key)].append(key)
        assigned: dict = {}
        fresh_groups = []
        for members in groups.values():
            new = [k for k in members if not isinstance(k, int)]
            if not new:
                continue
            stored = sorted(h for k in members if isinstance(k, int) and (h := self._guardian_household.get(k)))
            if stored:
                assigned.update(dict.fromkeys(new, stored[0]))
            else:
                fresh_groups.append(new)
        if fresh_groups:
            made = Household.objects.bulk_create([Household(district_id=self.district.id) for _g in fresh_groups], batch_size=BATCH)
            if any(h.pk is None for h in made):  # databases without RETURNING: one by one
                made = [Household.objects.create(district_id=self.district.id) for _g in fresh_groups]
            for members, household in zip(fresh_groups, made, strict=True):
                assigned.update(dict.fromkeys(members, household.pk))
        self.counts["households_created"] = len(fresh_groups)
        return assigned

    def _write_links(self, student_ids: dict[str, int], guardian_ids: dict) -> None:
        new, changed = [], []
        fields = set()
        for (gkey, student_no), plan in self._links.items():
            if plan["action"] == "create":
                gid = gkey if isinstance(gkey, int) else guardian_ids[gkey]
                new.append(Guardianship(guardian_id=gid, student_id=student_ids[student_no], relation=plan["relation"],
                                        is_primary=plan["is_primary"], lives_with=plan["lives_with"]))
            elif plan["action"] == "update":
                stored = plan["stored"]
                obj = Guardianship(id=plan["id"], relation=stored["relation"], is_primary=stored["is_primary"], lives_with=stored["lives_with"])
                for f in ("relation", "is_primary", "lives_with"):
                    if f in plan:
                        setattr(obj, f, plan[f])
                        fields.add(f)
                changed.append(obj)
        Guardianship.objects.bulk_create(new, batch_size=BATCH)
        if changed:
            Guardianship.objects.bulk_update(changed, ["relation", "is_primary", "lives_with"], batch_size=BATCH)

    def _requery_ids(self, model, key: str, values: list, into: dict, district: bool = False) -> None:
        for chunk in _chunks(values):
            qs = model.objects.filter(**{f"{key}__in": chunk, "district": self.district})
            into.update(dict(qs.values_list(key, "id")))


# --- small helpers ----------------------------------------------------------------------------------
_MASKED_KEY_SEP = "\x00"  # never in a cell: normalised text has no control characters


def _is_masked_no(value: str) -> bool:
    # Cells are NFKC-normalised on reading, which turns the mask's "…" into "...".
    return STUDENT_NO_MASK in value or "..." in value or "*" in value


def _masked_key(masked: str, name: str) -> str:
    return f"{masked}{_MASKED_KEY_SEP}{name}"


def _chunks(values, size: int = CHUNK):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _id_code(value: str, today: dt.date) -> str:
    """Which GB 11643 rule an invalid ID number breaks, as a problem code."""
    if len(value) == 18 and value[:17].isdigit() and value[17] in "0123456789X":
        born = id_number_birth_date(value)
        if born is None or not _MIN_BIRTH <= born <= today:
            return "id_birth_date"
        if check_char(value[:17]) != value[17]:
            return "id_checksum"
    return "id_format"


def _grade_years(gy: int, explicit: bool, school) -> list[int]:
    """Grade years a grade number may mean in this school: a junior school's 一年级 is 初一 (7)."""
    years = [gy]
    if not explicit and 1 <= gy <= 3:
        if school.stage == Stage.JUNIOR:
            years.append(gy + 6)
        elif school.stage == Stage.SENIOR:
            years.append(gy + 9)
    return years


def _same_student(a: StudentIn, b: StudentIn) -> bool:
    return (a.school_code, a.school_name, a.grade, a.class_name, a.name, a.id_number, a.birth_date) == (
        b.school_code, b.school_name, b.grade, b.class_name, b.name, b.id_number, b.birth_date) and (
        not a.gender or not b.gender or a.gender == b.gender)


def _row_ref(first, current) -> str:
    if first.sheet == current.sheet:
        return _("第%(row)d行") % {"row": first.row}
    return _("“%(sheet)s”表第%(row)d行") % {"sheet": first.sheet, "row": first.row}


def _gender_label(value) -> str:
    return {"M": "男", "F": "女"}.get(value or "", "—")


def _show(key: str, value) -> str:
    if key == "relation":
        return norm.RELATION_LABEL.get(value, value)
    return "是" if value else "否"
