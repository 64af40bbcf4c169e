from django.contrib import admin

from core.admin import ScopedModelAdmin
from org.admin import DistrictChoiceMixin
from periods.models import Period


@admin.register(Period)
class PeriodAdmin(DistrictChoiceMixin, ScopedModelAdmin):
    list_display = ("name", "kind", "start", "end", "district")
    list_filter = ("kind",)
    list_select_related = ("district",)
    search_fields = ("name",)
    raw_id_fields = ("parent",)
    ordering = ("district_id", "start", "kind")
