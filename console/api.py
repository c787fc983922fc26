"""What every JSON endpoint shares, the Admin API and the gateway alike: Anthropic's error
envelope, request ids, and bounded, checked JSON bodies."""

from typing import Any

from django.http import HttpRequest, JsonResponse

from console.ids import new_id
from console.validation import JSONRefused, loads_json

MAX_BODY_BYTES = 1024 * 1024

# Anthropic's error type for each status the APIs answer with.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class ApiError(Exception):
    def __init__(self, status: int, error_type: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.details = details


def request_id(request: HttpRequest) -> str:
    """The id of this request, the same in the `request-id` header and the error body."""
    if not hasattr(request, "api_request_id"):
        request.api_request_id = new_id("req_")  # type: ignore[attr-defined]
    return request.api_request_id  # type: ignore[attr-defined]


def json_response(
    request: HttpRequest, data: Any, *, status: int = 200, headers: dict | None = None
) -> JsonResponse:
    response = JsonResponse(
        data, status=status, safe=False, json_dumps_params={"separators": (",", ":")}
    )
    response["request-id"] = request_id(request)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_body(request: HttpRequest, error: ApiError) -> dict[str, Any]:
    body: dict[str, Any] = {"type": error.error_type, "message": error.message}
    if error.details:
        body["details"] = error.details
    return {"type": "error", "error": body, "request_id": request_id(request)}


def error_response(request: HttpRequest, error: ApiError) -> JsonResponse:
    return json_response(request, error_body(request, error), status=error.status)


def too_large() -> ApiError:
    return ApiError(413, "request_too_large", "Request bodies can be at most 1 MB.")


def parse_json(body: bytes) -> Any:
    """A JSON document bounded in depth, without NUL or unpaired surrogates in its strings;
    400 when it is not."""
    try:
        return loads_json(body or b"null")
    except JSONRefused as refused:
        raise ApiError(
            400, "invalid_request_error", refused.message, error_code=refused.code
        ) from None


def read_json(request: HttpRequest) -> Any:
    """The request's JSON body; 413 above 1 MB, 400 when it is not JSON we accept."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY_BYTES:
        raise too_large()
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise too_large()
    return parse_json(body)


def bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None
