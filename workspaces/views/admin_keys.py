"""Settings > Admin Keys: keys for the Admin API, managed by organization admins only."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import trigger_client_event

from accounts import services
from accounts.audit import Actor
from accounts.forms import AdminKeyForm
from accounts.http import ConsoleRequest
from accounts.models import AdminApiKey, KeyStatus
from console.forms import add_service_errors
from console.htmx import Event, render_dialog, render_page
from console.pagination import cursor_page
from workspaces.access import Access, organization_access
from workspaces.forms import AdminKeysForm
from workspaces.views.key_dialogs import key_action


@require_GET
def admin_key_list(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "adminkeys.manage")
    form = AdminKeysForm(request.GET)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    keys = (
        AdminApiKey.objects.filter(organization_id=access.member.organization_id)
        .exclude(status=KeyStatus.ARCHIVED)
        .select_related("created_by")
        .with_creator_role()
    )
    if search:
        keys = keys.filter(name__icontains=search)
    page = cursor_page(keys, cursor=request.GET.get("cursor"), key="public_id")
    return render_page(
        request,
        "workspaces/admin_key_list.html",
        {"page": page, "form": form, "search": search},
        partial="list",
    )


@never_cache
@require_http_methods(["GET", "POST"])
def admin_key_create(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "adminkeys.manage")
    form = AdminKeyForm(request.POST or None)
    cancel_url = reverse("workspaces:admin_key_list")
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
                "workspaces/admin_key_secret_dialog.html",
                {"key": key, "secret": secret},
                cancel_url=cancel_url,
            )
            if request.htmx:
                trigger_client_event(response, Event.ADMIN_KEYS_CHANGED)
            return response
    return render_dialog(
        request, "workspaces/admin_key_create_dialog.html", {"form": form}, cancel_url=cancel_url
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


def _admin_key_action(
    request: ConsoleRequest,
    key_id: str,
    *,
    action: str,
    service: Callable[..., object],
    template_name: str,
) -> HttpResponse:
    access = organization_access(request.member, "adminkeys.manage")
    return key_action(
        request,
        _admin_key(access, key_id),
        action=action,
        noun="Admin key",
        service=service,
        template_name=template_name,
        cancel_url=reverse("workspaces:admin_key_list"),
        events=(Event.ADMIN_KEYS_CHANGED,),
    )


@require_http_methods(["GET", "POST"])
def admin_key_disable(request: ConsoleRequest, key_id: str) -> HttpResponse:
    return _admin_key_action(
        request,
        key_id,
        action="disable",
        service=services.admin_key_disable,
        template_name="workspaces/admin_key_disable_dialog.html",
    )


@require_http_methods(["GET", "POST"])
def admin_key_enable(request: ConsoleRequest, key_id: str) -> HttpResponse:
    return _admin_key_action(
        request,
        key_id,
        action="enable",
        service=services.admin_key_enable,
        template_name="workspaces/admin_key_enable_dialog.html",
    )


@require_http_methods(["GET", "POST"])
def admin_key_delete(request: ConsoleRequest, key_id: str) -> HttpResponse:
    return _admin_key_action(
        request,
        key_id,
        action="delete",
        service=services.admin_key_delete,
        template_name="workspaces/admin_key_delete_dialog.html",
    )
