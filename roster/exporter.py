"""Writing roster files: the import template, and the export of the students and guardians a user may see,
in the same layout so that export → edit → import round-trips with nothing changed.

Phone and ID numbers and the 学籍号 are written in full only where the user holds people.view_contact /
people.view_identity for that student; elsewhere they are masked. The import reads a masked phone or ID
number as "unchanged", and a masked 学籍号 as the student of that name whose 学籍号 masks to it."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace

import xlsxwriter
from django.utils.translation import gettext as _

from core import exports
from core.crypto import mask_id_number, mask_phone, mask_student_no
from core.perms import can
from core.scoping import get_scope
from people.models import Guardianship, Student
from people.perms import VIEW_CONTACT, VIEW_IDENTITY
from roster import spec
from roster.importer import SYSTEM_SCOPE
from roster.normalise import RELATION_LABEL

XLSX_CONTENT_TYPE = exports.XLSX_CONTENT_TYPE
CSV_CONTENT_TYPE = exports.CSV_CONTENT_TYPE
VALIDATION_ROWS = 20000  # rows below the header that get the drop-down lists in the template
FLAT_GUARDIAN_COLUMNS = tuple(c for c in spec.GUARDIAN_COLUMNS if c.field in spec.GUARDIAN_FIELDS)


def _formats(book):
    return {
        "header": book.add_format({"bold": True, "bg_color": "#FBEAE8", "border": 1, "align": "center", "valign": "vcenter"}),
        "required": book.add_format({"bold": True, "bg_color": "#F5B7B1", "border": 1, "align": "center", "valign": "vcenter"}),
        "text": book.add_format({"num_format": "@"}),
        "example": book.add_format({"num_format": "@", "italic": True, "font_color": "#7F8C8D"}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "title": book.add_format({"bold": True, "font_size": 14}),
    }


def _sheet(book, name: str, columns, fmt, *, comments: bool, rows: int = VALIDATION_ROWS):
    ws = book.add_worksheet(name)
    for index, col in enumerate(columns):
        ws.set_column(index, index, col.width, fmt["text"] if col.text else None)
        ws.write_string(0, index, col.header, fmt["required"] if col.required else fmt["header"])
        if comments:
            ws.write_comment(0, index, col.note, {"x_scale": 2.2, "y_scale": 1.4})
        if col.choices:
            ws.data_validation(1, index, rows, index, {
                "validate": "list", "source": list(col.choices), "error_type": "warning",
                "error_title": _("请从列表中选择"), "error_message": "、".join(col.choices),
            })
    ws.freeze_panes(1, 0)
    return ws


def write_template(out) -> None:
    """The import template: 学生 and 监护人 sheets with an example row each, notes, drop-downs, and a 说明 sheet."""
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    fmt = _formats(book)
    ws = _sheet(book, spec.STUDENT_SHEET, spec.STUDENT_COLUMNS, fmt, comments=True)
    for index, col in enumerate(spec.STUDENT_COLUMNS):
        ws.write_string(1, index, spec.EXAMPLE_STUDENT[col.field], fmt["example"])
    ws = _sheet(book, spec.GUARDIAN_SHEET, spec.GUARDIAN_COLUMNS, fmt, comments=True)
    for r, example in enumerate(spec.EXAMPLE_GUARDIANS, start=1):
        for index, col in enumerate(spec.GUARDIAN_COLUMNS):
            ws.write_string(r, index, example[col.field], fmt["example"])
    help_sheet = book.add_worksheet(spec.HELP_SHEET)
    help_sheet.set_column(0, 0, 110, fmt["wrap"])
    help_sheet.write_string(0, 0, _("学生及监护人花名册导入说明"), fmt["title"])
    for r, rule in enumerate(spec.RULES, start=2):
        help_sheet.write_string(r, 0, f"{r - 1}. {rule}")
    row = len(spec.RULES) + 3
    help_sheet.write_string(row, 0, _("各列说明（红色表头为必填列）："), fmt["title"])
    for col in (*spec.STUDENT_COLUMNS, *spec.GUARDIAN_COLUMNS):
        row += 1
        help_sheet.write_string(row, 0, f"{col.header}：{col.note}")
    book.close()


# --- export ---------------------------------------------------------------------------------------
@dataclass
class ExportResult:
    students: int = 0
    guardianships: int = 0
    contact_masked: int = 0  # students whose guardians' phones were masked
    identity_masked: int = 0  # students whose ID numbers and 学籍号 were masked
    identity_shown: int = 0  # students whose 学籍号 (and ID number, if any) were written in full


def _allowed(scope, perm: str, path: str, student_id: int, cache: dict) -> bool:
    if scope.superuser:
        return True
    if student_id in scope.student_perms.get(perm, ()):
        return True
    key = (perm, path)
    if key not in cache:
        cache[key] = can(scope, perm, SimpleNamespace(path=path))
    return cache[key]


def export_rows(*, user, unit):
    """(students, links by student id, result) for the active students under unit that user may see."""
    scope = get_scope(user) if user is not None else SYSTEM_SCOPE
    base = Student.objects.visible_to(user) if user is not None else Student.objects.all()
    students_qs = base.under(unit).filter(is_active=True)
    students = list(
        # Not by 学籍号: it is ciphertext in the database. Name, then id, keeps the order stable.
        students_qs.order_by("school__name", "school_class__parent__grade_year", "school_class__class_no", "school_class__name", "name", "id")
        .values("id", "student_no", "name", "gender", "birth_date", "id_number", "school__code", "school__name",
                "school_class__name", "school_class__parent__name", "school_class__path")
    )
    links: dict[int, list[dict]] = defaultdict(list)
    for link in (
        Guardianship.objects.system(reason="the guardians of the exported students, taken through visible_to").filter(student__in=students_qs.values("id"))
        .order_by("student_id", "-is_primary", "id")
        .values("student_id", "guardian__name", "guardian__phone", "relation", "is_primary", "lives_with")
    ):
        links[link["student_id"]].append(link)
    result = ExportResult(students=len(students), guardianships=sum(len(v) for v in links.values()))
    cache: dict = {}
    for s in students:
        path, sid = s["school_class__path"], s["id"]
        if _allowed(scope, VIEW_IDENTITY, path, sid, cache):
            result.identity_shown += 1
        else:
            s["id_number"] = mask_id_number(s["id_number"]) if s["id_number"] else ""
            s["student_no"] = mask_student_no(s["student_no"])
            result.identity_masked += 1
        contact = _allowed(scope, VIEW_CONTACT, path, sid, cache)
        if not contact and links.get(sid):
            result.contact_masked += 1
        for link in links.get(sid, ()):
            if not contact:
                link["guardian__phone"] = mask_phone(link["guardian__phone"] or "")
    return students, links, result


def _student_cells(s: dict) -> list[str]:
    return [
        s["school__code"] or "", s["school__name"] or "", s["school_class__parent__name"] or "", s["school_class__name"] or "",
        s["name"], {"M": "男", "F": "女"}.get(s["gender"], ""), s["student_no"], s["id_number"] or "",
        s["birth_date"].isoformat() if s["birth_date"] else "",
    ]


def _guardian_cells(link: dict) -> list[str]:
    return [link["guardian__name"], RELATION_LABEL.get(link["relation"], "其他监护人"), link["guardian__phone"] or "",
            "是" if link["is_primary"] else "否", "是" if link["lives_with"] else "否"]


def write_export_xlsx(out, students, links) -> None:
    book = xlsxwriter.Workbook(out, {"constant_memory": True, **exports.WORKBOOK_OPTIONS})
    fmt = _formats(book)
    cells = exports.CellWriter(book)  # text cells, a risky one quote-prefixed: the value reads back unchanged
    ws = _sheet(book, spec.STUDENT_SHEET, spec.STUDENT_COLUMNS, fmt, comments=False, rows=max(len(students) + 500, 1000))
    for r, s in enumerate(students, start=1):
        for c, value in enumerate(_student_cells(s)):
            cells.write(ws, r, c, value)
    total = sum(len(v) for v in links.values())
    ws = _sheet(book, spec.GUARDIAN_SHEET, spec.GUARDIAN_COLUMNS, fmt, comments=False, rows=max(total + 500, 1000))
    r = 0
    for s in students:
        for link in links.get(s["id"], ()):
            r += 1
            g = _guardian_cells(link)
            for c, value in enumerate([s["student_no"], s["name"], *g]):
                cells.write(ws, r, c, value)
    book.close()


# A cell Excel would run as a formula (=, +, -, @, tab, CR) gets Excel's text mark; the import strips it.
csv_safe = exports.csv_cell


def write_export_csv(out, students, links) -> None:
    """One flat sheet: a row per guardian (the student repeated), a student without guardians on one row."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([c.header for c in spec.STUDENT_COLUMNS] + [c.header for c in FLAT_GUARDIAN_COLUMNS])
    for s in students:
        cells = _student_cells(s)
        rows = links.get(s["id"]) or [None]
        for link in rows:
            row = cells + (_guardian_cells(link) if link else [""] * len(FLAT_GUARDIAN_COLUMNS))
            writer.writerow([csv_safe(v) for v in row])
    text.flush()
    text.detach()
