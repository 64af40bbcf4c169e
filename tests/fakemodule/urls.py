from django.urls import path

from tests.fakemodule import views

app_name = "fakemodule"
urlpatterns = [path("", views.home, name="home"), path("<int:pk>/", views.home, name="thing")]
