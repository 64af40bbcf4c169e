from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "审计日志"

    def ready(self):
        # Connects the receivers (key rotation's summary event); models are loaded only now.
        from audit import registry  # noqa: F401, PLC0415 — the app registry is not ready at import time
