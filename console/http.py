"""Typed requests for views: what the middleware stack guarantees is on a request."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import OrganizationMember, User


class ConsoleRequest(HttpRequest):
    """A signed-in request (LoginRequiredMiddleware) with htmx details and the current member."""

    user: User
    htmx: HtmxDetails
    member: OrganizationMember | None
