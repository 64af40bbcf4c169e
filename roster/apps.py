from django.apps import AppConfig


class RosterConfig(AppConfig):
    name = "roster"
    verbose_name = "花名册导入导出"
