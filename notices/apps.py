from django.apps import AppConfig

from messaging.registry import register_composer


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = "通知公告"

    def ready(self):
        # Messaging reaches notices' words only through its registry (a platform never imports a domain app).
        from notices.sending import compose  # noqa: PLC0415 — models load only once the app registry is ready

        register_composer("notice", compose)
