"""The one upload checker (photos, lesson videos, notice and consultation attachments).

The type is decided by the file's content, never by the browser's claim; the name's extension must name
that same type (a PNG called photo.gif is refused as disguised); sizes are capped (also when the stated
size lies); markup a browser could be talked into running (a polyglot) is refused; photos must be whole.
Each refusal is a ValidationError with a stable code and a Chinese message that says what to do.
Files are stored under generated names (stored_name), never the uploader's.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.utils.translation import gettext as _

from gongyu.env import envint

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls
# Markup that a browser or interpreter would run if the file were ever served as something else.
ACTIVE_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|object|embed|body|!doctype)\b|<\?php|javascript:", re.IGNORECASE)


def _zip_kind(data: bytes) -> str | None:
    """'docx' or 'xlsx' for an Office Open XML file without macros, else None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "[Content_Types].xml" not in names or any(n.lower().endswith("vbaproject.bin") for n in names):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


@dataclass(frozen=True)
class FileType:
    content_type: str
    label: str  # shown to the user: "JPG", "Word" …
    exts: tuple[str, ...]  # the first is used for stored names
    matches: Callable[[bytes], bool]  # on the whole file, or its first 64 bytes when the checker does not read it all
    scan_markup: bool = True  # zip containers hold XML by design: their macro check is in matches
    whole: Callable[[bytes], bool] | None = None  # the file is not cut off (checked for photos)


JPEG = FileType("image/jpeg", "JPG", (".jpg", ".jpeg"), lambda d: d.startswith(b"\xff\xd8\xff"), whole=lambda d: b"\xff\xd9" in d[-1024:])
PNG = FileType("image/png", "PNG", (".png",), lambda d: d.startswith(b"\x89PNG\r\n\x1a\n"), whole=lambda d: b"IEND" in d[-64:])
WEBP = FileType("image/webp", "WEBP", (".webp",), lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP")
GIF = FileType("image/gif", "GIF", (".gif",), lambda d: d[:6] in (b"GIF87a", b"GIF89a"))
MP4 = FileType("video/mp4", "MP4", (".mp4", ".m4v"), lambda d: d[4:8] == b"ftyp")
WEBM = FileType("video/webm", "WEBM", (".webm",), lambda d: d.startswith(b"\x1a\x45\xdf\xa3"))
PDF = FileType("application/pdf", "PDF", (".pdf",), lambda d: d.startswith(b"%PDF-"))
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word", (".docx",),
                lambda d: d.startswith(b"PK\x03\x04") and _zip_kind(d) == "docx", scan_markup=False)
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel", (".xlsx",),
                lambda d: d.startswith(b"PK\x03\x04") and _zip_kind(d) == "xlsx", scan_markup=False)
DOC = FileType("application/msword", "Word", (".doc",), lambda d: d.startswith(OLE))
XLS = FileType("application/vnd.ms-excel", "Excel", (".xls",), lambda d: d.startswith(OLE))

PHOTOS = (JPEG, PNG, WEBP, GIF)
VIDEOS = (MP4, WEBM)
ATTACHMENTS = (PDF, JPEG, PNG, DOCX, XLSX, DOC, XLS)
HEAD = 64


def _ext(name: str) -> str:
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def _labels(types) -> str:
    return "、".join(dict.fromkeys(t.label for t in types))


def check_upload(upload, *, types: tuple[FileType, ...], max_bytes: int, noun: str | None = None,
                 read_all: bool = True, whole: bool = False) -> tuple[FileType, bytes]:
    """Check one upload against the allowed types; returns (its type, its bytes — the first 64 only when
    read_all is False, for videos too large to hold in memory). whole: refuse a cut-off image (photos that
    are shown inline). Raises ValidationError (codes upload_*)."""
    noun = noun or _("文件")
    name = (getattr(upload, "name", "") or "")[:60]
    ext = _ext(name)
    named = [t for t in types if ext in t.exts]
    if not named:
        raise ValidationError(_("%(noun)s“%(name)s”的类型不支持，请上传 %(types)s 文件。") % {"noun": noun, "name": name, "types": _labels(types)},
                              code="upload_bad_type")
    too_large = ValidationError(_("%(noun)s“%(name)s”超过 %(mb)s MB，请压缩后再上传。") % {"noun": noun, "name": name, "mb": max_bytes // (1024 * 1024)},
                                code="upload_too_large")
    if (getattr(upload, "size", None) or 0) > max_bytes:
        raise too_large
    upload.seek(0)
    data = upload.read(max_bytes + 1) if read_all else upload.read(HEAD)
    upload.seek(0)
    if not data:
        raise ValidationError(_("%(noun)s“%(name)s”是空文件，请重新选择。") % {"noun": noun, "name": name}, code="upload_empty")
    if len(data) > max_bytes:  # the stated size was wrong
        raise too_large
    kind = next((t for t in named if t.matches(data)), None)
    if kind is None:
        # Another allowed type under this name is a disguise; no allowed type at all is an unsupported file.
        disguised = any(t.matches(data) for t in types)
        raise ValidationError(
            _("%(noun)s“%(name)s”的内容与扩展名不符（或含有宏），请上传真正的 %(label)s 文件。") % {"noun": noun, "name": name, "label": _labels(named)},
            code="upload_bad_extension" if disguised else "upload_bad_type",
        )
    if read_all and kind.scan_markup and ACTIVE_MARKUP.search(data):
        raise ValidationError(_("%(noun)s“%(name)s”含有网页脚本内容，出于安全原因不能上传。") % {"noun": noun, "name": name}, code="upload_polyglot")
    if whole and read_all and kind.whole and not kind.whole(data):
        raise ValidationError(_("%(noun)s“%(name)s”不完整，请重新上传。") % {"noun": noun, "name": name}, code="upload_truncated")
    return kind, data


def stored_name(kind: FileType) -> str:
    """A generated storage name with the type's own extension: the uploader's file name is never used on disk."""
    return f"{uuid.uuid4().hex}{kind.exts[0]}"


def attachment_max_bytes() -> int:
    """GONGYU_ATTACHMENT_MAX_MB (settings first, so tests can override it; default 10 MB), in bytes."""
    mb = getattr(settings, "GONGYU_ATTACHMENT_MAX_MB", None)
    return (mb if mb is not None else envint("GONGYU_ATTACHMENT_MAX_MB", 10, minimum=0)) * 1024 * 1024


def check_attachment(upload) -> tuple[FileType, bytes]:
    """A notice or consultation attachment: PDF, JPG, PNG, Word or Excel, read whole."""
    return check_upload(upload, types=ATTACHMENTS, max_bytes=attachment_max_bytes(), noun=_("附件"))


def safe_original_name(name: str) -> str:
    """The name shown on download: no path parts, no control characters, bounded length."""
    base = re.sub(r"[\x00-\x1f\\/]", "_", (name or "").rsplit("/", 1)[-1])[-120:]
    return base or "attachment"


def attachment_response(field_file, *, filename: str, content_type: str) -> FileResponse:
    response = FileResponse(field_file.open("rb"), as_attachment=True, filename=filename, content_type=content_type)
    # Personal material: the browser may keep it briefly, shared caches never.
    response["Cache-Control"] = "private, max-age=300"
    return response
