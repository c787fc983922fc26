"""Settings > Organization: the organization's details and its usage tier, and renaming it.

The page shows the tier billing keeps, so billing renders it."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services as account_services
from accounts.audit import Actor
from accounts.forms import OrganizationForm
from accounts.http import ConsoleRequest
from billing import selectors
from console.forms import add_service_errors
from console.htmx import dialog_done, render_dialog
from workspaces.access import organization_access


@require_GET
def organization(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "org.view")
    settings = selectors.organization_settings(access.member.organization)
    return render(
        request, "billing/organization.html", {"access": access, "limits_settings": settings}
    )


@require_http_methods(["GET", "POST"])
def organization_rename(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "org.edit")
    org = access.member.organization
    form = OrganizationForm(request.POST or None, initial={"name": org.name})
    if request.method == "POST" and form.is_valid():
        try:
            account_services.organization_rename(
                actor=Actor.from_request(request), organization=org, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return dialog_done(
                request,
                redirect_to=reverse("billing:organization"),
                message="Organization name saved.",
                refresh=True,
            )
    return render_dialog(
        request,
        "billing/organization_rename_dialog.html",
        {"form": form},
        cancel_url=reverse("billing:organization"),
    )
