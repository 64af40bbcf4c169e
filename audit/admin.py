"""A read-only viewer for the audit log in the operators' admin. Nobody adds, edits or deletes rows here."""

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.models import AccessEvent, AuditEvent
from core.admin import ReadOnlyAdminMixin


class ReadOnlyEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "at", "actor_label", "ip", "model", "object_id")
    list_filter = ("model",)
    search_fields = ("=object_id", "=actor_label", "=actor_id")
    ordering = ("-id",)
    # Counting millions of rows on every page is the slowest part of a changelist.
    show_full_result_count = False
    list_per_page = 50


    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyEventAdmin):
    list_display = ("id", "at", "actor_label", "ip", "action", "model", "object_id")
    list_filter = ("action", "model")
    fields = ("id", "at", "actor_id", "actor_label", "ip", "action", "model", "object_id", "changes_pretty", "seq", "key_id", "prev_hash", "hash")

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    @admin.display(description=_("变更"))
    def changes_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.changes, ensure_ascii=False, indent=2, default=str))


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyEventAdmin):
    list_display = ("id", "at", "actor_label", "ip", "model", "object_id", "reason")
