"""Deployment checks of our own (manage.py check --deploy)."""

from django.core.checks import Tags, Warning, register


@register(Tags.staticfiles, deploy=True)
def static_manifest_check(app_configs, **kwargs):
    """Under the manifest storage every page names its static files through staticfiles.json: without it
    (collectstatic not run, or failed on a missing vendored file) every page, the log-in page first, is a 500."""
    from django.contrib.staticfiles.storage import ManifestFilesMixin
    from django.core.files.storage import storages

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
