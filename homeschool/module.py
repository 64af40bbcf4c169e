"""The homeschool app on the module contract (core.modules)."""

from django.utils.translation import gettext_lazy as _

from core.modules import Card, Module
from core.perms import can, perm_paths
from homeschool import perms
from people.perms import VIEW as PEOPLE_VIEW


def _card(user, scope):
    if can(user, perms.TEACH):
        return "homeschool:consultations", _("答复家长咨询，安排和记录家访，发布微指南"), "consultations_waiting"
    if can(user, perms.OVERSEE):
        return "homeschool:consultations", _("咨询答复时效、家访覆盖、常见问题与微指南"), "consultations_waiting"
    if perm_paths(scope, PEOPLE_VIEW):
        # Subject, psychology and health staff: the guides and FAQ, and the questions sent to them as experts.
        return "homeschool:consultations", _("家庭教育微指南、常见问题与专家答疑"), "consultations_waiting"
    return None


MODULE = Module(
    label="homeschool",
    url_prefix="homeschool/",
    api_prefix="/homeschool",
    api_router="homeschool.api.router",
    perms=(perms.TEACH, perms.OVERSEE, perms.MANAGE_POOL),
    cards=(Card("bi-chat-heart", _("家校沟通"), _card, order=40),),
    object_pages={
        "homeschool:consultation": ("consultation", "GET"), "homeschool:consultation_close": ("consultation", "POST"),
        "homeschool:message_attachment": ("message", "GET"), "homeschool:guide": ("guide", "GET"),
        "homeschool:guide_rate": ("guide", "POST"), "homeschool:visit_class": ("class", "GET"), "homeschool:visit": ("visit", "GET"),
    },
    object_api={
        "api/v1/homeschool/consultations/<int:consultation_id>": ("consultation", "GET"),
        "api/v1/homeschool/consultations/<int:consultation_id>/messages": ("consultation", "POST"),
        "api/v1/homeschool/consultations/<int:consultation_id>/close": ("consultation", "POST"),
        "api/v1/homeschool/guides/<int:guide_id>": ("guide", "GET"),
        "api/v1/homeschool/guides/<int:guide_id>/rating": ("guide", "POST"),
    },
)
