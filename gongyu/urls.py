from django.contrib import admin
from django.urls import include, path

from gongyu.api import api
from gongyu.views import healthz, home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    # First after the home page: the API takes most requests, and no other route starts with "api/".
    path("api/v1/", api.urls),
    path("accounts/", include("accounts.urls")),
    path("org/", include("org.urls")),
    path("people/", include("people.urls")),
    path("roster/", include("roster.urls")),
    path("notices/", include("notices.urls")),
    path("homeschool/", include("homeschool.urls")),
    path("activities/", include("activities.urls")),
    path("courses/", include("courses.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("ops/admin/", admin.site.urls),
]

# Chinese 400 and 413 pages (403, 404 and 500 are the templates of the same names).
handler400 = "gongyu.errors.bad_request"
