"""Settings > Workspaces: the list, creating, editing and archiving workspaces."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.audit import Actor
from accounts.http import ConsoleRequest
from console.forms import add_service_errors
from console.htmx import Event, confirm_action, dialog_done, render_dialog, render_page
from console.http import safe_next
from workspaces import selectors, services
from workspaces.access import (
    organization_access,
    workspace_access,
    workspace_tabs,
)
from workspaces.forms import WorkspaceForm, WorkspaceListForm
from workspaces.models import MAX_ACTIVE_WORKSPACES, WorkspaceColor

# Settings > Workspaces' sortable columns: (label, the `sort` it asks for, numeric).
WORKSPACE_COLUMNS = [
    ("Name", "name", False),
    ("Members", "members", True),
    ("API keys", "keys", True),
    ("Created", "created", False),
]


# The same orders for the phone layout's select (its table has no headers).
SORT_CHOICES = [
    ("", "Default first, then oldest"),
    ("name", "Name, A to Z"),
    ("-name", "Name, Z to A"),
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-members", "Most members"),
    ("members", "Fewest members"),
    ("-keys", "Most API keys"),
    ("keys", "Fewest API keys"),
]


def _columns(sort: str) -> list[dict]:
    """The table's sortable headers: a first click sorts ascending, a second reverses."""
    columns = []
    for label, key, numeric in WORKSPACE_COLUMNS:
        current = sort.removeprefix("-") == key
        descending = sort.startswith("-")
        columns.append(
            {
                "label": label,
                "numeric": numeric,
                "next": f"-{key}" if current and not descending else key,
                "aria_sort": ("descending" if descending else "ascending") if current else "",
            }
        )
    return columns


@require_GET
@vary_on_headers("HX-Request")
def workspace_list(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "org.view")
    form = WorkspaceListForm(request.GET, orders=list(selectors.WORKSPACE_ORDERS))
    valid = form.is_valid()
    search: str = form.cleaned_data["q"] if valid else ""
    sort: str = form.cleaned_data["sort"] if valid else ""
    show_archived: bool = form.cleaned_data["archived"] if valid else False
    listing = selectors.workspace_rows(
        access.member,
        include_archived=show_archived,
        search=search,
        sort=sort,
        cursor=request.GET.get("cursor"),
    )
    context = {
        "access": access,
        "form": form,
        "rows": listing.rows,
        "page": listing.page,
        "search": search,
        "sort": sort,
        "columns": _columns(sort),
        "sort_choices": SORT_CHOICES,
        "show_archived": show_archived,
        "max_workspaces": MAX_ACTIVE_WORKSPACES,
    }
    if access.can("workspace.create"):
        context["active_workspaces"] = selectors.active_workspace_count(
            access.member.organization_id
        )
    return render_page(request, "workspaces/workspace_list.html", context, partial="list")


def _form_context(form: WorkspaceForm) -> dict:
    return {"form": form, "colors": WorkspaceColor.choices}


@require_http_methods(["GET", "POST"])
def workspace_create(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "workspace.create")
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = services.workspace_create(
                actor=Actor.from_request(request),
                organization=access.member.organization,
                name=form.cleaned_data["name"],
                display_color=form.cleaned_data["display_color"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return dialog_done(
                request,
                redirect_to=reverse("workspaces:workspace_list"),
                message=f"Workspace “{workspace.name}” created.",
                events=(Event.WORKSPACES_CHANGED,),
            )
    return render_dialog(
        request,
        "workspaces/workspace_create_dialog.html",
        _form_context(form),
        cancel_url=reverse("workspaces:workspace_list"),
    )


@require_http_methods(["GET", "POST"])
def workspace_edit(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, access = workspace_access(request.member, workspace_id, "workspace.edit")
    form = WorkspaceForm(
        request.POST or None,
        initial={"name": workspace.name, "display_color": workspace.display_color},
    )
    # Opened from a page of the workspace (`next`), saving reloads that page, whose heading
    # shows the name; from the list, the list refreshes itself.
    list_url = reverse("workspaces:workspace_list")
    back = safe_next(request, list_url)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = services.workspace_edit(
                actor=Actor.from_request(request),
                workspace=workspace,
                name=form.cleaned_data["name"],
                display_color=form.cleaned_data["display_color"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return dialog_done(
                request,
                redirect_to=back,
                message=f"Workspace “{workspace.name}” saved.",
                events=(Event.WORKSPACES_CHANGED,),
                refresh=back != list_url,
            )
    return render_dialog(
        request,
        "workspaces/workspace_edit_dialog.html",
        {
            **_form_context(form),
            "workspace": workspace,
            "access": access,
            "next": "" if back == list_url else back,
        },
        cancel_url=back,
    )


@require_http_methods(["GET", "POST"])
def workspace_archive(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, _access = workspace_access(request.member, workspace_id, "workspace.archive")
    return confirm_action(
        request,
        perform=lambda: services.workspace_archive(
            actor=Actor.from_request(request), workspace=workspace
        ),
        template_name="workspaces/workspace_archive_dialog.html",
        context={"workspace": workspace, "active_keys": workspace.active_key_count},
        cancel_url=reverse("workspaces:workspace_list"),
        message=f"Workspace “{workspace.name}” archived.",
        events=(Event.WORKSPACES_CHANGED,),
    )


@require_GET
def workspace_detail(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, access = workspace_access(request.member, workspace_id)
    tabs = workspace_tabs(workspace, access)
    if not tabs:
        return render_page(
            request,
            "workspaces/workspace_base.html",
            {"workspace": workspace, "access": access, "tabs": []},
            partial="tab",
        )
    # The Default workspace opens on its API keys ("click on Default" in the list shows
    # them); the others on their first tab.
    if workspace.is_default:
        tabs = sorted(tabs, key=lambda tab: tab["name"] != "workspaces:workspace_keys")
    return redirect(tabs[0]["url"])
