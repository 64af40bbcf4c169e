from django.apps import AppConfig, apps
from django.db.models.signals import post_delete
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from activities.sources import CAMPAIGN_SOURCE, SESSION_SOURCE
from ledger import registry


def _session_link(session_id: int) -> str | None:
    sessions = apps.get_model("activities", "ActivitySession")._base_manager
    activity_id = sessions.filter(pk=session_id).values_list("activity_id", flat=True).first()
    return reverse("activities:detail", args=[activity_id]) if activity_id else None


def _revoker(kind: str):
    # A deleted session or campaign takes its ledger credit with it (as the foreign keys' CASCADE did).
    def revoke(sender, instance, **kwargs):
        import_string("ledger.services.revoke")(source=registry.key(kind, instance.pk))

    return revoke


class ActivitiesConfig(AppConfig):
    name = "activities"
    verbose_name = "协同活动"

    def ready(self):
        # What activities credit the participation ledger with (the ledger names them without importing us).
        registry.register(SESSION_SOURCE, label=_("活动/讲座"), link=_session_link, code="activity")
        registry.register(CAMPAIGN_SOURCE, label=_("家庭打卡"), link=lambda pk: reverse("activities:campaign", args=[pk]), code="campaign")
        post_delete.connect(_revoker(SESSION_SOURCE), sender=self.get_model("ActivitySession"), weak=False,
                            dispatch_uid="activities.session.ledger")
        post_delete.connect(_revoker(CAMPAIGN_SOURCE), sender=self.get_model("Campaign"), weak=False,
                            dispatch_uid="activities.campaign.ledger")
