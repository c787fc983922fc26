from django.urls import path

from workspaces.views import keys, members, workspaces

app_name = "workspaces"

W = "settings/workspaces/<str:workspace_id>"

urlpatterns = [
    path("settings/workspaces/", workspaces.workspace_list, name="workspace_list"),
    path("settings/workspaces/new/", workspaces.workspace_create, name="workspace_create"),
    path(f"{W}/", workspaces.workspace_detail, name="workspace_detail"),
    path(f"{W}/edit/", workspaces.workspace_edit, name="workspace_edit"),
    path(f"{W}/archive/", workspaces.workspace_archive, name="workspace_archive"),
    path(f"{W}/members/", members.workspace_members, name="workspace_members"),
    path(f"{W}/members/add/", members.workspace_member_add, name="workspace_member_add"),
    path(
        f"{W}/members/<str:user_id>/role/",
        members.workspace_member_change_role,
        name="workspace_member_change_role",
    ),
    path(f"{W}/keys/", keys.workspace_keys, name="workspace_keys"),
    path(f"{W}/keys/new/", keys.api_key_create, name="api_key_create"),
    path("settings/api-keys/", keys.api_key_list, name="api_key_list"),
    path("settings/api-keys/<str:key_id>/rename/", keys.api_key_rename, name="api_key_rename"),
    path("settings/api-keys/<str:key_id>/disable/", keys.api_key_disable, name="api_key_disable"),
    path("settings/api-keys/<str:key_id>/enable/", keys.api_key_enable, name="api_key_enable"),
    path("settings/api-keys/<str:key_id>/delete/", keys.api_key_delete, name="api_key_delete"),
    path(
        f"{W}/members/<str:user_id>/remove/",
        members.workspace_member_remove,
        name="workspace_member_remove",
    ),
]
