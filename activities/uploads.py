"""Upload checks for photos and lesson videos: the type is decided by the file's content (not its name or
the browser's claim), the name's extension must agree, sizes are capped, markup hidden inside an image
(a polyglot) is refused, and files are stored under generated names."""

from __future__ import annotations

import os
import re
import uuid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTOS_PER_POST = 9
MAX_VIDEO_BYTES = 1024 * 1024 * 1024

PHOTO_TYPES = {"image/jpeg": {".jpg", ".jpeg"}, "image/png": {".png"}, "image/webp": {".webp"}, "image/gif": {".gif"}}
VIDEO_TYPES = {"video/mp4": {".mp4", ".m4v"}, "video/webm": {".webm"}}
_EXT_FOR = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif", "video/mp4": ".mp4", "video/webm": ".webm"}

# Markup that a browser or interpreter would run if the file were ever served as something else.
_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|object|embed|body|\?php|!doctype)", re.IGNORECASE)


def sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def _check(upload, allowed: dict[str, set[str]], max_bytes: int, label: str) -> tuple[str, bytes | None]:
    name = getattr(upload, "name", "") or ""
    size = getattr(upload, "size", None) or 0
    if size <= 0:
        raise ValidationError(_("文件“%(name)s”是空的，请重新选择。") % {"name": name}, code="upload_empty")
    if size > max_bytes:
        raise ValidationError(
            _("文件“%(name)s”超过大小限制（最大 %(mb)d MB），请压缩后再上传。") % {"name": name, "mb": max_bytes // (1024 * 1024)},
            code="upload_too_large",
        )
    upload.seek(0)
    head = upload.read(64)
    kind = sniff(head)
    if kind not in allowed:
        raise ValidationError(
            _("文件“%(name)s”不是支持的%(label)s格式，请上传 %(exts)s 文件。")
            % {"name": name, "label": label, "exts": "、".join(sorted({e for v in allowed.values() for e in v}))},
            code="upload_bad_type",
        )
    ext = os.path.splitext(name)[1].lower()
    if ext not in allowed[kind]:
        raise ValidationError(
            _("文件“%(name)s”的扩展名与内容不符，请上传原始文件。") % {"name": name}, code="upload_bad_extension"
        )
    return kind, head


def photo_check(upload) -> tuple[str, bytes]:
    """Validate one photo; returns (content type, bytes)."""
    kind, _head = _check(upload, PHOTO_TYPES, MAX_PHOTO_BYTES, _("图片"))
    upload.seek(0)
    data = upload.read()
    if _MARKUP.search(data):
        raise ValidationError(_("文件“%(name)s”含有不允许的内容，请上传普通照片。") % {"name": upload.name}, code="upload_polyglot")
    if kind == "image/jpeg" and b"\xff\xd9" not in data[-1024:]:
        raise ValidationError(_("图片“%(name)s”不完整，请重新上传。") % {"name": upload.name}, code="upload_truncated")
    if kind == "image/png" and b"IEND" not in data[-64:]:
        raise ValidationError(_("图片“%(name)s”不完整，请重新上传。") % {"name": upload.name}, code="upload_truncated")
    return kind, data


def video_check(upload) -> str:
    kind, _head = _check(upload, VIDEO_TYPES, MAX_VIDEO_BYTES, _("视频"))
    upload.seek(0)
    return kind


def stored(data: bytes, kind: str) -> ContentFile:
    """A file object under a generated name: the uploader's file name is never used on disk."""
    return ContentFile(data, name=f"{uuid.uuid4().hex}{_EXT_FOR[kind]}")


def stored_name(kind: str) -> str:
    return f"{uuid.uuid4().hex}{_EXT_FOR[kind]}"
