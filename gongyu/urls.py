from django.contrib import admin
from django.urls import include, path

from core.modules import modules
from gongyu.api import api
from gongyu.views import healthz, home


def module_urlpatterns() -> list:
    """Each installed module's pages, at the prefix its module.py declares (core.modules)."""
    return [path(m.url_prefix, include(m.urls or f"{m.label}.urls")) for m in modules() if m.url_prefix is not None]


urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    # First after the home page: the API takes most requests, and no other route starts with "api/".
    path("api/v1/", api.urls),
    *module_urlpatterns(),
    path("i18n/", include("django.conf.urls.i18n")),
    path("ops/admin/", admin.site.urls),
]

# Chinese 400 and 413 pages (403, 404 and 500 are the templates of the same names).
handler400 = "gongyu.errors.bad_request"
