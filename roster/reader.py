"""Reading roster files (XLSX through python-calamine, CSV through the csv module) and recognising their
layout: which sheet holds students, which guardians, and which column is which field."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from roster import spec
from roster.spec import HeaderMatch, header_key, match_header

STUDENTS = "students"
GUARDIANS = "guardians"
FLAT = "flat"  # students with one or more guardians on the same row

HEADER_SCAN_ROWS = 10  # a title row or two above the header is common ("XX学校2025级学生名单")
_STUDENT_SHEET_NAMES = {"学生", "学生信息", "学生名单", "学生花名册", "花名册", "students"}
_GUARDIAN_SHEET_NAMES = {"监护人", "家长", "监护人信息", "家长信息", "家长名单", "guardians"}


class FileUnreadable(Exception):
    """The file is not a workbook or text we can read; the message says what to do."""


@dataclass
class RawSheet:
    name: str
    rows: list[list]  # rows[i] is spreadsheet row i + 1; merged areas already filled in


@dataclass
class Slot:
    """One guardian's columns on a row: the plain ones (key ''), or a wide-layout prefix."""

    key: str
    relation: str = ""  # implied by the prefix (父亲姓名 → father)
    primary: bool | None = None  # implied by the prefix (第一监护人姓名 → True)
    columns: dict[str, tuple[int, str]] = field(default_factory=dict)  # field → (column index, header text)


@dataclass
class SheetLayout:
    sheet: RawSheet
    kind: str
    header_row: int  # spreadsheet row number of the header
    columns: dict[str, tuple[int, str]]  # student fields (or, in a guardian sheet, its own fields) → column
    slots: list[Slot]
    ignored: list[str]

    @property
    def name(self) -> str:
        return self.sheet.name

    def label(self, field_name: str, slot: Slot | None = None) -> str:
        where = slot.columns if slot is not None else self.columns
        found = where.get(field_name)
        return found[1] if found else spec.LABELS.get(field_name, field_name)

    def data_rows(self):
        """(row number, cells) of the rows below the header that hold anything."""
        for index in range(self.header_row, len(self.sheet.rows)):
            cells = self.sheet.rows[index]
            if any(c not in ("", None) and str(c).strip() for c in cells):
                yield index + 1, cells


# --- reading ------------------------------------------------------------------------------------------
def sniff_format(head: bytes) -> str | None:
    """'xlsx' or 'csv' judged by content, None when it is neither (a renamed .xls, an image …)."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith((b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8", b"GIF8", b"MZ", b"\x7fELF")):
        return None
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    return "csv" if decode_text(head, partial=True) is not None else None


def check_xlsx(fileobj, *, max_uncompressed: int) -> str | None:
    """None if fileobj is a real XLSX package of sane size, else what is wrong (Chinese)."""
    try:
        with zipfile.ZipFile(fileobj) as zf:
            names = set(zf.namelist())
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                return _("文件不是Excel工作簿（.xlsx）。如果是WPS或旧版Excel文件，请另存为“Excel工作簿(*.xlsx)”后再上传。")
            if sum(info.file_size for info in zf.infolist()) > max_uncompressed:
                return _("文件解压后过大，请拆分后分批导入。")
    except zipfile.BadZipFile:
        return _("文件已损坏或不是Excel工作簿（.xlsx），请重新保存后上传。")
    finally:
        fileobj.seek(0)
    return None


def decode_text(data: bytes, *, partial: bool = False) -> str | None:
    """Text of a CSV file: UTF-8 with or without BOM, UTF-16 with BOM, or GB18030 (what Chinese Excel
    writes for "CSV (逗号分隔)"). partial: data may end inside a multi-byte character."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None if not partial else data[: len(data) // 2 * 2].decode("utf-16", errors="ignore")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            if partial and exc.start >= len(data) - 4:
                return data[: exc.start].decode(encoding)
    return None


def read_xlsx(fileobj) -> list[RawSheet]:
    from python_calamine import CalamineWorkbook, PasswordError  # noqa: PLC0415 — Excel reader, loaded for an .xlsx only

    try:
        book = CalamineWorkbook.from_filelike(fileobj)
    except PasswordError as exc:
        raise FileUnreadable(_("文件设置了打开密码，请取消密码后再上传。")) from exc
    except Exception as exc:  # noqa: BLE001 - calamine raises several types for damaged files
        raise FileUnreadable(_("无法读取该Excel文件，请用Excel或WPS打开后另存为.xlsx再上传。")) from exc
    sheets = []
    try:
        for meta in book.sheets_metadata:
            if str(meta.visible) != "SheetVisibleEnum.Visible" or str(meta.typ) != "SheetTypeEnum.WorkSheet":
                continue  # hidden sheets hold lookup lists, not people
            sheet = book.get_sheet_by_name(meta.name)
            rows = sheet.to_python(skip_empty_area=False)
            _fill_merged(rows, sheet.merged_cell_ranges or [])
            sheets.append(RawSheet(meta.name, rows))
    finally:
        book.close()
    return sheets


def _fill_merged(rows: list[list], ranges) -> None:
    """A merged area shows one value; every cell in it means that value (the documented rule)."""
    for (r0, c0), (r1, c1) in ranges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):
                if row[c] in ("", None):
                    row[c] = value


def read_csv(data: bytes, name: str = "CSV") -> list[RawSheet]:
    text = decode_text(data)
    if text is None:
        raise FileUnreadable(_("无法识别CSV文件的编码，请在Excel中另存为“CSV UTF-8(逗号分隔)”后再上传。"))
    first = text[:4096].split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return [RawSheet(name, rows)]


def read_file(fileobj, fmt: str) -> list[RawSheet]:
    if fmt == "xlsx":
        return read_xlsx(fileobj)
    return read_csv(fileobj.read())


# --- layout -------------------------------------------------------------------------------------------
def _header_row(rows: list[list]) -> tuple[int, list[HeaderMatch | None]]:
    best, best_matches, best_count = -1, [], 1
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        matches = [match_header(c) if isinstance(c, str) else None for c in row]
        count = sum(1 for m in matches if m)
        if count > best_count:
            best, best_matches, best_count = index, matches, count
    return best, best_matches


def analyse(sheet: RawSheet, *, school_given: bool) -> tuple[SheetLayout | None, list[tuple[int, str, str, str]]]:
    """The layout of one sheet, and header problems as (row, column, code, message).

    Returns (None, []) for a sheet that holds no roster (a notes sheet, a summary)."""
    index, matches = _header_row(sheet.rows)
    name_key = header_key(sheet.name)
    if index < 0:
        if name_key in _STUDENT_SHEET_NAMES | _GUARDIAN_SHEET_NAMES:
            msg = _("未找到表头。请在前几行中写明列名（如“学生姓名”“学籍号”“班级”），或使用导入模板。")
            return None, [(1, "", "header_missing", msg)]
        return None, []
    header = sheet.rows[index]
    plain: dict[str, tuple[int, str]] = {}
    raw_keys: dict[str, str] = {}
    slots: dict[str, Slot] = {}
    ignored: list[str] = []
    for col, match in enumerate(matches):
        text = str(header[col]).strip() if col < len(header) and header[col] is not None else ""
        if match is None:
            if text:
                ignored.append(text)
            continue
        if match.slot:
            slot = slots.setdefault(match.slot, Slot(match.slot, relation=match.relation))
            if match.field not in slot.columns:
                slot.columns[match.field] = (col, text)
            else:
                ignored.append(text)
            continue
        if match.field in plain:
            ignored.append(text)  # a second column with the same meaning: the first one counts
            continue
        plain[match.field] = (col, text)
        raw_keys[match.field] = header_key(text)
    for slot in slots.values():
        if any("第一" in text for _c, text in slot.columns.values()):
            slot.primary = True  # 第一监护人姓名 | 第一监护人电话

    has_org = any(f in plain for f in (spec.CLASS, spec.GRADE, spec.SCHOOL_CODE, spec.SCHOOL_NAME))
    has_guardian = any(f in plain for f in spec.GUARDIAN_FIELDS) or bool(slots)
    if name_key in _GUARDIAN_SHEET_NAMES or (not has_org and spec.STUDENT_NO in plain and has_guardian and name_key not in _STUDENT_SHEET_NAMES):
        kind = GUARDIANS
    elif has_org or name_key in _STUDENT_SHEET_NAMES or (spec.STUDENT_NAME in plain and spec.STUDENT_NO in plain):
        kind = FLAT if has_guardian else STUDENTS
    else:
        return None, []

    problems: list[tuple[int, str, str, str]] = []
    row_no = index + 1

    def missing(field_name: str, label: str | None = None):
        label = label or spec.LABELS[field_name]
        problems.append((row_no, label, "header_missing", _("缺少“%(label)s”列（可用列名：%(names)s）。请在第%(row)d行表头中添加该列。")
                         % {"label": label, "names": spec.synonyms_text(field_name), "row": row_no}))

    slot_list: list[Slot] = []
    if kind == GUARDIANS:
        # In a guardian sheet, 学生姓名 is the check column; a bare 姓名 is the guardian's own name.
        if spec.STUDENT_NAME in plain:
            if spec.GUARDIAN_NAME not in plain and raw_keys[spec.STUDENT_NAME] == "姓名":
                plain[spec.GUARDIAN_NAME] = plain.pop(spec.STUDENT_NAME)
            else:
                plain[spec.STUDENT_NAME_REF] = plain.pop(spec.STUDENT_NAME)
        for f in (spec.STUDENT_NO, spec.GUARDIAN_NAME, spec.PHONE):
            if f not in plain:
                missing(f, "学生学籍号" if f == spec.STUDENT_NO else None)
        columns = plain
    else:
        columns = {f: v for f, v in plain.items() if f in spec.STUDENT_FIELDS}
        for f in (spec.STUDENT_NAME, spec.STUDENT_NO, spec.CLASS):
            if f not in columns:
                missing(f)
        if not school_given and spec.SCHOOL_CODE not in columns and spec.SCHOOL_NAME not in columns:
            missing(spec.SCHOOL_NAME)
        if kind == FLAT:
            generic = {f: v for f, v in plain.items() if f in spec.GUARDIAN_FIELDS}
            if generic:
                slots = {"": Slot("", columns=generic), **slots}
            for slot in slots.values():
                for f in (spec.GUARDIAN_NAME, spec.PHONE):
                    if f not in slot.columns:
                        missing(f, _slot_label(slot, f))
                slot_list.append(slot)
    return SheetLayout(sheet, kind, row_no, columns, slot_list, ignored), problems


_SLOT_PREFIX = {"father": "父亲", "mother": "母亲", "paternal_grandfather": "祖父", "paternal_grandmother": "祖母",
                "maternal_grandfather": "外祖父", "maternal_grandmother": "外祖母"}


def _slot_label(slot: Slot, field_name: str) -> str:
    what = {spec.GUARDIAN_NAME: "姓名", spec.PHONE: "手机号"}.get(field_name, spec.LABELS[field_name])
    if not slot.key:
        return spec.LABELS[field_name]
    prefix = _SLOT_PREFIX.get(slot.key) or f"监护人{slot.key}"
    return f"{prefix}{what}"


def sheet_summary(layouts: list[SheetLayout]) -> list[dict]:
    """What was recognised, for the preview page: per sheet its kind, columns and ignored headers."""
    kind_label = {STUDENTS: _("学生"), GUARDIANS: _("监护人"), FLAT: _("学生及监护人")}
    out = []
    for layout in layouts:
        cols = [{"header": text, "field": spec.LABELS.get(f, f)} for f, (_c, text) in sorted(layout.columns.items(), key=lambda kv: kv[1][0])]
        for slot in layout.slots:
            cols += [{"header": text, "field": spec.LABELS.get(f, f)} for f, (_c, text) in sorted(slot.columns.items(), key=lambda kv: kv[1][0])]
        out.append({"sheet": layout.name, "kind": kind_label[layout.kind], "header_row": layout.header_row,
                    "columns": cols, "ignored": layout.ignored[:30]})
    return out

