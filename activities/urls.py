from django.urls import path

from activities import views

app_name = "activities"
urlpatterns = [
    path("", views.activity_list, name="list"),
    path("new/", views.activity_create, name="create"),
    path("<int:pk>/", views.activity_detail, name="detail"),
    path("<int:pk>/edit/", views.activity_edit, name="edit"),
    path("<int:pk>/submit/", views.activity_submit, name="submit"),
    path("<int:pk>/approve/", views.activity_approve, name="approve"),
    path("<int:pk>/cancel/", views.activity_cancel, name="cancel"),
    path("<int:pk>/sessions/add/", views.session_add, name="session_add"),
    path("<int:pk>/rate/", views.activity_rate, name="rate"),
    path("<int:pk>/photos/", views.activity_photos, name="photos"),
    path("<int:pk>/minutes/", views.activity_minutes, name="minutes"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("sessions/<int:pk>/signup/", views.signup, name="signup"),
    path("sessions/<int:pk>/capacity/", views.session_capacity, name="capacity"),
    path("sessions/<int:pk>/qr/", views.session_qr, name="qr"),
    path("sessions/<int:pk>/qr/live/", views.session_qr_live, name="qr_live"),
    path("sessions/<int:pk>/attendance/", views.session_attendance, name="attendance"),
    path("sessions/<int:pk>/export/", views.session_export, name="export"),
    path("signups/<int:pk>/cancel/", views.signup_cancel, name="signup_cancel"),
    path("checkin/<int:pk>/", views.checkin, name="checkin"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/post/", views.campaign_post, name="campaign_post"),
    path("campaigns/posts/<int:pk>/comment/", views.post_comment, name="post_comment"),
    path("campaigns/posts/<int:pk>/feature/", views.post_feature, name="post_feature"),
    path("campaigns/photos/<int:pk>/", views.campaign_photo, name="campaign_photo"),
    path("coverage/", views.coverage, name="coverage"),
]
