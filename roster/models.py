"""An import is a row (an outbox entry): the page creates it, background tasks carry only its id and
move it through its states, so a lost message or a killed worker delays an import but never loses or
doubles it. Problems found in the file are rows too, so the page can page and filter them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet, scoped_via


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("等待校验")
    VALIDATING = "validating", _("正在校验")
    READY = "ready", _("校验通过，待确认导入")
    INVALID = "invalid", _("有问题，未导入")
    COMMIT_QUEUED = "commit_queued", _("等待导入")
    COMMITTING = "committing", _("正在导入")
    DONE = "done", _("已导入")
    FAILED = "failed", _("出错")
    DISCARDED = "discarded", _("已放弃")


RUNNING = frozenset({JobStatus.QUEUED, JobStatus.VALIDATING, JobStatus.COMMIT_QUEUED, JobStatus.COMMITTING})
FINISHED = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.DISCARDED})


class ImportJobQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        # A job holds the uploaded file and its problems: only its creator sees it.
        return models.Q(created_by_id=scope.user_id) if scope.user_id else None


class ImportJob(models.Model):
    district = models.ForeignKey("org.OrgUnit", on_delete=models.PROTECT, related_name="+")
    # The one school the import is limited to (a school admin's own, or --school); empty = any the user manages.
    school = models.ForeignKey("org.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=8, default="web")  # web | cli
    status = models.CharField(_("状态"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    phase = models.CharField(max_length=40, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)  # name in default_storage (generated)
    original_name = models.CharField(_("文件名"), max_length=200, blank=True)
    file_format = models.CharField(max_length=8, blank=True)
    file_size = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)  # previewed, then committed counts
    layout = models.JSONField(default=list, blank=True)  # what was recognised in each sheet
    changes = models.JSONField(default=list, blank=True)  # a sample of what the commit changes
    problem_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)  # also the worker's heartbeat
    validated_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("花名册导入")
        verbose_name_plural = _("花名册导入")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="roster_job_owner_idx")]

    def __str__(self):
        return f"导入 #{self.pk}"

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING

    @property
    def badge(self) -> str:
        """Bootstrap colour of the status badge."""
        return {
            JobStatus.READY: "primary", JobStatus.INVALID: "warning", JobStatus.DONE: "success",
            JobStatus.FAILED: "danger", JobStatus.DISCARDED: "secondary",
        }.get(self.status, "info")

    @property
    def percent(self) -> int:
        if not self.progress_total:
            return 0
        return min(100, round(100 * self.progress_done / self.progress_total))


class ImportProblem(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="problems")
    sheet = models.CharField(_("工作表"), max_length=60, blank=True)
    row = models.PositiveIntegerField(_("行"))
    column = models.CharField(_("列"), max_length=60, blank=True)
    code = models.CharField(_("问题代码"), max_length=40)
    message = models.CharField(_("说明"), max_length=300)

    # A problem quotes the file's rows (names, ID numbers): seen exactly by who sees its import.
    holds_personal_data = True
    objects = scoped_via("job")

    class Meta:
        verbose_name = _("导入问题")
        verbose_name_plural = _("导入问题")
        ordering = ["id"]
        indexes = [models.Index(fields=["job", "sheet", "row"], name="roster_problem_job_idx")]

    def __str__(self):
        return f"{self.sheet}!{self.row} {self.code}"

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "code": self.code, "message": self.message}
