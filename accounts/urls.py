from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.views import account, auth, session

app_name = "accounts"

urlpatterns = [
    path("", session.home, name="home"),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    path("password-reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("invites/<str:token>/", auth.invite_accept, name="invite_accept"),
    path("account/", account.account_settings, name="account_settings"),
    path("account/theme/", account.account_theme_set, name="account_theme_set"),
    path("organizations/switch/", session.organization_switch, name="organization_switch"),
]
