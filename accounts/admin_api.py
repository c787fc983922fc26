"""Who calls the Admin API: an Admin key, sent as `x-api-key` or `Authorization: Bearer`.

A key acts with its creator's current standing: it works while its creator is an admin of
the organization, and answers 401 saying why once they are not. Writes are the key's in the
audit trail, and what they create is credited to the creator.
"""

from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer

from accounts import services
from accounts.audit import Actor
from accounts.models import AdminApiKey, Organization
from console.api import ApiError


class AdminApiRequest(HttpRequest):
    """A request an Admin key authenticated."""

    auth: AdminApiKey


def admin_key_actor(key: AdminApiKey) -> Actor:
    return Actor(user=key.created_by, label=f"Admin API key “{key.name}” ({key.public_id})")


def actor(request: AdminApiRequest) -> Actor:
    return admin_key_actor(request.auth)


def organization(request: AdminApiRequest) -> Organization:
    return request.auth.organization


def authenticate(secret: str) -> AdminApiKey:
    """The working Admin key for `secret`, else a 401 that says what is wrong."""
    key = services.admin_key_authenticate(secret)
    if key is None:
        if secret.startswith(("sk-ant-api03-", "cgw-")):
            raise ApiError(
                401,
                "authentication_error",
                "This endpoint needs an Admin API key (sk-ant-admin01-…).",
            )
        raise ApiError(401, "authentication_error", "invalid x-api-key")
    problem = key.creator_problem()
    if problem is not None:
        raise ApiError(401, "authentication_error", f"This Admin key no longer works: {problem}")
    return key


class AdminKeyHeader(APIKeyHeader):
    param_name = "x-api-key"

    def authenticate(self, request: HttpRequest, key: str | None) -> AdminApiKey | None:
        return authenticate(key) if key else None


class AdminKeyBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> AdminApiKey | None:
        return authenticate(token) if token else None


ADMIN_KEY_AUTH = [AdminKeyHeader(), AdminKeyBearer()]
