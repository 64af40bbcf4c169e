"""Helpers for tests and the benchmark: build roster workbooks in memory and valid identity numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io

import xlsxwriter

from people.validators import make_id_number
from roster import spec

STUDENT_HEADERS = [c.header for c in spec.STUDENT_COLUMNS]
GUARDIAN_HEADERS = [c.header for c in spec.GUARDIAN_COLUMNS]


def xlsx_bytes(sheets: dict[str, list[list]], *, merges: dict[str, list[tuple[int, int, int, int]]] | None = None,
               numbers: bool = False, constant_memory: bool = False) -> bytes:
    """A workbook with the given rows per sheet. merges: (first_row, first_col, last_row, last_col), 0-based.
    numbers=True writes digit strings as Excel numbers, the way a sheet typed by hand often has them."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": not constant_memory, "constant_memory": constant_memory,
                                     "strings_to_numbers": numbers})
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        merged = {}
        for r0, c0, r1, c1 in (merges or {}).get(name, []):
            merged[(r0, c0)] = (r1, c1)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if (r, c) in merged:
                    r1, c1 = merged[(r, c)]
                    ws.merge_range(r, c, r1, c1, value)
                elif isinstance(value, dt.date):
                    ws.write_datetime(r, c, value, date_format)
                elif value is None or value == "":
                    continue
                else:
                    ws.write(r, c, value)
    book.close()
    return out.getvalue()


def csv_bytes(rows: list[list], *, encoding: str = "utf-8-sig") -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


def id_number(n: int, *, birth: dt.date | None = None, gender: str | None = None, region: str = "110101") -> str:
    """The n-th distinct valid ID number (n < 500 per birth date and gender)."""
    birth = birth or dt.date(2015, 1, 1) + dt.timedelta(days=n // 500)
    gender = gender or ("M" if n % 2 else "F")
    return make_id_number(region, birth, n % 500, gender)


def template_rows(students: list[dict], guardians: list[dict]) -> dict[str, list[list]]:
    """Sheets in the template layout from dicts keyed by spec field names."""
    return {
        spec.STUDENT_SHEET: [STUDENT_HEADERS] + [[s.get(c.field, "") for c in spec.STUDENT_COLUMNS] for s in students],
        spec.GUARDIAN_SHEET: [GUARDIAN_HEADERS] + [[g.get(c.field, "") for c in spec.GUARDIAN_COLUMNS] for g in guardians],
    }
