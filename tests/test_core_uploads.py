"""core.uploads: the one upload checker every module calls (photos, videos, attachments)."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from activities import uploads as activity_uploads
from activities.testing import png_bytes
from core import uploads
from notices import files as notice_files

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32 + b"\xff\xd9"
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


def _docx(macro=False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
        if macro:
            zf.writestr("word/vbaProject.bin", b"\x00")
    return buf.getvalue()


def _refused(name: str, data: bytes, types=uploads.PHOTOS, max_bytes=1024 * 1024, **kw) -> ValidationError:
    with translation.override("zh-hans"), pytest.raises(ValidationError) as e:
        uploads.check_upload(SimpleUploadedFile(name, data), types=types, max_bytes=max_bytes, **kw)
    return e.value


def test_a_good_file_passes_with_its_type_and_bytes():
    kind, data = uploads.check_upload(SimpleUploadedFile("照片.PNG", png_bytes()), types=uploads.PHOTOS, max_bytes=1024 * 1024)
    assert (kind, data) == (uploads.PNG, png_bytes())
    kind, data = uploads.check_upload(SimpleUploadedFile("名单.docx", _docx()), types=uploads.ATTACHMENTS, max_bytes=1024 * 1024)
    assert kind is uploads.DOCX
    assert uploads.stored_name(uploads.JPEG).endswith(".jpg") and "照片" not in uploads.stored_name(uploads.PNG)


def test_a_type_that_is_not_allowed_is_refused_in_chinese():
    e = _refused("病毒.exe", b"MZ\x90\x00")
    assert e.code == "upload_bad_type"
    assert e.messages == ["文件“病毒.exe”的类型不支持，请上传 JPG、PNG、WEBP、GIF 文件。"]
    # An allowed name over content of no allowed type is refused as unsupported too.
    assert _refused("notes.png", b"just some text, not an image").code == "upload_bad_type"


def test_a_file_too_big_is_refused_also_when_its_stated_size_lies():
    e = _refused("大.png", png_bytes() + b"\0" * (1024 * 1024))
    assert e.code == "upload_too_large" and e.messages == ["文件“大.png”超过 1 MB，请压缩后再上传。"]
    upload = SimpleUploadedFile("小.png", png_bytes() + b"\0" * (1024 * 1024))
    upload.size = 10  # what a client may claim
    with pytest.raises(ValidationError) as err:
        uploads.check_upload(upload, types=uploads.PHOTOS, max_bytes=1024 * 1024)
    assert err.value.code == "upload_too_large"


def test_a_disguised_extension_is_refused():
    e = _refused("photo.gif", png_bytes())  # a PNG named .gif
    assert e.code == "upload_bad_extension"
    assert "内容与扩展名不符" in e.messages[0]
    e = _refused("安排.pdf", JPEG, types=uploads.ATTACHMENTS, noun="附件")
    assert e.code == "upload_bad_extension" and e.messages[0].startswith("附件“安排.pdf”的内容与扩展名不符")


def test_markup_macros_truncation_and_empty_files_are_refused():
    evil = png_bytes()[:-12] + b"<script>alert(1)</script>" + png_bytes()[-12:]
    assert _refused("evil.png", evil).code == "upload_polyglot"
    assert "网页脚本" in _refused("多语.pdf", PDF + b"<svg onload=x>", types=uploads.ATTACHMENTS).messages[0]
    assert _refused("宏.docx", _docx(macro=True), types=uploads.ATTACHMENTS).code == "upload_bad_type"
    assert _refused("cut.png", png_bytes()[:-8], whole=True).code == "upload_truncated"
    # Attachments are downloaded, not shown inline: a cut-off image is the sender's problem, not refused.
    assert uploads.check_upload(SimpleUploadedFile("cut.png", png_bytes()[:-8]), types=uploads.ATTACHMENTS, max_bytes=1024)[0] is uploads.PNG
    assert _refused("空.pdf", b"", types=uploads.ATTACHMENTS).code == "upload_empty"


def test_a_video_is_checked_by_its_first_bytes_only():
    upload = SimpleUploadedFile("课.mp4", MP4_HEAD + b"\0" * 4096)
    kind, head = uploads.check_upload(upload, types=uploads.VIDEOS, max_bytes=1024 * 1024, read_all=False)
    assert kind is uploads.MP4 and len(head) == uploads.HEAD
    assert upload.tell() == 0  # left at the start for the storage to stream
    assert _refused("课.webm", MP4_HEAD, types=uploads.VIDEOS, read_all=False).code == "upload_bad_extension"


def test_the_apps_call_the_shared_checker():
    assert activity_uploads.photo_check(SimpleUploadedFile("a.png", png_bytes()))[0] == "image/png"
    data, ftype = notice_files.validate_upload(SimpleUploadedFile("a.pdf", PDF))
    assert (data, ftype) == (PDF, uploads.PDF)
    assert notice_files.safe_original_name("../../x\x00.pdf") == "x_.pdf"
