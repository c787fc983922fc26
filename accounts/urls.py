from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.views import account, admin_keys, audit, auth, members, organization

app_name = "accounts"

urlpatterns = [
    path("", organization.home, name="home"),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
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
    path("account/theme/", account.account_theme, name="account_theme"),
    path("organizations/switch/", organization.organization_switch, name="organization_switch"),
    path("settings/organization/", organization.organization, name="organization"),
    path(
        "settings/organization/edit/",
        organization.organization_rename,
        name="organization_rename",
    ),
    path("settings/members/", members.members, name="members"),
    path("settings/members/invite/", members.invite_create, name="invite_create"),
    path(
        "settings/members/<str:user_id>/role/",
        members.member_change_role,
        name="member_change_role",
    ),
    path("settings/members/<str:user_id>/remove/", members.member_remove, name="member_remove"),
    path("settings/invites/<str:invite_id>/revoke/", members.invite_revoke, name="invite_revoke"),
    path("settings/audit-log/", audit.audit_log, name="audit_log"),
    path("settings/admin-keys/", admin_keys.admin_key_list, name="admin_key_list"),
    path("settings/admin-keys/new/", admin_keys.admin_key_create, name="admin_key_create"),
    path(
        "settings/admin-keys/<str:key_id>/disable/",
        admin_keys.admin_key_disable,
        name="admin_key_disable",
    ),
    path(
        "settings/admin-keys/<str:key_id>/enable/",
        admin_keys.admin_key_enable,
        name="admin_key_enable",
    ),
    path(
        "settings/admin-keys/<str:key_id>/delete/",
        admin_keys.admin_key_delete,
        name="admin_key_delete",
    ),
]
