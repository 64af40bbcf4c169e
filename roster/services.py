"""Roster operations: upload a file as an import job, validate it, commit it, discard it; export a scope.

An ImportJob row is the import's record (its state, report and problems); each step's execution is a
jobs outbox row written with the state change and queued after the transaction commits (jobs app). Each
step also claims the import with a conditional UPDATE, so a step run twice changes nothing; the commit writes the people, the job's
final status and the summary audit row in one transaction, so it either happened completely or not at all.
"""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.services import Actor, actor_for, record, record_access
from core.perms import can
from core.scoping import get_scope
from jobs import services as jobs
from org.models import Kind, OrgUnit
from people.contact import log_export
from people.perms import MANAGE, VIEW
from roster import exporter, reader
from roster.importer import RosterImport
from roster.models import ImportJob, ImportProblem, JobStatus

logger = logging.getLogger(__name__)

MAX_STORED_PROBLEMS = 5000
UPLOAD_PREFIX = "roster/imports/"


def max_upload_bytes() -> int:
    return int(getattr(settings, "ROSTER_MAX_UPLOAD_MB", 20)) * 1024 * 1024


# --- who may import where ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportTarget:
    """A place a user may import into: a whole district (school = None) or one school."""

    district: OrgUnit
    school: OrgUnit | None

    @property
    def value(self) -> str:
        return f"s:{self.school.pk}" if self.school else f"d:{self.district.pk}"

    @property
    def label(self) -> str:
        if self.school:
            return self.school.name
        return _("%(district)s（全区，可同时导入多所学校）") % {"district": self.district.name}


def import_targets(user) -> list[ImportTarget]:
    """Districts and schools where the user holds people.manage, through the scoping layer."""
    scope = get_scope(user)
    units = list(OrgUnit.objects.visible_to(user).filter(kind__in=[Kind.DISTRICT, Kind.SCHOOL], is_active=True).order_by("name"))
    districts = {u.pk: u for u in units if u.kind == Kind.DISTRICT}
    targets = [ImportTarget(u, None) for u in units if u.kind == Kind.DISTRICT and can(scope, MANAGE, u)]
    for u in units:
        # Every school the user manages, also for a district admin (to limit one upload to one school).
        if u.kind == Kind.SCHOOL and u.district_id in districts and can(scope, MANAGE, u):
            targets.append(ImportTarget(districts[u.district_id], u))
    return targets


# --- upload -------------------------------------------------------------------------------------------
def check_upload(upload) -> str:
    """The file's real format ('xlsx' or 'csv'), or ValidationError with what to do."""
    name = (getattr(upload, "name", "") or "").lower()
    if upload.size > max_upload_bytes():
        raise ValidationError(_("文件超过%(mb)dMB，请按学校或年级拆分后分批导入。") % {"mb": max_upload_bytes() // 1024 // 1024}, code="too_large")
    if upload.size == 0:
        raise ValidationError(_("文件是空的，请检查后重新上传。"), code="empty")
    upload.seek(0)
    head = upload.read(65536)
    upload.seek(0)
    fmt = reader.sniff_format(head)
    if name.endswith(".xls"):
        raise ValidationError(_("不支持旧版Excel（.xls）文件，请在Excel或WPS中另存为“Excel工作簿(*.xlsx)”后上传。"), code="xls")
    if not name.endswith((".xlsx", ".csv")):
        raise ValidationError(_("只能上传 .xlsx 或 .csv 文件。"), code="extension")
    expected = "xlsx" if name.endswith(".xlsx") else "csv"
    if fmt != expected:
        if expected == "xlsx":
            raise ValidationError(_("文件扩展名是.xlsx，但内容不是Excel工作簿。请用Excel或WPS打开后另存为.xlsx再上传。"), code="content")
        raise ValidationError(_("文件扩展名是.csv，但内容不是文本表格。请在Excel中另存为“CSV UTF-8(逗号分隔)”后上传。"), code="content")
    if fmt == "xlsx":
        problem = reader.check_xlsx(upload, max_uncompressed=max_upload_bytes() * 10)
        if problem:
            raise ValidationError(problem, code="content")
    return fmt


def job_create(*, user, upload, target: ImportTarget) -> ImportJob:
    """Store the upload under a generated name and queue its validation."""
    if not can(user, MANAGE, target.school or target.district):
        raise PermissionDenied
    fmt = check_upload(upload)
    original = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1][:200]
    stored = default_storage.save(f"{UPLOAD_PREFIX}{uuid.uuid4().hex}.{fmt}", File(upload))
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                district=target.district, school=target.school, created_by=user, source="web", file_name=stored,
                original_name=original, file_format=fmt, file_size=upload.size, phase=_("等待校验"),
            )
            _enqueue("validate", job)
    except Exception:
        default_storage.delete(stored)  # no job row: the file would never be cleaned up
        raise
    return job


VALIDATE, COMMIT = "roster.validate", "roster.commit"  # outbox handlers (roster/tasks.py)


def _enqueue(which: str, job: ImportJob) -> None:
    """The import's execution is a jobs outbox row, one per step: written with the job's state change,
    sent after commit, swept if its message or its worker is lost."""
    kind = VALIDATE if which == "validate" else COMMIT
    jobs.enqueue(kind, key=f"{kind}:{job.pk}", payload={"import_job": job.pk}, district_id=job.district_id)


def job_request_commit(*, user, job: ImportJob) -> ImportJob:
    if job.created_by_id != user.pk:
        raise PermissionDenied
    with transaction.atomic():
        updated = ImportJob.objects.system(reason="the user's own import job").filter(pk=job.pk, status=JobStatus.READY).exclude(file_name="").update(
            status=JobStatus.COMMIT_QUEUED, phase=_("等待导入"), progress_done=0, progress_total=0, updated_at=timezone.now())
        if not updated:
            raise ValidationError(_("该导入当前不能提交（可能已经提交或已放弃）。"), code="state")
        _enqueue("commit", job)
    job.refresh_from_db()
    return job


def job_discard(*, user, job: ImportJob) -> ImportJob:
    if job.created_by_id != user.pk:
        raise PermissionDenied
    updated = ImportJob.objects.system(reason="the user's own import job").filter(pk=job.pk, status__in=[JobStatus.READY, JobStatus.INVALID, JobStatus.FAILED]).update(
        status=JobStatus.DISCARDED, phase="", updated_at=timezone.now())
    if not updated:
        raise ValidationError(_("该导入正在处理或已完成，不能放弃。"), code="state")
    job.refresh_from_db()
    delete_upload(job)
    return job


# --- running a job (background tasks call these) -------------------------------------------------------
def _progress_writer(job_id: int):
    def write(phase: str, done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(phase=phase[:40], progress_done=done, progress_total=total, updated_at=timezone.now())
        jobs.heartbeat()  # the outbox row's worker is alive (a no-op on the command line)

    return write


def _importer_for(job: ImportJob, *, progress=None) -> RosterImport:
    return RosterImport(user=job.created_by, district=job.district, school=job.school, progress=progress)


def _language(job: ImportJob) -> str:
    """Problem messages are stored as text: write them in the language the job's owner reads."""
    return (job.created_by.language if job.created_by else "") or settings.LANGUAGE_CODE


def _store_result(job: ImportJob, imp: RosterImport) -> None:
    ImportProblem.objects.system(reason="the job's own problems, replaced by its run").filter(job=job).delete()
    ImportProblem.objects.bulk_create(
        [ImportProblem(job=job, sheet=p.sheet[:60], row=p.row, column=p.column[:60], code=p.code, message=p.message)
         for p in imp.problems[:MAX_STORED_PROBLEMS]],
        batch_size=1000,
    )
    job.problem_count = len(imp.problems)
    job.counts = imp.counts
    job.layout = reader.sheet_summary(imp.layouts)
    job.changes = imp.changes


def _claim(job_id: int, from_status: str, to_status: str) -> ImportJob | None:
    # The outbox has given this worker the step's row: a job still in to_status was left by a killed worker
    # (a validation is simply redone; an interrupted commit was rolled back), so it is taken up again.
    claimed = ImportJob.objects.filter(pk=job_id, status__in=[from_status, to_status]).update(
        status=to_status, updated_at=timezone.now())
    if not claimed:
        return None  # already taken by another delivery of the same message, or no longer wanted
    return ImportJob.objects.select_related("district", "school", "created_by").get(pk=job_id)


def job_validate(job_id: int) -> None:
    job = _claim(job_id, JobStatus.QUEUED, JobStatus.VALIDATING)
    if job is None:
        return
    with translation.override(_language(job)):
        _validate(job)


def _validate(job: ImportJob) -> None:
    job_id = job.pk
    try:
        imp = _importer_for(job, progress=_progress_writer(job.pk))
        with default_storage.open(job.file_name, "rb") as fh:
            imp.read(fh, job.file_format)
        imp.validate()
        with transaction.atomic():
            _store_result(job, imp)
            job.status = JobStatus.INVALID if imp.problems else JobStatus.READY
            job.phase = ""
            job.validated_at = timezone.now()
            job.save()
    except Exception:
        logger.exception("roster import job %s failed during validation", job_id)
        _fail(job_id, _("校验时发生意外错误，请重新上传；如仍失败，请联系管理员。"))


def job_commit(job_id: int) -> None:
    """Validate again (the data may have changed since the preview) and write, all or nothing."""
    job = _claim(job_id, JobStatus.COMMIT_QUEUED, JobStatus.COMMITTING)
    if job is None:
        return
    with translation.override(_language(job)):
        _commit(job)


def _commit(job: ImportJob) -> None:
    job_id = job.pk
    try:
        imp = _importer_for(job, progress=_progress_writer(job.pk))
        with default_storage.open(job.file_name, "rb") as fh:
            imp.read(fh, job.file_format)
        imp.validate()
        if imp.problems:
            with transaction.atomic():
                _store_result(job, imp)
                job.status, job.phase = JobStatus.INVALID, ""
                job.error = _("预览之后平台中的数据发生了变化，导入前的再次校验发现了问题，未写入任何数据。请修改后重新上传。")
                job.save()
            return
        with transaction.atomic():
            commit_import(imp, job=job, actor=actor_for(job.created_by, label=f"user:{job.created_by_id}") if job.created_by else None)
        delete_upload(job)
    except IntegrityError:
        logger.warning("roster import job %s hit a uniqueness conflict while committing", job_id)
        _fail(job_id, _("导入时另一项操作同时修改了这些学生或监护人，未写入任何数据。请重新上传该文件。"))
    except Exception:
        logger.exception("roster import job %s failed while committing", job_id)
        _fail(job_id, _("导入时发生意外错误，未写入任何数据。请稍后重试；如仍失败，请联系管理员。"))


def commit_import(imp: RosterImport, *, job: ImportJob, actor: Actor | None) -> dict:
    """Write the validated import, finish the job and record the summary audit row — one transaction."""
    with transaction.atomic():
        counts = imp.commit(actor=actor)
        _store_result(job, imp)
        job.status, job.phase = JobStatus.DONE, ""
        job.committed_at = timezone.now()
        job.save()
        record("roster.import", model="roster.importjob", object_id=job.pk, actor=actor, changes=_audit_counts(job, counts))
    return counts


def _audit_counts(job: ImportJob, counts: dict) -> dict:
    # Counts and places only: never names, phones or ID numbers.
    return {
        "district": job.district_id, "school": job.school_id, "source": job.source, "format": job.file_format,
        "students": counts.get("students"), "guardians": counts.get("guardians"),
        "guardianships": counts.get("guardianships"), "households_created": counts.get("households_created", 0),
    }


def _fail(job_id: int, message: str) -> None:
    ImportJob.objects.filter(pk=job_id).update(status=JobStatus.FAILED, phase="", error=message, updated_at=timezone.now())


def give_up(job_id: int) -> None:
    """The outbox ran out of attempts for a step (its worker kept dying): the import failed, nothing written."""
    ImportJob.objects.filter(pk=job_id, status__in=[JobStatus.VALIDATING, JobStatus.COMMITTING, JobStatus.QUEUED,
                                                    JobStatus.COMMIT_QUEUED]).update(
        status=JobStatus.FAILED, phase="", updated_at=timezone.now(),
        error=_("处理该导入时后台任务多次中断，未写入任何数据。请重新上传；如仍失败，请联系管理员。"))


def delete_upload(job: ImportJob) -> None:
    """The upload holds personal data: it is kept only while the job may still need it."""
    if job.file_name:
        try:
            default_storage.delete(job.file_name)
        except OSError:
            logger.warning("could not delete the upload of roster import job %s", job.pk)
        ImportJob.objects.system(reason="the import job being finished").filter(pk=job.pk).update(file_name="")
        job.file_name = ""


# --- command line and benchmark: the same engine, synchronously ----------------------------------------
def import_file(*, path_or_file, fmt: str, user, district: OrgUnit, school: OrgUnit | None = None, dry_run: bool = False,
                progress=None, name: str = "", source: str = "cli") -> tuple[RosterImport, ImportJob]:
    """Validate a file and, unless dry_run or it has problems, commit it. Returns the engine and its job row."""
    job = ImportJob.objects.create(district=district, school=school, created_by=user, source=source, original_name=name[:200],
                                   file_format=fmt, status=JobStatus.VALIDATING)
    imp = RosterImport(user=user, district=district, school=school, progress=progress)
    if isinstance(path_or_file, str | bytes) or hasattr(path_or_file, "__fspath__"):
        with open(path_or_file, "rb") as fh:
            data = fh.read()
        job.file_size = len(data)
        imp.read(io.BytesIO(data), fmt)
    else:
        imp.read(path_or_file, fmt)
    imp.validate()
    if imp.problems or dry_run:
        with transaction.atomic():
            _store_result(job, imp)
            # A dry run has nothing left to commit (there is no stored file): it ends as "discarded".
            job.status = JobStatus.INVALID if imp.problems else JobStatus.DISCARDED
            job.phase = _("试运行") if dry_run else ""
            job.validated_at = timezone.now()
            job.save()
        return imp, job
    actor = actor_for(user, label=f"{source}:{user.pk}") if user is not None else Actor(None, f"{source}:system")
    commit_import(imp, job=job, actor=actor)
    return imp, job


# Stored with the access row; audit data, so not translated.
REASON_EXPORT_IDENTITY = "导出花名册：完整学籍号和身份证号"


def export_roster(*, user, unit: OrgUnit, fmt: str, out, actor: Actor | None = None) -> exporter.ExportResult:
    """Write the students (and their guardians) under unit that user may see; one audit row with counts."""
    if user is not None:
        if not can(user, VIEW, unit):
            raise PermissionDenied
    students, links, result = exporter.export_rows(user=user, unit=unit)
    if user is not None and sum(1 for s in students if links.get(s["id"])) > result.contact_masked:
        log_export(user, unit, where="花名册")  # the file holds full phone numbers: one access row
    if fmt == "csv":
        exporter.write_export_csv(out, students, links)
    else:
        exporter.write_export_xlsx(out, students, links)
    record("roster.export", model="org.orgunit", object_id=unit.pk, actor=actor, changes={
        "format": fmt, "students": result.students, "guardianships": result.guardianships,
        "contact_masked": result.contact_masked, "identity_masked": result.identity_masked,
    })
    if result.identity_shown:
        # Full 学籍号 and ID numbers left the platform: one access row for the export, like a page reveal.
        record_access(user=user, obj=unit, actor=actor, reason=f"{REASON_EXPORT_IDENTITY}（{result.identity_shown}名学生）")
    return result


def export_filename(unit: OrgUnit, fmt: str) -> str:
    return f"花名册_{unit.name}_{timezone.localdate():%Y%m%d}.{fmt}"
