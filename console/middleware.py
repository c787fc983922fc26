"""Requests refused before any view sees them."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.api import ApiError, error_response
from console.validation import is_safe_text

UNSAFE_ADDRESS = "The address contains control characters (such as NUL), which are not allowed."


class RefuseUnsafeAddressMiddleware:
    """Answer 400 to a path or query string holding control characters.

    A NUL in a path segment or a query value would otherwise reach a database lookup
    (PostgreSQL cannot compare text with NUL) or a header, deep inside some view. Refusing
    them here covers every URL, the pages and the APIs alike.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._is_safe(request):
            if request.path.startswith("/v1/"):
                return error_response(
                    request, ApiError(400, "invalid_request_error", UNSAFE_ADDRESS)
                )
            return render(request, "400.html", {"problem": UNSAFE_ADDRESS}, status=400)
        return self.get_response(request)

    @staticmethod
    def _is_safe(request: HttpRequest) -> bool:
        if not is_safe_text(request.path):
            return False
        return all(
            is_safe_text(name) and all(is_safe_text(value) for value in values)
            for name, values in request.GET.lists()
        )
