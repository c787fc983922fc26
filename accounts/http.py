"""The request the console's pages receive."""

from accounts.models import OrganizationMember, User
from console.http import HtmxRequest


class ConsoleRequest(HtmxRequest):
    """A signed-in request (LoginRequiredMiddleware) with htmx details and the current member
    (`CurrentOrganizationMiddleware`; None for someone in no organization)."""

    user: User
    member: OrganizationMember | None
