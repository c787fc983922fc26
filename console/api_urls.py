"""The Admin API's routes (`/v1/organizations/...`): one NinjaAPI with each app's router,
and the OpenAPI document generated from their schemas at `/v1/openapi.json`."""

from django.urls import re_path

from accounts import api as accounts_api
from accounts.admin_api import ADMIN_KEY_AUTH
from billing import api as billing_api
from console.admin_api import create_api, not_found, url_patterns
from workspaces import api as workspaces_api

app_name = "admin_api"

api = create_api(
    auth=ADMIN_KEY_AUTH,
    description="Anthropic's Admin API, served by Console for the organization an Admin key "
    "belongs to. See docs/admin-api.md.",
)
api.add_router("/organizations", accounts_api.router)
api.add_router("/organizations", workspaces_api.router)
api.add_router("/organizations", billing_api.router)

urlpatterns = [
    *url_patterns(api),
    re_path(r"^.*$", not_found),
]
