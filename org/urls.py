from django.urls import path

from org import views

app_name = "org"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("<int:pk>/", views.unit_detail, name="unit_detail"),
    path("<int:pk>/children/", views.unit_children, name="unit_children"),
    path("<int:pk>/add/", views.unit_add, name="unit_add"),
    path("<int:pk>/edit/", views.unit_edit, name="unit_edit"),
    path("<int:pk>/toggle/", views.unit_toggle, name="unit_toggle"),
    path("<int:pk>/roster/", views.class_roster, name="class_roster"),
    path("<int:pk>/invite/reset/", views.class_invite_reset, name="class_invite_reset"),
]
