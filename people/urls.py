from django.urls import path

from people import views

app_name = "people"
urlpatterns = [
    path("family/", views.family, name="family"),
    path("classes/", views.my_classes, name="my_classes"),
    path("students/<int:pk>/", views.student_detail, name="student_detail"),
]
