from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.audit import Actor
from accounts.forms import OrganizationForm
from accounts.middleware import SESSION_KEY
from accounts.permissions import organization_access
from billing import selectors as billing_selectors
from console.forms import add_service_errors
from console.htmx import dialog_done, render_dialog
from console.http import ConsoleRequest


@require_GET
def home(request: ConsoleRequest) -> HttpResponse:
    if request.member is None:
        return render(request, "accounts/no_organization.html", status=200)
    return redirect("workspaces:workspace_list")


@require_GET
def organization(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "org.view")
    settings = billing_selectors.organization_settings(access.member.organization)
    return render(
        request, "accounts/organization.html", {"access": access, "limits_settings": settings}
    )


@require_http_methods(["GET", "POST"])
def organization_rename(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "org.edit")
    org = access.member.organization
    form = OrganizationForm(request.POST or None, initial={"name": org.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_rename(
                actor=Actor.from_request(request), organization=org, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return dialog_done(
                request,
                redirect_to=reverse("accounts:organization"),
                message="Organization name saved.",
                refresh=True,
            )
    return render_dialog(
        request,
        "accounts/organization_rename_form.html",
        {"form": form},
        title="Edit organization",
        cancel_url=reverse("accounts:organization"),
    )


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
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    return redirect(next_url)
