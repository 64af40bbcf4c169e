"""Notice attachments: the checks, names and download responses live in core.uploads (one upload checker
for every module); this module keeps the names notices and its tests import."""

from __future__ import annotations

from core.uploads import FileType, attachment_response, check_attachment, safe_original_name

__all__ = ["FileType", "attachment_response", "safe_original_name", "validate_upload"]


def validate_upload(upload) -> tuple[bytes, FileType]:
    """Read an uploaded attachment and check it; raises ValidationError with a message saying what to do."""
    kind, data = check_attachment(upload)
    return data, kind
