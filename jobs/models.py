"""A row per unit of background work: the database, not the queue, is the truth."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet


class Status(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("进行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class JobQuerySet(ScopedQuerySet):
    def scope_q(self, scope):
        # Rows carry ids and error class names only, but they describe the platform's plumbing: platform
        # operators (superusers, who pass visible_to unfiltered) see them; no role does.
        return None


class Job(models.Model):
    kind = models.CharField(_("类型"), max_length=60)  # a registered handler's name
    # One row per unit of work: enqueueing the same key again is a no-op, so every effect happens once.
    key = models.CharField(_("键"), max_length=200, unique=True)
    payload = models.JSONField(default=dict, blank=True)  # ids only, never personal data
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    last_error = models.CharField(_("最近错误"), max_length=300, blank=True, default="")
    run_after = models.DateTimeField(_("最早执行"))
    queued_at = models.DateTimeField()  # when the latest queue message was sent (the sweeper's clock)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("心跳"), null=True, blank=True)
    claimed_by = models.CharField(max_length=80, blank=True, default="")
    district_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        indexes = [
            # The sweeper: pending rows by when their message went out, running rows by heartbeat.
            models.Index(fields=["queued_at"], name="job_sweep_pending_idx",
                         condition=models.Q(status="pending")),
            models.Index(fields=["heartbeat_at"], name="job_sweep_running_idx",
                         condition=models.Q(status="running")),
        ]

    def __str__(self):
        return f"{self.kind} {self.key}"
