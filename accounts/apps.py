from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "账号与角色"

    def ready(self):
        from accounts import signals  # noqa: F401, PLC0415 — models load only once the app registry is ready
