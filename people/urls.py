from django.urls import path

from people import views

app_name = "people"
urlpatterns = [
    path("family/", views.family, name="family"),
]
