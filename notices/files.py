"""Uploads (notice and consultation attachments): an allow-list of types checked by content, a size
limit, generated storage names, and downloads served as attachments with private caching only."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.utils.translation import gettext as _

from notices import conf

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls


@dataclass(frozen=True)
class FileType:
    content_type: str
    label: str


TYPES = {
    "pdf": FileType("application/pdf", "PDF"),
    "jpg": FileType("image/jpeg", "JPG"),
    "jpeg": FileType("image/jpeg", "JPG"),
    "png": FileType("image/png", "PNG"),
    "docx": FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word"),
    "xlsx": FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel"),
    "doc": FileType("application/msword", "Word"),
    "xls": FileType("application/vnd.ms-excel", "Excel"),
}
ALLOWED_LABEL = "PDF、JPG、PNG、Word、Excel"
# Markup that makes a file a polyglot a browser could be talked into running.
ACTIVE_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|object|embed|body)\b|<\?php|javascript:", re.IGNORECASE)


def _zip_kind(data: bytes) -> str | None:
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


def _content_matches(ext: str, data: bytes) -> bool:
    if ext == "pdf":
        return data.startswith(b"%PDF-")
    if ext in ("jpg", "jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if ext == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in ("doc", "xls"):
        return data.startswith(OLE)
    if ext in ("docx", "xlsx"):
        return data.startswith(b"PK\x03\x04") and _zip_kind(data) == ext
    return False


def validate_upload(upload) -> tuple[bytes, FileType]:
    """Read an uploaded file and check it; raises ValidationError with a message saying what to do."""
    name = upload.name or ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in TYPES:
        raise ValidationError(_("附件“%(name)s”的类型不支持，请上传 %(types)s 文件。") % {"name": name[:60], "types": ALLOWED_LABEL})
    limit = conf.attachment_max_bytes()
    if upload.size > limit:
        raise ValidationError(_("附件“%(name)s”超过 %(mb)s MB，请压缩后再上传。") % {"name": name[:60], "mb": limit // (1024 * 1024)})
    data = upload.read(limit + 1)
    if not data:
        raise ValidationError(_("附件“%(name)s”是空文件，请重新选择。") % {"name": name[:60]})
    if len(data) > limit:
        raise ValidationError(_("附件“%(name)s”超过 %(mb)s MB，请压缩后再上传。") % {"name": name[:60], "mb": limit // (1024 * 1024)})
    if not _content_matches(ext, data):
        raise ValidationError(
            _("附件“%(name)s”的内容与扩展名不符（或含有宏），请上传真正的 %(label)s 文件。") % {"name": name[:60], "label": TYPES[ext].label}
        )
    if ext not in ("docx", "xlsx") and ACTIVE_MARKUP.search(data):
        raise ValidationError(_("附件“%(name)s”含有网页脚本内容，出于安全原因不能上传。") % {"name": name[:60]})
    return data, TYPES[ext]


def safe_original_name(name: str) -> str:
    """The name shown on download: no path parts, no control characters, bounded length."""
    base = re.sub(r"[\x00-\x1f\\/]", "_", (name or "").rsplit("/", 1)[-1])[-120:]
    return base or "attachment"


def attachment_response(field_file, *, filename: str, content_type: str) -> FileResponse:
    response = FileResponse(field_file.open("rb"), as_attachment=True, filename=filename, content_type=content_type)
    # Personal material: the browser may keep it briefly, shared caches never.
    response["Cache-Control"] = "private, max-age=300"
    return response
