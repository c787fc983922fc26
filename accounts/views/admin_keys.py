"""Settings > Admin Keys: keys for the Admin API, managed by organization admins only."""

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.audit import Actor
from accounts.forms import AdminKeyForm
from accounts.models import AdminApiKey, KeyStatus
from accounts.permissions import Access, organization_access
from accounts.views.keys import key_action
from console.forms import add_service_errors
from console.htmx import render_dialog, render_page
from console.http import ConsoleRequest
from console.pagination import cursor_page

ADMIN_KEYS_CHANGED = "admin-keys:changed"


@require_GET
def admin_key_list(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "adminkeys.manage")
    page = cursor_page(
        AdminApiKey.objects.filter(organization_id=access.member.organization_id)
        .exclude(status=KeyStatus.ARCHIVED)
        .select_related("created_by")
        .with_creator_role(),
        cursor=request.GET.get("cursor"),
        key="public_id",
    )
    return render_page(request, "accounts/admin_key_list.html", {"page": page}, partial="list")


@never_cache
@require_http_methods(["GET", "POST"])
def admin_key_create(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "adminkeys.manage")
    form = AdminKeyForm(request.POST or None)
    cancel_url = reverse("accounts:admin_key_list")
    if request.method == "POST" and form.is_valid():
        try:
            key, secret = services.admin_key_create(
                actor=Actor.from_request(request),
                organization=access.member.organization,
                name=form.cleaned_data["name"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            response = render_dialog(
                request,
                "includes/secret_once.html",
                {"key": key, "secret": secret},
                title="Save your Admin key",
                cancel_url=cancel_url,
            )
            if request.htmx:
                response["HX-Trigger"] = ADMIN_KEYS_CHANGED
            return response
    return render_dialog(
        request,
        "accounts/admin_key_form.html",
        {"form": form},
        title="Create Admin key",
        cancel_url=cancel_url,
    )


def _admin_key(access: Access, key_id: str) -> AdminApiKey:
    key = (
        AdminApiKey.objects.filter(organization_id=access.member.organization_id, public_id=key_id)
        .select_related("organization")
        .first()
    )
    if key is None:
        raise Http404("No such Admin key.")
    return key


def _admin_key_action(request: ConsoleRequest, key_id: str, *, action: str) -> HttpResponse:
    access = organization_access(request.member, "adminkeys.manage")
    return key_action(
        request,
        _admin_key(access, key_id),
        action=action,
        title_noun="Admin key",
        noun="Admin key",
        set_status=services.admin_key_set_status,
        delete=services.admin_key_delete,
        body_template="accounts/admin_key_action_form.html",
        url_name=f"accounts:admin_key_{action}",
        cancel_url=reverse("accounts:admin_key_list"),
        events=(ADMIN_KEYS_CHANGED,),
    )


@require_http_methods(["GET", "POST"])
def admin_key_disable(request: ConsoleRequest, key_id: str) -> HttpResponse:
    return _admin_key_action(request, key_id, action="disable")


@require_http_methods(["GET", "POST"])
def admin_key_enable(request: ConsoleRequest, key_id: str) -> HttpResponse:
    return _admin_key_action(request, key_id, action="enable")


@require_http_methods(["GET", "POST"])
def admin_key_delete(request: ConsoleRequest, key_id: str) -> HttpResponse:
    return _admin_key_action(request, key_id, action="delete")
