import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts import selectors, time_zones

SESSION_KEY = "organization_id"


class CurrentOrganizationMiddleware:
    """Attach the signed-in user's current organization membership as `request.member`.

    The organization is the one chosen with the switcher (kept in the session), else the
    user's first. `request.member` is None for anonymous users and for users who belong to
    no organization.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.member = (  # type: ignore[attr-defined]
            selectors.current_member(request.user, request.session.get(SESSION_KEY))
            if request.user.is_authenticated
            else None
        )
        return self.get_response(request)


class TimeZoneMiddleware:
    """Show every time of the request in the viewer's zone (see `accounts.time_zones`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = time_zones.for_request(request)
        if name:
            timezone.activate(zoneinfo.ZoneInfo(name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
