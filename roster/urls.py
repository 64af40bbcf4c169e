from django.urls import path

from roster import views

app_name = "roster"
urlpatterns = [
    path("", views.import_home, name="home"),
    path("template.xlsx", views.template_download, name="template"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job_progress"),
    path("jobs/<int:pk>/commit/", views.job_commit, name="job_commit"),
    path("jobs/<int:pk>/discard/", views.job_discard, name="job_discard"),
    path("jobs/<int:pk>/problems.csv", views.job_problems_csv, name="job_problems"),
    path("export/", views.export, name="export"),
    path("export/parts/", views.export_parts, name="export_parts"),
]
