"""The Admin API's plumbing: Admin API key authentication, the error envelope for every
failure, and list pagination. Endpoints live in each app's `api.py`."""

import logging
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts import services
from accounts.audit import Actor
from accounts.models import AdminApiKey
from console.api import ApiError, bearer_token, error_response, json_response, query_int, read_json

logger = logging.getLogger(__name__)


def admin_key_actor(key: AdminApiKey) -> Actor:
    """Writes made with an Admin API key are the key's: the audit trail names it, and what
    they create is credited to the admin who made the key."""
    return Actor(user=key.created_by, label=f"Admin API key “{key.name}” ({key.public_id})")


def _authenticate(request: HttpRequest) -> AdminApiKey:
    secret = request.META.get("HTTP_X_API_KEY") or bearer_token(request)
    if not secret:
        raise ApiError(401, "authentication_error", "x-api-key header is required.")
    key = services.admin_key_authenticate(secret)
    if key is None:
        if secret.startswith(("sk-ant-api03-", "cgw-")):
            raise ApiError(
                401,
                "authentication_error",
                "This endpoint needs an Admin API key (sk-ant-admin01-…).",
            )
        raise ApiError(401, "authentication_error", "invalid x-api-key")
    return key


def _validation_message(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{field}: {message}" if field != "__all__" else message
            for field, messages in error.message_dict.items()
            for message in messages
        )
    return " ".join(error.messages)


def admin_api(*methods: str) -> Callable:
    """An Admin API endpoint answering `methods`. The view gets the request (with
    `request.admin_key` and `request.actor`) and its URL arguments, and returns data or a
    response; every failure becomes the error envelope, never HTML or a traceback."""

    def decorate(view: Callable[..., Any]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @login_not_required
        @wraps(view)
        def endpoint(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                request.admin_key = _authenticate(request)  # type: ignore[attr-defined]
                request.actor = admin_key_actor(request.admin_key)  # type: ignore[attr-defined]
                if request.method not in methods:
                    raise ApiError(
                        405, "invalid_request_error", f"{request.method} is not allowed here."
                    )
                if request.method == "POST":
                    body = read_json(request)
                    if body is None:
                        body = {}
                    if not isinstance(body, dict):
                        raise ApiError(
                            400, "invalid_request_error", "The request body must be a JSON object."
                        )
                    request.json = body  # type: ignore[attr-defined]
                result = view(request, *args, **kwargs)
                if isinstance(result, HttpResponse):
                    return result
                return json_response(request, result)
            except ApiError as error:
                return error_response(request, error)
            except ValidationError as error:
                return error_response(
                    request, ApiError(400, "invalid_request_error", _validation_message(error))
                )
            except Http404 as error:
                return error_response(
                    request, ApiError(404, "not_found_error", str(error) or "Not found.")
                )
            except PermissionDenied as error:
                return error_response(
                    request, ApiError(403, "permission_error", str(error) or "Not allowed.")
                )
            except Exception:
                logger.exception("Admin API error")
                return error_response(request, ApiError(500, "api_error", "Internal server error."))

        return endpoint

    return decorate


def body_field(
    request: HttpRequest, name: str, kind: type | tuple, *, required: bool = True, default=None
):
    """A field of the JSON body, of `kind`; 400 when missing (if required) or of another type."""
    body = request.json  # type: ignore[attr-defined]
    if name not in body or body[name] is None:
        if required:
            raise ApiError(400, "invalid_request_error", f"{name}: Field required.")
        return default
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise ApiError(400, "invalid_request_error", f"{name}: expected {expected}.")
    return value


def paginate(
    request: HttpRequest,
    queryset: QuerySet,
    *,
    key: str,
    serialize: Callable[[Any], dict],
    id_of: Callable[[Any], str],
) -> dict:
    """A page of `queryset` in creation order (ascending `key`, a time-ordered public ID),
    after `after_id` or before `before_id`, as `{data, has_more, first_id, last_id}`.

    New objects get later IDs, so pages already handed out never shift under inserts.
    """
    limit = query_int(request, "limit", default=20, minimum=1, maximum=1000)
    before_id = request.GET.get("before_id") or None
    after_id = request.GET.get("after_id") or None
    if before_id and after_id:
        raise ApiError(400, "invalid_request_error", "Give before_id or after_id, not both.")
    if before_id:
        rows = list(queryset.filter(**{f"{key}__lt": before_id}).order_by(f"-{key}")[: limit + 1])
        has_more = len(rows) > limit
        rows = list(reversed(rows[:limit]))
    else:
        if after_id:
            queryset = queryset.filter(**{f"{key}__gt": after_id})
        rows = list(queryset.order_by(key)[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
    return {
        "data": [serialize(row) for row in rows],
        "has_more": has_more,
        "first_id": id_of(rows[0]) if rows else None,
        "last_id": id_of(rows[-1]) if rows else None,
    }


def deleted(kind: str, **ids: str) -> dict:
    return {**ids, "type": f"{kind}_deleted"}


def choices_error(name: str, allowed: Iterable[str]) -> ApiError:
    return ApiError(400, "invalid_request_error", f"{name}: expected one of {', '.join(allowed)}.")
