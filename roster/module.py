"""The roster app on the module contract (core.modules)."""

from django.utils.translation import gettext_lazy as _

from core.modules import Card, Module
from core.perms import can
from roster import perms


def _card(user, scope):
    return ("roster:home", _("用Excel导入或导出学生和家长"), None) if can(user, perms.USE) else None


MODULE = Module(
    label="roster",
    url_prefix="roster/",
    perms=(perms.USE,),
    cards=(Card("bi-file-earmark-spreadsheet", _("花名册导入导出"), _card, order=50),),
    object_pages={
        "roster:job": ("job", "GET"), "roster:job_progress": ("job", "GET"), "roster:job_commit": ("job", "POST"),
        "roster:job_discard": ("job", "POST"), "roster:job_problems": ("job", "GET"),
    },
)
