"""The operator's gateway calls these to authorize and settle each request.

Both need a gateway token (`Authorization: Bearer`), created by staff in the Django admin;
a workspace API key alone cannot call them. A token made for one organization authorizes
only that organization's keys and settles only its reservations. Every answer, including an
unexpected failure (`api_error`, 500), is JSON in the Anthropic error envelope.
"""

import logging
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts import keys
from billing import enforcement
from billing.models import GatewayToken
from console.api import ApiError, bearer_token, error_response, json_response, read_json
from console.secrets import hash_secret

logger = logging.getLogger(__name__)

# Valid tokens by their secret's hash: every gateway request presents one. A token disabled
# in the admin is refused within LIMITER_CACHE_SECONDS, as API keys are.
_tokens = enforcement.TTLCache()


def gateway_token_authenticate(secret: str | None) -> GatewayToken | None:
    if (
        not secret
        or not isinstance(secret, str)
        or not secret.startswith(GatewayToken.SECRET_PREFIX)
    ):
        return None
    return _tokens.get(
        hash_secret(secret),
        lambda: keys.authenticate(
            GatewayToken.objects.all(), secret, prefix=GatewayToken.SECRET_PREFIX
        ),
    )


def _body(request: HttpRequest) -> dict:
    """The request's JSON object: 413 above 1 MB; 400 when it is not JSON, nests too deep,
    or holds NUL characters or unpaired surrogates."""
    body = read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request_error", "The request body must be a JSON object.")
    return body


def gateway_endpoint(
    view: Callable[[HttpRequest, dict, str | None], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt
    @login_not_required
    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            if request.method != "POST":
                raise ApiError(405, "invalid_request_error", "Use POST.")
            token = gateway_token_authenticate(bearer_token(request))
            if token is None:
                raise ApiError(
                    401,
                    "authentication_error",
                    "A valid gateway token is required (Authorization: Bearer).",
                )
            scope = None if token.organization_id is None else str(token.organization_id)
            return view(request, _body(request), scope)
        except ApiError as error:
            return error_response(request, error)
        except enforcement.EnforcementError as error:
            return error_response(request, ApiError(error.status, error.error_type, error.message))
        except DatabaseError:
            logger.exception("The database failed during %s.", request.path)
            return error_response(
                request,
                ApiError(500, "api_error", "Usage could not be stored; nothing changed. Retry."),
            )
        except Exception:
            logger.exception("Unexpected failure during %s.", request.path)
            return error_response(request, ApiError(500, "api_error", "Internal server error."))

    return wrapper


@gateway_endpoint
def authorize(request: HttpRequest, body: dict, scope: str | None) -> HttpResponse:
    decision = enforcement.authorize(
        body.get("api_key"),
        body.get("model"),
        body.get("input_tokens"),
        body.get("max_tokens"),
        scope=scope,
    )
    return json_response(request, decision.to_json())


@gateway_endpoint
def settle(request: HttpRequest, body: dict, scope: str | None) -> HttpResponse:
    settlement = enforcement.settle(body.get("reservation_id"), body.get("usage"), scope=scope)
    return json_response(request, settlement.to_json())
