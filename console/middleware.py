"""Middleware of the console as a whole: requests refused before any view sees them, and the
console's own 404 page in development mode."""

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404
from django.views.defaults import page_not_found

from console.api import ApiError, error_response
from console.validation import is_safe_text

NOT_ALLOWED = "contains control characters (such as NUL), which are not allowed."
POSTED_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseUnsafeInputMiddleware:
    """Answer 400 to a path or query string holding control characters, and to a form that
    posts a NUL character.

    A NUL in a path segment, a query value or a posted field would otherwise reach a
    database lookup (PostgreSQL cannot compare text with NUL) or a header, deep inside some
    view, one that reads `request.POST` itself as much as one with a form (whose fields refuse
    NUL). Refusing them here covers every URL, the pages and the APIs alike; JSON bodies are
    checked where they are parsed (`console.validation.loads_json`).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        unsafe = self._unsafe_part(request)
        if unsafe is None:
            return self.get_response(request)
        problem = f"{unsafe} {NOT_ALLOWED}"
        if request.path.startswith("/v1/"):
            error = ApiError(400, "invalid_request_error", problem, error_code="invalid_characters")
            return error_response(request, error)
        if request.headers.get("HX-Request") == "true":
            # Plain text: the page's script shows it where the person is looking (a toast).
            return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
        return render(request, "400.html", {"problem": problem}, status=400)

    @staticmethod
    def _unsafe_part(request: HttpRequest) -> str | None:
        """What part of the request is unsafe, said for the person who sent it."""
        if not is_safe_text(request.path):
            return "The address"
        for name, values in request.GET.lists():
            if not is_safe_text(name):
                return "A query parameter's name"
            if not all(is_safe_text(value) for value in values):
                return f"The query parameter {name[:100]}"
        if request.method == "POST" and request.content_type in POSTED_FORMS:
            for name, values in request.POST.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    return f"The field {name.replace(chr(0), '')[:100]}"
        return None


class NotFoundPageMiddleware:
    """With DEBUG on, as in the demo, answer a missing page with the console's own 404 page,
    as production does, rather than Django's technical one (which lists every URL pattern).

    A view's `Http404` is caught on its way out; an address no pattern matches shows as a 404
    response without a resolved view. Sits below the CSP middleware, so the page it renders
    gets the policy and nonce of its response.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            return page_not_found(request, Resolver404({"path": request.path_info}))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
