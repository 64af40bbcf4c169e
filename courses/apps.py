from django.apps import AppConfig
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ledger import registry


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = "家长学校"

    def ready(self):
        # What the parent school credits the participation ledger with.
        registry.register("course.lesson", label=_("家长学校课程"), link=lambda pk: reverse("courses:lesson", args=[pk]), code="lesson")
