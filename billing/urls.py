from django.urls import path

from billing import gateway
from billing.views import increase_requests, organization, reports
from billing.views import limits as views

app_name = "billing"

W = "settings/workspaces/<str:workspace_id>/limits"

urlpatterns = [
    path("v1/gateway/authorize", gateway.authorize, name="gateway_authorize"),
    path("v1/gateway/settle", gateway.settle, name="gateway_settle"),
    path(f"{W}/", views.workspace_limits, name="workspace_limits"),
    path(f"{W}/rate/", views.workspace_rate_limit_set, name="workspace_rate_limit_set"),
    path(f"{W}/rate/reset/", views.workspace_rate_limit_reset, name="workspace_rate_limit_reset"),
    path(f"{W}/spend/", views.workspace_spend_limit_set, name="workspace_spend_limit_set"),
    path(
        f"{W}/spend/reset/", views.workspace_spend_limit_reset, name="workspace_spend_limit_reset"
    ),
    path(
        f"{W}/spend/request/",
        increase_requests.spend_limit_increase_request_create,
        name="spend_limit_increase_request_create",
    ),
    path(
        "settings/limits/increase-requests/",
        increase_requests.spend_limit_increase_request_list,
        name="spend_limit_increase_request_list",
    ),
    path(
        "settings/limits/increase-requests/<str:request_id>/approve/",
        increase_requests.spend_limit_increase_request_approve,
        name="spend_limit_increase_request_approve",
    ),
    path(
        "settings/limits/increase-requests/<str:request_id>/deny/",
        increase_requests.spend_limit_increase_request_deny,
        name="spend_limit_increase_request_deny",
    ),
    path(
        f"{W}/notifications/new/",
        views.workspace_spend_notification_add,
        name="workspace_spend_notification_add",
    ),
    path(
        f"{W}/notifications/<int:amount_cents>/remove/",
        views.workspace_spend_notification_remove,
        name="workspace_spend_notification_remove",
    ),
    path("settings/usage/", reports.usage, name="usage"),
    path("settings/cost/", reports.cost, name="cost"),
    # The reports' key picker searching beyond the keys the page lists.
    path(
        "settings/usage/api-keys/",
        reports.report_key_choices,
        {"capability": "usage.view"},
        name="usage_key_choices",
    ),
    path(
        "settings/cost/api-keys/",
        reports.report_key_choices,
        {"capability": "cost.view"},
        name="cost_key_choices",
    ),
    path("settings/organization/", organization.organization, name="organization"),
    path(
        "settings/organization/edit/",
        organization.organization_rename,
        name="organization_rename",
    ),
    path("settings/limits/", views.organization_limits, name="organization_limits"),
    path(
        "settings/limits/spend/",
        views.organization_spend_limit_set,
        name="organization_spend_limit_set",
    ),
    path(
        "settings/limits/notifications/new/",
        views.organization_spend_notification_add,
        name="organization_spend_notification_add",
    ),
    path(
        "settings/limits/notifications/<int:amount_cents>/remove/",
        views.organization_spend_notification_remove,
        name="organization_spend_notification_remove",
    ),
]
