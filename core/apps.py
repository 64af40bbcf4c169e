from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "共育平台基础"

    def ready(self):
        # The deployment checks, and the module registry's reset when INSTALLED_APPS changes (tests).
        from core import checks, modules  # noqa: F401
