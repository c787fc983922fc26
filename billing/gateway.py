"""The operator's gateway calls these to authorize and settle each request.

Both need a gateway token (`Authorization: Bearer`), created by staff in the Django admin;
a workspace API key alone cannot call them. Answers use the Anthropic error envelope.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from billing import enforcement
from billing.models import GatewayToken
from console.api import ApiError, bearer_token, error_response, json_response, read_json
from console.secrets import hash_secret

GATEWAY_TOKEN_PREFIX = "cgw-"


# Valid tokens by their secret's hash: every gateway request presents one. A token disabled
# in the admin is refused within LIMITER_CACHE_SECONDS, as API keys are.
_tokens = enforcement.TTLCache()


def gateway_token_authenticate(secret: str | None) -> GatewayToken | None:
    from accounts import keys

    if not secret or not isinstance(secret, str) or not secret.startswith(GATEWAY_TOKEN_PREFIX):
        return None
    return _tokens.get(
        hash_secret(secret),
        lambda: keys.authenticate(GatewayToken.objects.all(), secret, prefix=GATEWAY_TOKEN_PREFIX),
    )


def gateway_endpoint(
    view: Callable[[HttpRequest, dict], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt
    @login_not_required
    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        try:
            if request.method != "POST":
                raise ApiError(405, "invalid_request_error", "Use POST.")
            if gateway_token_authenticate(bearer_token(request)) is None:
                raise ApiError(
                    401,
                    "authentication_error",
                    "A valid gateway token is required (Authorization: Bearer).",
                )
            body = read_json(request)
            if not isinstance(body, dict):
                raise ApiError(
                    400, "invalid_request_error", "The request body must be a JSON object."
                )
            return view(request, body)
        except ApiError as error:
            return error_response(request, error)
        except enforcement.EnforcementError as error:
            return error_response(request, ApiError(error.status, error.error_type, error.message))

    return wrapper


@gateway_endpoint
def authorize(request: HttpRequest, body: dict) -> HttpResponse:
    decision = enforcement.authorize(
        body.get("api_key"), body.get("model"), body.get("input_tokens"), body.get("max_tokens")
    )
    return json_response(request, decision.to_json())


@gateway_endpoint
def settle(request: HttpRequest, body: dict) -> HttpResponse:
    settlement = enforcement.settle(body.get("reservation_id"), body.get("usage"))
    return json_response(request, settlement.to_json())
