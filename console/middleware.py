"""Requests refused before any view sees them."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.api import ApiError, error_response
from console.validation import is_safe_text

NOT_ALLOWED = "contains control characters (such as NUL), which are not allowed."


class RefuseUnsafeAddressMiddleware:
    """Answer 400 to a path or query string holding control characters.

    A NUL in a path segment or a query value would otherwise reach a database lookup
    (PostgreSQL cannot compare text with NUL) or a header, deep inside some view. Refusing
    them here covers every URL, the pages and the APIs alike.
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
        return render(request, "400.html", {"problem": problem}, status=400)

    @staticmethod
    def _unsafe_part(request: HttpRequest) -> str | None:
        """What part of the address is unsafe, said for the person who sent it."""
        if not is_safe_text(request.path):
            return "The address"
        for name, values in request.GET.lists():
            if not is_safe_text(name):
                return "A query parameter's name"
            if not all(is_safe_text(value) for value in values):
                return f"The query parameter {name[:100]}"
        return None
