"""The Admin API's routes (`/v1/organizations/...`); each app's `api.py` holds its endpoints."""

from django.urls import path, re_path

from accounts import api as accounts_api
from billing import api as billing_api
from console import openapi
from workspaces import api as workspaces_api

W = "organizations/workspaces/<str:workspace_id>"

urlpatterns = [
    path("openapi.json", openapi.document, name="openapi"),
    path("organizations/me", accounts_api.me),
    path("organizations/users", accounts_api.users),
    path("organizations/users/<str:user_id>", accounts_api.user),
    path("organizations/invites", accounts_api.invites),
    path("organizations/invites/<str:invite_id>", accounts_api.invite),
    path("organizations/workspaces", workspaces_api.workspaces),
    path(W, workspaces_api.workspace),
    path(f"{W}/archive", workspaces_api.workspace_archive),
    path(f"{W}/members", workspaces_api.members),
    path(f"{W}/members/<str:user_id>", workspaces_api.member),
    path(f"{W}/api_keys", workspaces_api.workspace_api_keys),
    path(f"{W}/rate_limits", billing_api.workspace_rate_limits),
    path(f"{W}/rate_limits/<str:rate_limit_id>", billing_api.workspace_rate_limit),
    path(f"{W}/spend_limit", billing_api.workspace_spend_limit),
    path(f"{W}/spend_notifications", billing_api.workspace_spend_notifications),
    path(
        f"{W}/spend_notifications/<str:notification_id>", billing_api.workspace_spend_notification
    ),
    path("organizations/api_keys", workspaces_api.api_keys),
    path("organizations/api_keys/<str:api_key_id>", workspaces_api.api_key),
    path("organizations/rate_limits", billing_api.organization_rate_limits),
    path("organizations/usage_report/messages", billing_api.usage_report),
    path("organizations/cost_report", billing_api.cost_report),
    re_path(r"^.*$", openapi.not_found),
]
