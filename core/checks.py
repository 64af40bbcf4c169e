"""Deployment checks of our own (manage.py check --deploy)."""

from django.apps import apps
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import Error, Tags, Warning, register
from django.core.files.storage import storages

from core.scoping import has_scoped_manager, needs_scoped_manager


@register(Tags.staticfiles, deploy=True)
def static_manifest_check(app_configs, **kwargs):
    """Under the manifest storage every page names its static files through staticfiles.json: without it
    (collectstatic not run, or failed on a missing vendored file) every page, the log-in page first, is a 500."""
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin) or storage.exists(storage.manifest_name):
        return []
    return [
        Warning(
            f"The static files' manifest ({storage.manifest_name}) is missing in STATIC_ROOT: no page can be rendered.",
            hint="Run manage.py collectstatic --no-input with the production settings (docs/deploy.md).",
            id="gongyu.W001",
        )
    ]


@register(Tags.models)
def scoped_manager_check(app_configs=None, models=None, **kwargs):
    """Fail loud (docs/decisions/0013): a model holding district or personal data whose default manager is
    not a ScopedQuerySet could be read across districts without anyone noticing."""
    if models is None:
        configs = app_configs if app_configs is not None else apps.get_app_configs()
        models = [m for config in configs for m in config.get_models()]
    return [
        Error(
            f"{model._meta.label} holds district or personal data but its default manager is not scoped.",
            hint="Give it a manager built on core.scoping.ScopedQuerySet (scope_q) or core.scoping.scoped_via().",
            obj=model,
            id="gongyu.E001",
        )
        for model in models
        if not model._meta.abstract and needs_scoped_manager(model) and not has_scoped_manager(model)
    ]
