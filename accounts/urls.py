from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("2fa/", views.two_factor, name="two_factor"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("activate/", views.activate, name="activate"),
    path("privacy/", views.privacy, name="privacy"),
    path("care-mode/", views.care_mode_toggle, name="care_mode"),
    path("language/", views.language_set, name="language"),
]
