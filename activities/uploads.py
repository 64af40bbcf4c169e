"""Photos and lesson videos: checked by core.uploads (one upload checker for every module) under the
activities' limits; stored under generated names."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from core import uploads

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTOS_PER_POST = 9
MAX_VIDEO_BYTES = 1024 * 1024 * 1024
_BY_CONTENT_TYPE = {t.content_type: t for t in uploads.PHOTOS + uploads.VIDEOS}


def photo_check(upload) -> tuple[str, bytes]:
    """Validate one photo; returns (content type, bytes)."""
    kind, data = uploads.check_upload(upload, types=uploads.PHOTOS, max_bytes=MAX_PHOTO_BYTES, noun=_("图片"), whole=True)
    return kind.content_type, data


def video_check(upload) -> str:
    """Validate one video by its first bytes (it is streamed to storage, not held in memory); returns its content type."""
    kind, _head = uploads.check_upload(upload, types=uploads.VIDEOS, max_bytes=MAX_VIDEO_BYTES, noun=_("视频"), read_all=False)
    return kind.content_type


def stored(data: bytes, kind: str) -> ContentFile:
    """A file object under a generated name: the uploader's file name is never used on disk."""
    return ContentFile(data, name=stored_name(kind))


def stored_name(kind: str) -> str:
    return uploads.stored_name(_BY_CONTENT_TYPE[kind])
