from django.contrib import admin

from core.admin import ReadOnlyAdminMixin, ScopedModelAdmin
from jobs.models import Job


@admin.register(Job)
class JobAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    """Read-only: operators see what is queued, running, retried or failed, and why (no personal data)."""

    list_display = ("id", "kind", "key", "status", "attempts", "max_attempts", "last_error", "run_after", "heartbeat_at",
                    "district_id", "created_at", "finished_at")
    list_filter = ("status", "kind")
    search_fields = ("key",)
    ordering = ("-id",)
    readonly_fields = [f.name for f in Job._meta.fields]


