from django.urls import path

from courses import views
from ledger import views as ledger_views

app_name = "courses"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("new/", views.course_create, name="create"),
    path("<int:pk>/", views.course_detail, name="detail"),
    path("<int:pk>/publish/", views.course_publish, name="publish"),
    path("<int:pk>/book/", views.course_book, name="book"),
    path("<int:pk>/rate/", views.course_rate, name="rate"),
    path("<int:pk>/lessons/new/", views.lesson_create, name="lesson_create"),
    path("<int:pk>/homework/", views.homework_review, name="homework_review"),
    path("lessons/<int:pk>/", views.lesson_detail, name="lesson"),
    path("lessons/<int:pk>/schedule/", views.lesson_schedule, name="lesson_schedule"),
    path("lessons/<int:pk>/progress/", views.lesson_progress, name="lesson_progress"),
    path("lessons/<int:pk>/video/", views.lesson_video, name="lesson_video"),
    path("lessons/<int:pk>/homework/", views.homework_submit, name="homework_submit"),
    path("homework/<int:pk>/feedback/", views.homework_feedback, name="homework_feedback"),
    path("hours/", views.my_hours, name="hours"),
    path("certificates/<int:pk>/", ledger_views.certificate, name="certificate"),
    path("topics/", views.topics, name="topics"),
    path("topics/new/", views.topic_propose, name="topic_propose"),
    path("topics/<int:pk>/vote/", views.topic_vote, name="topic_vote"),
    path("topics/<int:pk>/adopt/", views.topic_adopt, name="topic_adopt"),
    path("settings/", views.school_settings, name="settings"),
]
