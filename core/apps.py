from django.apps import AppConfig
from huey.contrib.djhuey import HUEY

# The deployment checks, and the module registry's reset when INSTALLED_APPS changes (tests). None of
# these modules defines a model, so they load before the app registry is ready.
from core import checks, modules  # noqa: F401
from core.scoping import enter_system_scope, install_model_hooks, leave_scope


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "共育平台基础"

    def ready(self):
        install_model_hooks()

        # A background task acts for no user: it runs as a system read (docs/decisions/0013). In immediate
        # mode (tests, dev) it runs inside the request that queued it, so the hooks restore what was there.
        @HUEY.pre_execute(name="gongyu.system_scope")
        def _enter_system_scope(task):
            task._gongyu_scope_token = enter_system_scope(f"background task {task.name}")

        @HUEY.post_execute(name="gongyu.system_scope")
        def _leave_system_scope(task, task_value, exc):
            token = getattr(task, "_gongyu_scope_token", None)
            if token is not None:
                leave_scope(token)
                task._gongyu_scope_token = None
