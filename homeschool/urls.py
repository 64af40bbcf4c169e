from django.urls import path

from homeschool import views

app_name = "homeschool"
urlpatterns = [
    path("consultations/", views.consultations, name="consultations"),
    path("consultations/new/", views.consultation_new, name="consultation_new"),
    path("consultations/<int:pk>/", views.consultation, name="consultation"),
    path("consultations/<int:pk>/close/", views.consultation_close, name="consultation_close"),
    path("consultations/reply-times/", views.reply_times, name="reply_times"),
    path("attachments/<int:pk>/", views.message_attachment, name="message_attachment"),
    path("faq/", views.faq, name="faq"),
    path("faq/new/", views.faq_new, name="faq_new"),
    path("guides/", views.guides, name="guides"),
    path("guides/new/", views.guide_new, name="guide_new"),
    path("guides/<int:pk>/", views.guide, name="guide"),
    path("guides/<int:pk>/rate/", views.guide_rate, name="guide_rate"),
    path("visits/", views.visits, name="visits"),
    path("visits/class/<int:class_id>/", views.visit_class, name="visit_class"),
    path("visits/<int:pk>/", views.visit, name="visit"),
    path("experts/", views.experts, name="experts"),
]
