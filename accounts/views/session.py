"""Where a signed-in person lands, and which of their organizations they act in."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors
from accounts.http import ConsoleRequest
from accounts.middleware import SESSION_KEY
from console.http import safe_next


@require_GET
def home(request: ConsoleRequest) -> HttpResponse:
    if request.member is None:
        return render(request, "accounts/no_organization.html", status=200)
    return redirect("workspaces:workspace_list")


@require_POST
def organization_switch(request: ConsoleRequest) -> HttpResponse:
    """Make another of the user's organizations the current one."""
    organization_id = request.POST.get("organization_id", "")
    if not any(
        str(org.id) == organization_id for org in selectors.user_organizations(request.user)
    ):
        messages.error(request, "You are not a member of that organization.")
        return redirect("/")
    request.session[SESSION_KEY] = organization_id
    return redirect(safe_next(request, "/"))
