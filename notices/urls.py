from django.urls import path

from notices import views

app_name = "notices"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("new/check/", views.preview, name="preview"),
    path("units/", views.unit_search, name="unit_search"),
    path("<int:pk>/", views.stats, name="stats"),
    path("<int:pk>/figures/", views.stats_partial, name="stats_partial"),
    path("<int:pk>/class/<int:class_id>/", views.class_report, name="class_report"),
    path("<int:pk>/remind/", views.remind, name="remind"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/export/", views.export, name="export"),
    path("inbox/", views.inbox, name="inbox"),
    path("r/<int:pk>/", views.read, name="read"),
    path("r/<int:pk>/reply/", views.reply, name="reply"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("preferences/", views.preferences, name="preferences"),
]
