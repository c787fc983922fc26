"""JSON endpoints' shared plumbing: the error envelope, request ids, bounded JSON bodies."""

import json
from typing import Any

from django.http import HttpRequest, JsonResponse

from console.ids import new_id

MAX_BODY_BYTES = 1024 * 1024


class ApiError(Exception):
    def __init__(self, status: int, error_type: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.details = details


def request_id(request: HttpRequest) -> str:
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


def error_response(request: HttpRequest, error: ApiError) -> JsonResponse:
    body: dict[str, Any] = {"type": error.error_type, "message": error.message}
    if error.details:
        body["details"] = error.details
    return json_response(
        request,
        {"type": "error", "error": body, "request_id": request_id(request)},
        status=error.status,
    )


def read_json(request: HttpRequest) -> Any:
    """The request's JSON body; 413 above 1 MB, 400 when it is not JSON."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        raise ApiError(413, "request_too_large", "Request bodies can be at most 1 MB.")
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "request_too_large", "Request bodies can be at most 1 MB.")
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400, "invalid_request_error", "The request body is not valid JSON."
        ) from None


def bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def rfc3339(moment) -> str | None:
    """A UTC time as RFC 3339 with a Z: 2026-11-29T10:00:00Z (microseconds dropped)."""
    if moment is None:
        return None
    from datetime import UTC

    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def query_list(request: HttpRequest, name: str) -> list[str]:
    """A query array, sent as `name[]=a&name[]=b` or `name=a&name=b`."""
    return [
        value
        for value in request.GET.getlist(f"{name}[]") + request.GET.getlist(name)
        if value != ""
    ]


TRUE = {"true", "True", "1"}
FALSE = {"false", "False", "0"}


def query_bool(request: HttpRequest, name: str, default: bool = False) -> bool:
    value = request.GET.get(name)
    if value is None or value == "":
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ApiError(400, "invalid_request_error", f"{name}: expected true or false.")


def query_int(request: HttpRequest, name: str, *, default: int, minimum: int, maximum: int) -> int:
    value = request.GET.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, "invalid_request_error", f"{name}: expected a whole number.") from None
    if not minimum <= number <= maximum:
        raise ApiError(
            400, "invalid_request_error", f"{name}: must be between {minimum} and {maximum}."
        )
    return number
