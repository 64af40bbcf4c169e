"""Spreadsheet exports for the whole product: rows → XLSX or CSV, and the download response.

Cells come from guardians and staff (a reply comment, a name, a note) and must never run as formulas in
Excel or WPS (OWASP "CSV injection"): a text starting with = + - @ or a tab/CR is neutralised.
- XLSX: every text is written as a text cell (never a formula: strings_to_formulas is off), and a risky
  one also carries Excel's quote-prefix style, so it stays text even when someone edits the cell. The
  value itself is unchanged, so it reads back exactly (the roster's export → import round trip).
- CSV has no styles: a risky text gets Excel's text mark, a leading apostrophe, which the roster import
  strips. Numbers (a Python int, Decimal …) are written as numbers: "-1" as a number is no formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

import xlsxwriter
from django.http import FileResponse, StreamingHttpResponse

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Text cells only: no formulas, no numbers guessed from text (a 19-digit number loses digits), no links.
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}


def is_risky(value: str) -> bool:
    """Would Excel (or WPS) read this text as the start of a formula?"""
    return value[:1] in FORMULA_PREFIXES


def csv_cell(value) -> str:
    """One CSV cell: text neutralised with Excel's text mark; numbers as they are; None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    text = str(value)
    return "'" + text if is_risky(text) else text


class CellWriter:
    """Writes any value into a worksheet of `book` without ever making a formula. Formats are given as
    xlsxwriter property dicts, so that the quote-prefixed twin of each can be made (and both cached)."""

    def __init__(self, book):
        self.book = book
        self._formats: dict[tuple, object] = {}

    def format(self, props: dict | None, quoted: bool = False):
        if not props and not quoted:
            return None
        key = (tuple(sorted((props or {}).items())), quoted)
        if key not in self._formats:
            self._formats[key] = self.book.add_format({**(props or {}), **({"quote_prefix": True} if quoted else {})})
        return self._formats[key]

    def write(self, ws, row: int, col: int, value, props: dict | None = None) -> None:
        if value is None or value == "":
            ws.write_blank(row, col, None, self.format(props))
        elif isinstance(value, bool):
            ws.write_string(row, col, "是" if value else "否", self.format(props))
        elif isinstance(value, int | float | Decimal):
            ws.write_number(row, col, value, self.format(props))
        else:
            text = csv_cell(value) if isinstance(value, dt.date | dt.datetime) else str(value)
            ws.write_string(row, col, text, self.format(props, quoted=is_risky(text)))


@dataclass
class Sheet:
    name: str
    headers: Sequence[str]
    rows: Iterable[Sequence]
    widths: dict[int, float] = field(default_factory=dict)  # column → width
    cell_format: Callable | None = None  # value → xlsxwriter format properties (e.g. red for a failure) or None


def write_xlsx(out, sheets: Sequence[Sheet]) -> None:
    """Write sheets to out (a path or a binary file) row by row (constant memory)."""
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": not isinstance(out, str), **WORKBOOK_OPTIONS})
    cells = CellWriter(book)
    bold = {"bold": True, "bg_color": "#F2F2F2"}
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name[:31])
        for col, width in sheet.widths.items():
            ws.set_column(col, col, width)
        for col, header in enumerate(sheet.headers):
            cells.write(ws, 0, col, header, bold)
        for r, row in enumerate(sheet.rows, start=1):
            for c, value in enumerate(row):
                cells.write(ws, r, c, value, sheet.cell_format(value) if sheet.cell_format else None)
    book.close()


def csv_lines(headers: Sequence[str], rows: Iterable[Sequence]):
    """The CSV as text chunks: a byte-order mark first (Excel reads UTF-8 CSV only with one), then rows."""

    class _Echo:
        def write(self, value):
            return value

    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([csv_cell(h) for h in headers])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


def _disposition(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename)}"


def csv_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """A streamed CSV download (filename without extension)."""
    response = StreamingHttpResponse(csv_lines(headers, rows), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = _disposition(f"{filename}.csv")
    return response


def xlsx_response(filename: str, sheets: Sequence[Sheet]) -> FileResponse:
    """An XLSX download (filename without extension), built in a temporary file rather than in memory."""
    tmp = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - handed to FileResponse, closed with it
    write_xlsx(tmp.name, sheets)
    tmp.seek(0)
    return FileResponse(tmp, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE)


def export_response(fmt: str, filename: str, sheet: Sheet):
    """CSV when fmt is "csv", else XLSX: the one switch every export page offers."""
    if fmt == "csv":
        return csv_response(filename, sheet.headers, sheet.rows)
    return xlsx_response(filename, [sheet])
