"""A link to a workspace of another of the viewer's organizations: rather than a bare 404,
a page saying which organization it is in, with a button to switch there."""

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import User
from workspaces import selectors


class OtherOrganizationMiddleware:
    """Turn the 404 of a workspace page into an offer to switch organization, when the
    workspace is in another organization of the viewer where they could see it. Anyone else,
    an htmx request or a change (POST) still gets the 404, so nothing is told about
    workspaces one cannot see. Sits below `console.middleware.NotFoundPageMiddleware`, so it
    sees the 404 first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, Http404) or request.method != "GET":
            return None
        if getattr(request, "htmx", False) or not isinstance(request.user, User):
            return None
        match = request.resolver_match
        workspace_id = match.kwargs.get("workspace_id") if match else None
        member = getattr(request, "member", None)
        if not isinstance(workspace_id, str) or member is None:
            return None
        elsewhere = selectors.workspace_elsewhere(request.user, member, workspace_id)
        if elsewhere is None:
            return None
        return render(
            request,
            "workspaces/other_organization.html",
            {"elsewhere": elsewhere, "next": request.get_full_path()},
        )
