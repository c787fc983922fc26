from django.urls import path

from workspaces.views import (
    admin_keys,
    audit_log,
    keys,
    organization_members,
    workspace_members,
    workspaces,
)

app_name = "workspaces"

W = "settings/workspaces/<str:workspace_id>"
K = "settings/api-keys/<str:key_id>"
M = "settings/members/<str:user_id>"
A = "settings/admin-keys/<str:key_id>"

urlpatterns = [
    # Settings > Workspaces and a workspace's page.
    path("settings/workspaces/", workspaces.workspace_list, name="workspace_list"),
    path("settings/workspaces/new/", workspaces.workspace_create, name="workspace_create"),
    path(f"{W}/", workspaces.workspace_detail, name="workspace_detail"),
    path(f"{W}/edit/", workspaces.workspace_edit, name="workspace_edit"),
    path(f"{W}/archive/", workspaces.workspace_archive, name="workspace_archive"),
    path(f"{W}/members/", workspace_members.workspace_members, name="workspace_members"),
    path(
        f"{W}/members/add/",
        workspace_members.workspace_member_add,
        name="workspace_member_add",
    ),
    path(
        f"{W}/members/<str:user_id>/role/",
        workspace_members.workspace_member_change_role,
        name="workspace_member_change_role",
    ),
    path(
        f"{W}/members/<str:user_id>/remove/",
        workspace_members.workspace_member_remove,
        name="workspace_member_remove",
    ),
    path(f"{W}/keys/", keys.workspace_keys, name="workspace_keys"),
    path(f"{W}/keys/new/", keys.api_key_create, name="api_key_create"),
    # Settings > API Keys.
    path("settings/api-keys/", keys.api_key_list, name="api_key_list"),
    path(f"{K}/rename/", keys.api_key_rename, name="api_key_rename"),
    path(f"{K}/disable/", keys.api_key_disable, name="api_key_disable"),
    path(f"{K}/enable/", keys.api_key_enable, name="api_key_enable"),
    path(f"{K}/delete/", keys.api_key_delete, name="api_key_delete"),
    # Settings > Members.
    path(
        "settings/members/",
        organization_members.organization_members,
        name="organization_members",
    ),
    path("settings/members/invite/", organization_members.invite_create, name="invite_create"),
    path(f"{M}/role/", organization_members.member_change_role, name="member_change_role"),
    path(f"{M}/remove/", organization_members.member_remove, name="member_remove"),
    path(
        "settings/invites/<str:invite_id>/revoke/",
        organization_members.invite_revoke,
        name="invite_revoke",
    ),
    path(
        "settings/invites/<str:invite_id>/resend/",
        organization_members.invite_resend,
        name="invite_resend",
    ),
    # Settings > Admin Keys.
    path("settings/admin-keys/", admin_keys.admin_key_list, name="admin_key_list"),
    path("settings/admin-keys/new/", admin_keys.admin_key_create, name="admin_key_create"),
    path(f"{A}/disable/", admin_keys.admin_key_disable, name="admin_key_disable"),
    path(f"{A}/enable/", admin_keys.admin_key_enable, name="admin_key_enable"),
    path(f"{A}/delete/", admin_keys.admin_key_delete, name="admin_key_delete"),
    # Settings > Audit log.
    path("settings/audit-log/", audit_log.audit_log, name="audit_log"),
]
