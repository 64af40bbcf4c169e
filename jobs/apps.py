from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "后台任务"

    def ready(self):
        # Domain apps register their handlers in their tasks.py; load them in every process (web and
        # worker alike), as the admin loads admin.py, so that jobs never names a domain app.
        autodiscover_modules("tasks")
