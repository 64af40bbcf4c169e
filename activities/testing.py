"""Helpers for tests and benchmarks: an activity with one session, built through the services so that the
same rules apply as in the pages."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from activities import services
from activities.models import ActivityKind, Audience


def make_activity(
    *, actor, owner, audience_units=None, capacity: int | None = None, starts_in: dt.timedelta = dt.timedelta(days=2),
    duration: dt.timedelta = dt.timedelta(hours=2), publish: bool = True, kind: str = ActivityKind.PARENT_CHILD,
    audience: str = Audience.FAMILIES, credited_hours: Decimal | int = 0, requires_signup: bool = True, **fields,
):
    start = timezone.now() + starts_in
    fields.setdefault("title", "亲子阅读会")
    fields.setdefault("venue", "学校图书馆")
    fields.setdefault("max_party_size", 4)
    fields.setdefault("announce", False)  # tests that want the notice ask for it
    activity = services.activity_create(
        actor=actor, owner_unit=owner, audience_units=audience_units or [owner], kind=kind, audience=audience,
        credited_hours=Decimal(credited_hours), requires_signup=requires_signup, sessions=[(start, start + duration, capacity)], **fields,
    )
    if publish:
        services.activity_submit(actor=actor, activity=activity)
    activity.refresh_from_db()
    return activity, activity.sessions.get()


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A valid tiny PNG made by hand (no imaging library needed)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def png_upload(name: str = "photo.png", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else png_bytes(), content_type="image/png")
