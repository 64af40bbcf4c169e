from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "共育平台基础"

    def ready(self):
        from core import checks  # noqa: F401 - registers the deployment checks
