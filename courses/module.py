"""The courses app on the module contract (core.modules)."""

from django.utils.translation import gettext_lazy as _

from core.modules import Card, Module
from core.perms import can
from courses import perms


def _card(user, scope):
    if can(user, perms.MANAGE):
        return "courses:catalogue", _("开设课程，学时与结业证书"), None
    if scope.unit_prefixes:
        return "courses:catalogue", _("浏览家长学校的课程"), None
    return None


MODULE = Module(
    label="courses",
    url_prefix="courses/",
    api_prefix="/courses",
    api_router="courses.api.router",
    perms=(perms.MANAGE,),
    cards=(Card("bi-book", _("家长学校"), _card, order=30),),
    object_pages={
        "courses:detail": ("course", "GET"), "courses:publish": ("course", "POST"), "courses:book": ("course", "POST"),
        "courses:rate": ("course", "POST"), "courses:lesson_create": ("course", "POST"),
        "courses:homework_review": ("course", "GET"), "courses:lesson": ("lesson", "GET"),
        "courses:lesson_schedule": ("lesson", "POST"), "courses:lesson_progress": ("lesson", "POST"),
        "courses:lesson_video": ("lesson", "GET"), "courses:homework_submit": ("lesson", "POST"),
        "courses:homework_feedback": ("homework", "POST"), "courses:certificate": ("certificate", "GET"),
        "courses:topic_vote": ("topic", "POST"), "courses:topic_adopt": ("topic", "POST"),
    },
    object_api={
        "api/v1/courses/lessons/<lesson_id>/progress": ("lesson", "POST"),
        "api/v1/courses/topics/<topic_id>/vote": ("topic", "POST"),
    },
    # Who runs the parent school sees its families' hours and certificates in the ledger.
    provides={"ledger.hours_staff_perm": "courses.perms.MANAGE"},
)
