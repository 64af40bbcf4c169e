"""Spreadsheet formula injection (issue 12): text typed by families and staff — a reply comment, a name —
never becomes a live formula in any export, XLSX or CSV, and stays readable. Every export goes through
core.exports; each is opened here with a payload in every text it carries."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from django.urls import reverse
from python_calamine import CalamineWorkbook

from activities import services
from activities.testing import make_activity
from core import exports
from notices import services as notice_services
from notices.models import Receipt, ReplyKind
from people.models import Guardian, Student
from roster import services as roster_services
from tests.test_notices_helpers import notice_settings, send  # noqa: F401

PAYLOADS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def assert_no_formula(data: bytes) -> list[list]:
    """The XLSX holds no formula element in any sheet; returns the first sheet's cells."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name).decode()
                assert not re.search(r"<f[ >]", xml), f"{name} holds a formula"
        # Risky texts also carry Excel's quote prefix, so that editing the cell cannot turn it into one.
        assert 'quotePrefix="1"' in z.read("xl/styles.xml").decode()
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


def assert_csv_safe(text: str) -> list[list[str]]:
    """No CSV cell starts as a formula would; returns the cells."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    for row in rows:
        for cell in row:
            assert not exports.is_risky(cell), f"CSV cell {cell!r} would run as a formula"
    return rows


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _visible(cells, payload) -> bool:
    """The payload is still there to read: as it is in XLSX, behind Excel's text mark in CSV."""
    return any(str(c) in (payload, "'" + payload) for row in cells for c in row)


def test_cells_are_neutralised_but_numbers_stay_numbers():
    for payload in PAYLOADS:
        assert exports.csv_cell(payload) == "'" + payload
    assert exports.csv_cell("+8613800000000") == "'+8613800000000"  # a phone stays readable, never a formula
    assert exports.csv_cell("-1") == "'-1"
    assert exports.csv_cell(-1) == "-1" and exports.csv_cell(3) == "3"  # a number is no formula
    assert exports.csv_cell("三(1)班") == "三(1)班" and exports.csv_cell(None) == ""
    out = io.BytesIO()
    exports.write_xlsx(out, [exports.Sheet("s", ["h"], [[p] for p in PAYLOADS] + [[-1], ["-1"]])])
    cells = assert_no_formula(out.getvalue())
    assert [r[0] for r in cells[1:]] == [*PAYLOADS, -1.0, "-1"]  # values read back unchanged


@pytest.fixture
def replied_notice(world, notice_settings, django_capture_on_commit_callbacks):  # noqa: F811
    notice = send(django_capture_on_commit_callbacks, world.district_admin, [world.district], reply_kind=ReplyKind.CONFIRM,
                  title="家长会")
    # One comment through the guardian's own reply, the others written straight to the receipts.
    notice_services.notice_reply(user=world.parent_a1, notice_id=notice.pk, choice="confirm", comment=PAYLOADS[0])
    others = Receipt.objects.filter(notice=notice, guardian__isnull=False).exclude(guardian=world.guardians["parent_a1"]).order_by("id")
    for receipt, payload in zip(others, PAYLOADS[1:], strict=False):
        Receipt.objects.filter(pk=receipt.pk).update(reply_comment=payload)
    Guardian.objects.filter(pk=world.guardians["grandparent_a1"].pk).update(name="=cmd|'/c calc'!A1")
    return notice


def test_notice_read_status_export_holds_no_formula(client, world, replied_notice):
    client.force_login(world.district_admin)
    url = reverse("notices:export", args=[replied_notice.pk])
    cells = assert_no_formula(_content(client.get(url)))
    rows = assert_csv_safe(_content(client.get(url + "?format=csv")).decode("utf-8"))
    comments_written = Receipt.objects.filter(notice=replied_notice).exclude(reply_comment="").count()
    assert comments_written >= 4
    for payload in [p for p in PAYLOADS if Receipt.objects.filter(notice=replied_notice, reply_comment=p).exists()]:
        assert _visible(cells, payload) and _visible(rows, payload), payload
    assert _visible(cells, "=cmd|'/c calc'!A1") and _visible(rows, "=cmd|'/c calc'!A1")
    assert _content(client.get(url + "?format=csv")).startswith("\ufeff".encode())  # Excel reads UTF-8 CSV with a BOM


def test_session_attendance_export_holds_no_formula(client, world):
    _activity, session = make_activity(actor=world.teacher_a1, owner=world.class_a1)
    services.signup_create(actor=world.parent_a1, session_id=session.pk, include_self=True, student_ids=[world.child_a1.pk])
    Guardian.objects.filter(pk=world.guardians["parent_a1"].pk).update(name=PAYLOADS[0])
    Student.objects.filter(pk=world.child_a1.pk).update(name="@SUM(A1)")
    client.force_login(world.teacher_a1)
    cells = assert_no_formula(_content(client.get(reverse("activities:export", args=[session.pk]))))
    assert _visible(cells, PAYLOADS[0]) and _visible(cells, "@SUM(A1)")


def test_roster_export_holds_no_formula_and_round_trips(world):
    students = list(Student.objects.filter(school=world.school_a).order_by("pk"))
    Student.objects.filter(pk=students[0].pk).update(name=PAYLOADS[0])
    Student.objects.filter(pk=students[1].pk).update(name="-2+3")
    Guardian.objects.filter(pk=world.guardians["parent_a1"].pk).update(name="+1+1")
    for fmt in ("xlsx", "csv"):
        out = io.BytesIO()
        roster_services.export_roster(user=world.school_admin_a, unit=world.school_a, fmt=fmt, out=out)
        data = out.getvalue()
        if fmt == "xlsx":
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            assert_no_formula(data)
            cells = [c for name in book.sheet_names for c in book.get_sheet_by_name(name).to_python()]
        else:
            cells = assert_csv_safe(data.decode("utf-8"))
        for payload in (PAYLOADS[0], "-2+3", "+1+1"):
            assert _visible(cells, payload), (fmt, payload)
        imp, _job = roster_services.import_file(path_or_file=io.BytesIO(data), fmt=fmt, user=world.school_admin_a, district=world.district,
                                                source="test")
        c = imp.counts
        assert not imp.problems and all(c[k]["created"] == 0 and c[k]["updated"] == 0 for k in ("students", "guardians", "guardianships")), (
            fmt, imp.problems, c)
    assert Student.objects.get(pk=students[0].pk).name == PAYLOADS[0]
