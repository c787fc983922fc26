"""API keys: the workspace page's API Keys tab, its modals, and Settings > API Keys."""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from accounts.audit import Actor
from accounts.http import ConsoleRequest
from accounts.models import OrganizationMember
from console.forms import add_service_errors
from console.htmx import Event, dialog_done, render_dialog, render_page
from console.http import safe_next
from console.pagination import cursor_page
from workspaces import selectors, services
from workspaces.access import (
    Access,
    api_key_access,
    organization_access,
    tab_context,
    workspace_access,
    workspace_scope,
)
from workspaces.forms import (
    ApiKeyCreateForm,
    ApiKeyRenameForm,
    KeyFilterForm,
    WorkspaceKeysForm,
)
from workspaces.models import ApiKey
from workspaces.views.key_dialogs import key_action

PAGE_SIZE = 50


@dataclass(frozen=True)
class KeyRow:
    key: ApiKey
    access: Access


@require_GET
@vary_on_headers("HX-Request")
def workspace_keys(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, access = workspace_access(request.member, workspace_id, "keys.view")
    form = WorkspaceKeysForm(request.GET)
    valid = form.is_valid()
    search: str = form.cleaned_data["q"] if valid else ""
    # An archived workspace's keys were archived with it: they are all it has to show.
    show_deleted: bool = (valid and form.cleaned_data["deleted"]) or workspace.is_archived
    filters = selectors.KeyFilters(workspace=workspace, include_deleted=show_deleted, search=search)
    page = cursor_page(
        selectors.api_keys(access.member, filters, workspaces=None),
        cursor=request.GET.get("cursor"),
        key="public_id",
        size=PAGE_SIZE,
    )
    context = {
        **tab_context(workspace, access, "workspaces:workspace_keys"),
        "form": form,
        "search": search,
        "page": page,
        "key_rows": [KeyRow(key, access) for key in page.items],
        "show_deleted": show_deleted,
    }
    # The search and the switch refresh the key list alone; a tab's link, the whole tab.
    searching = request.htmx and request.htmx.target == "workspace-key-results"
    return render_page(
        request,
        "workspaces/workspace_keys.html",
        context,
        partial="results" if searching else "tab",
    )


@never_cache
@require_http_methods(["GET", "POST"])
def api_key_create(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, access = workspace_access(request.member, workspace_id, "keys.create")
    form = ApiKeyCreateForm(request.POST or None)
    cancel_url = reverse("workspaces:workspace_keys", args=[workspace.public_id])
    if request.method == "POST" and form.is_valid():
        try:
            key, secret = services.api_key_create(
                actor=Actor.from_request(request),
                workspace=workspace,
                name=form.cleaned_data["name"],
                expires_at=form.cleaned_data["expires_at"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            # The one response that carries the secret: shown in the modal, never again.
            response = render_dialog(
                request,
                "workspaces/api_key_secret_dialog.html",
                {"key": key, "secret": secret, "workspace": workspace},
                cancel_url=cancel_url,
            )
            if request.htmx:
                trigger_client_event(response, Event.KEYS_CHANGED)
            return response
    return render_dialog(
        request,
        "workspaces/api_key_create_dialog.html",
        {"form": form, "workspace": workspace, "access": access},
        cancel_url=cancel_url,
    )


def _back_url(request: ConsoleRequest, key: ApiKey) -> str:
    """Where a key's dialog leads when closed or done: the page it was opened from (`next`,
    when it is one of this site's), else the key's workspace's API Keys tab."""
    return safe_next(request, reverse("workspaces:workspace_keys", args=[key.workspace.public_id]))


def _key_done(request: ConsoleRequest, key: ApiKey, message: str) -> HttpResponse:
    return dialog_done(
        request,
        redirect_to=_back_url(request, key),
        message=message,
        events=(Event.KEYS_CHANGED,),
    )


@require_http_methods(["GET", "POST"])
def api_key_rename(request: ConsoleRequest, key_id: str) -> HttpResponse:
    key, _access = api_key_access(request.member, key_id, "keys.manage")
    form = ApiKeyRenameForm(request.POST or None, initial={"name": key.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.api_key_rename(
                actor=Actor.from_request(request), key=key, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _key_done(request, key, "Key renamed.")
    return render_dialog(
        request,
        "workspaces/api_key_rename_dialog.html",
        {"form": form, "key": key},
        cancel_url=_back_url(request, key),
    )


def _key_action(
    request: ConsoleRequest,
    key_id: str,
    *,
    action: str,
    service: Callable[..., object],
    template_name: str,
) -> HttpResponse:
    key, _access = api_key_access(request.member, key_id, "keys.manage")
    return key_action(
        request,
        key,
        action=action,
        noun="API key",
        service=service,
        template_name=template_name,
        cancel_url=_back_url(request, key),
        events=(Event.KEYS_CHANGED,),
    )


@require_http_methods(["GET", "POST"])
def api_key_disable(request: ConsoleRequest, key_id: str) -> HttpResponse:
    return _key_action(
        request,
        key_id,
        action="disable",
        service=services.api_key_disable,
        template_name="workspaces/api_key_disable_dialog.html",
    )


@require_http_methods(["GET", "POST"])
def api_key_enable(request: ConsoleRequest, key_id: str) -> HttpResponse:
    return _key_action(
        request,
        key_id,
        action="enable",
        service=services.api_key_enable,
        template_name="workspaces/api_key_enable_dialog.html",
    )


@require_http_methods(["GET", "POST"])
def api_key_delete(request: ConsoleRequest, key_id: str) -> HttpResponse:
    return _key_action(
        request,
        key_id,
        action="delete",
        service=services.api_key_delete,
        template_name="workspaces/api_key_delete_dialog.html",
    )


@require_GET
@vary_on_headers("HX-Request")
def api_key_list(request: ConsoleRequest) -> HttpResponse:
    """Settings > API Keys: every key the viewer may see, across workspaces."""
    scope = workspace_scope(request.member, "keys.view")
    member = organization_access(request.member).member
    workspaces = scope.workspaces
    creators = [
        (m.user.public_id, m.user.email)
        for m in OrganizationMember.objects.filter(organization_id=member.organization_id)
        .select_related("user")
        .order_by("user__email")
    ]
    form = KeyFilterForm(request.GET or None, workspaces=workspaces, creators=creators)
    filters = selectors.KeyFilters()
    if form.is_valid():
        by_id = {w.public_id: w for w in workspaces}
        filters = selectors.KeyFilters(
            workspace=by_id.get(form.cleaned_data["workspace"]),
            status=form.cleaned_data["status"],
            creator=form.cleaned_data["creator"],
            search=form.cleaned_data["q"],
        )
    page = cursor_page(
        selectors.api_keys(member, filters, workspaces=None if scope.every else workspaces),
        cursor=request.GET.get("cursor"),
        key="public_id",
        size=PAGE_SIZE,
    )
    context = {
        "form": form,
        "page": page,
        "key_rows": [KeyRow(key, scope.access(key.workspace)) for key in page.items],
        "org_wide": True,
    }
    return render_page(request, "workspaces/api_key_list.html", context, partial="results")
