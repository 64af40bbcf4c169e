from django.apps import AppConfig, apps
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ledger import registry


def _session_link(session_id: int) -> str | None:
    sessions = apps.get_model("activities", "ActivitySession")._base_manager
    activity_id = sessions.filter(pk=session_id).values_list("activity_id", flat=True).first()
    return reverse("activities:detail", args=[activity_id]) if activity_id else None


class ActivitiesConfig(AppConfig):
    name = "activities"
    verbose_name = "协同活动"

    def ready(self):
        # What activities credit the participation ledger with (the ledger names them without importing us).
        registry.register("activity.session", label=_("活动/讲座"), link=_session_link, code="activity")
        registry.register("activity.campaign", label=_("家庭打卡"), link=lambda pk: reverse("activities:campaign", args=[pk]), code="campaign")
