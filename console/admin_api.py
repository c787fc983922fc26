"""The Admin API's framework: one NinjaAPI that answers as Anthropic's Admin API does.

- Every failure, whoever raises it (ninja's request validation, pydantic's inside a view,
  Django's `ValidationError`, `PermissionDenied` and `Http404`, the parser, an unexpected exception),
  becomes Anthropic's error envelope; a `ValidationError(code=...)` from a service puts its
  code in `details.error_code`.
- Bodies are at most 1 MB of JSON bounded in depth; query strings and path ids with NUL or
  other control characters are refused before anything reads them.
- Every answer carries `request-id`, and, once a key is known, `anthropic-organization-id`.

The endpoints are each app's `api.py` routers; `console/api_urls.py` mounts them.
"""

import logging
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
)
from django.core.exceptions import (
    ValidationError as DjangoValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from pydantic import ValidationError as PydanticValidationError

from console.api import (
    ERROR_TYPES,
    MAX_BODY_BYTES,
    ApiError,
    error_body,
    error_response,
    parse_json,
    request_id,
    too_large,
)
from console.validation import is_safe_text

logger = logging.getLogger(__name__)


class AdminApiParser(Parser):
    """JSON bodies through the shared bounded parser; query arrays as `x[]=a&x[]=b` or
    `x=a&x=b`; no value or name with control characters."""

    def parse_body(self, request: HttpRequest) -> Any:
        if len(request.body) > MAX_BODY_BYTES:
            raise too_large()
        return parse_json(request.body)

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for name, values in data.lists():
            for text in (name, *values):
                if not is_safe_text(text):
                    raise ApiError(
                        400,
                        "invalid_request_error",
                        f"{name.removesuffix('[]')!r}: query parameters cannot contain NUL or "
                        "other control characters.",
                        error_code="invalid_characters",
                    )
        result: dict[str, Any] = {}
        for name in data:
            base = name.removesuffix("[]")
            if name in list_fields or base in list_fields or f"{base}[]" in list_fields:
                field = next(f for f in (name, base, f"{base}[]") if f in list_fields)
                result.setdefault(field, []).extend(v for v in data.getlist(name) if v != "")
            else:
                result[name] = data[name]
        return result


class CompactJSONRenderer(JSONRenderer):
    json_dumps_params = {"separators": (",", ":")}


class AdminApi(NinjaAPI):
    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        _stamp(request, response)
        return response


def _stamp(request: HttpRequest, response: HttpResponse) -> None:
    response["request-id"] = request_id(request)
    key = getattr(request, "auth", None)
    if key is not None and hasattr(key, "organization_id"):
        response["anthropic-organization-id"] = str(key.organization_id)


def _envelope(api: NinjaAPI, request: HttpRequest, error: ApiError) -> HttpResponse:
    return api.create_response(request, error_body(request, error), status=error.status)


def _field_path(loc: tuple | list, *, located: bool = True) -> str:
    """Where a validation error is: `name`, `limits.1.value`, `limit`. ninja's errors are
    `located`: their path starts with where the value came from (body, query, path)."""
    parts = list(loc)
    if located:
        source = parts.pop(0) if parts else ""
        if source == "body" and parts:
            parts.pop(0)  # the view's parameter name
    return ".".join(str(part) for part in parts)


# pydantic's kinds of error for a body that is not a JSON object at all.
_NOT_AN_OBJECT = {"model_type", "model_attributes_type", "dict_type"}


def _message(error: Any) -> str:
    """pydantic's message, without the "Value error, " it puts before a check's own words."""
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "value_error":
        message = message.removeprefix("Value error, ")
    return message


def _validation_error(errors: Sequence[Any], *, located: bool = True) -> ApiError:
    messages = []
    error_code = None
    for error in errors:
        path = _field_path(error.get("loc", ()), located=located)
        context = error.get("ctx") or {}
        if error_code is None and context.get("error_code"):
            error_code = context["error_code"]
        message = _message(error)
        if located and not path and error.get("loc", ("",))[0] == "body":
            kind = error.get("type")
            if kind == "missing":
                message = "The request needs a JSON body."
            elif kind in _NOT_AN_OBJECT:
                message = "The request body must be a JSON object."
            messages.append(message)  # a check of the whole body says where it looked
            continue
        messages.append(f"{path}: {message}" if path else message)
    details = {"error_code": error_code} if error_code else {}
    return ApiError(400, "invalid_request_error", " ".join(messages), **details)


def django_validation_error(error: DjangoValidationError) -> ApiError:
    """A service's refusal, with the code of its first error as `details.error_code`."""
    codes: list[str] = []
    if hasattr(error, "error_dict"):
        messages = []
        for field, field_errors in error.error_dict.items():
            for item in field_errors:
                text = " ".join(item.messages)
                messages.append(text if field == "__all__" else f"{field}: {text}")
                if item.code:
                    codes.append(item.code)
        message = " ".join(messages)
    else:
        message = " ".join(error.messages)
        codes = [item.code for item in error.error_list if item.code]
    details = {"error_code": codes[0]} if codes else {}
    return ApiError(400, "invalid_request_error", message, **details)


# The model ninja wraps each route's response schema in (ninja.operation).
_RESPONSE_SCHEMA = "NinjaResponseSchema"


def register_handlers(api: NinjaAPI) -> None:
    def handle(kind: type[Exception]) -> Callable:
        def decorate(to_error: Callable[[Any], ApiError]) -> Callable:
            api.add_exception_handler(
                kind, lambda request, exc: _envelope(api, request, to_error(exc))
            )
            return to_error

        return decorate

    @handle(ApiError)
    def _api_error(exc: ApiError) -> ApiError:
        return exc

    @handle(RequestValidationError)
    def _request_invalid(exc: RequestValidationError) -> ApiError:
        return _validation_error(exc.errors)

    @handle(PydanticValidationError)
    def _invalid(exc: PydanticValidationError) -> ApiError:
        # ninja validates every answer with the route's response schema: an answer that does
        # not fit it is the server's fault, not the request's.
        if exc.title == _RESPONSE_SCHEMA:
            logger.error("Admin API answer does not fit its schema", exc_info=exc)
            return ApiError(500, "api_error", "Internal server error.")
        return _validation_error(exc.errors(include_url=False), located=False)

    @handle(DjangoValidationError)
    def _refused(exc: DjangoValidationError) -> ApiError:
        return django_validation_error(exc)

    @handle(PermissionDenied)
    def _forbidden(exc: PermissionDenied) -> ApiError:
        return ApiError(403, "permission_error", str(exc) or "Not allowed.")

    @handle(Http404)
    def _missing(exc: Http404) -> ApiError:
        return ApiError(404, "not_found_error", str(exc) or "Not found.")

    @handle(ObjectDoesNotExist)
    def _no_object(exc: ObjectDoesNotExist) -> ApiError:
        return ApiError(404, "not_found_error", str(exc) or "Not found.")

    @handle(RequestDataTooBig)
    def _too_big(exc: RequestDataTooBig) -> ApiError:
        return too_large()

    @handle(AuthenticationError)
    def _unauthenticated(exc: AuthenticationError) -> ApiError:
        message = exc.message if exc.message != "Unauthorized" else "x-api-key header is required."
        return ApiError(401, "authentication_error", message)

    @handle(HttpError)
    def _http_error(exc: HttpError) -> ApiError:
        # The body parser's refusals arrive wrapped by ninja; answer with the original.
        if isinstance(exc.__cause__, ApiError):
            return exc.__cause__
        status = exc.status_code
        return ApiError(status, ERROR_TYPES.get(status, "api_error"), exc.message)

    @handle(Exception)
    def _unexpected(exc: Exception) -> ApiError:
        logger.error("Admin API error", exc_info=exc)
        return ApiError(500, "api_error", "Internal server error.")


def _answering_in_envelope(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Around every route: path ids that cannot name anything are a 404, a method the route
    does not answer a 405, both in the envelope; every answer gets its request id."""

    @wraps(view)
    def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        for value in kwargs.values():
            if isinstance(value, str) and not is_safe_text(value):
                return error_response(
                    request, ApiError(404, "not_found_error", "No object has this id.")
                )
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allowed = response.get("Allow", "")
            response = error_response(
                request,
                ApiError(
                    405,
                    "invalid_request_error",
                    f"{request.method} is not allowed here (allowed: {allowed}).",
                ),
            )
            response["Allow"] = allowed
        _stamp(request, response)
        return response

    endpoint.csrf_exempt = True  # type: ignore[attr-defined]
    return login_not_required(endpoint)


def url_patterns(api: NinjaAPI) -> list[URLPattern]:
    """The API's routes, each answering in the envelope. Include them under the namespace
    `admin_api` (ninja names its root in it; the root itself answers 404)."""
    patterns = []
    for pattern in api.urls[0]:
        assert isinstance(pattern, URLPattern)
        view = not_found if pattern.name == "api-root" else pattern.callback
        pattern.callback = _answering_in_envelope(view)
        patterns.append(pattern)
    return patterns


@login_not_required
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Unknown paths under /v1/ answer with the API's 404 envelope, not an HTML page."""
    return error_response(
        request, ApiError(404, "not_found_error", f"No such endpoint: {request.path}")
    )


not_found.csrf_exempt = True  # type: ignore[attr-defined]


def create_api(*, auth: Sequence[Callable[..., Any]], description: str) -> AdminApi:
    api = AdminApi(
        title="Console Admin API",
        version="1.0.0",
        description=description,
        urls_namespace="admin_api",
        openapi_url="/openapi.json",
        docs_url=None,
        auth=auth,
        parser=AdminApiParser(),
        renderer=CompactJSONRenderer(),
    )
    register_handlers(api)
    return api
