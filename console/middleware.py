"""Middleware of the console as a whole."""

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404
from django.views.defaults import page_not_found


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
