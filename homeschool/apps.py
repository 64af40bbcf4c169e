from django.apps import AppConfig


class HomeschoolConfig(AppConfig):
    name = "homeschool"
    verbose_name = "家校沟通"
