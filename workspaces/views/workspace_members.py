"""The workspace page's Members tab: explicit and inherited members, adding, role changes,
removal."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from accounts.audit import Actor
from accounts.http import ConsoleRequest
from accounts.models import User
from accounts.roles import WorkspaceRole
from console.forms import add_service_errors
from console.htmx import Event, confirm_action, dialog_done, render_dialog, render_page
from workspaces import selectors, services
from workspaces.access import Access, tab_context, workspace_access
from workspaces.forms import ROLE_CHOICES, WorkspaceMemberAddForm, WorkspaceMemberRoleForm
from workspaces.models import Workspace


@require_GET
@vary_on_headers("HX-Request")
def workspace_members(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, access = workspace_access(request.member, workspace_id, "members.view")
    context = {
        **tab_context(workspace, access, "workspaces:workspace_members"),
        "rows": selectors.workspace_members(workspace),
        "role_choices": ROLE_CHOICES,
    }
    return render_page(request, "workspaces/workspace_members.html", context, partial="tab")


def _org_user(workspace: Workspace, user_id: str) -> User | None:
    return User.objects.filter(
        public_id=user_id, memberships__organization_id=workspace.organization_id
    ).first()


def _org_user_or_404(workspace: Workspace, user_id: str) -> User:
    user = _org_user(workspace, user_id)
    if user is None:
        raise Http404("No such member.")
    return user


@require_http_methods(["GET", "POST"])
def workspace_member_add(request: ConsoleRequest, workspace_id: str) -> HttpResponse:
    workspace, access = workspace_access(request.member, workspace_id, "members.manage")
    search = request.GET.get("q", "").strip()[:100]
    form = WorkspaceMemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = _org_user(workspace, form.cleaned_data["user"])
        try:
            if user is None:
                raise ValidationError({"user": "Only members of this organization can be added."})
            services.workspace_member_add(
                actor=Actor.from_request(request),
                workspace=workspace,
                user=user,
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return dialog_done(
                request,
                redirect_to=reverse("workspaces:workspace_members", args=[workspace.public_id]),
                message=f"{user.email} was added to {workspace.name}.",
                events=(Event.WORKSPACE_MEMBERS_CHANGED,),
            )
    context = {
        "workspace": workspace,
        "access": access,
        "form": form,
        "candidates": selectors.addable_members(workspace, search),
        "search": search,
        "selected": form["user"].value() or "",
        "role_choices": ROLE_CHOICES,
    }
    if request.htmx and request.htmx.target == "member-candidates":
        return render_page(
            request, "workspaces/workspace_member_add_dialog.html", context, partial="candidates"
        )
    return render_dialog(
        request,
        "workspaces/workspace_member_add_dialog.html",
        context,
        cancel_url=reverse("workspaces:workspace_members", args=[workspace.public_id]),
    )


def _row_response(
    request: ConsoleRequest,
    workspace: Workspace,
    access: Access,
    user: User,
    error: str | None,
    saved: str,
) -> HttpResponse:
    """The member's row as saved, with `error` next to the role if the change was refused,
    else a toast saying `saved`."""
    rows = [row for row in selectors.workspace_members(workspace) if row.user.pk == user.pk]
    if request.htmx and rows:
        context = {
            **tab_context(workspace, access, "workspaces:workspace_members"),
            "row": rows[0],
            "row_error": error,
            "role_choices": ROLE_CHOICES,
        }
        response = render_page(
            request, "workspaces/workspace_members.html", context, partial="member_row"
        )
        if error is None:
            trigger_client_event(response, Event.TOAST, {"value": saved})
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, saved)
    return redirect("workspaces:workspace_members", workspace.public_id)


@require_POST
def workspace_member_change_role(
    request: ConsoleRequest, workspace_id: str, user_id: str
) -> HttpResponse:
    workspace, access = workspace_access(request.member, workspace_id, "members.manage")
    user = _org_user_or_404(workspace, user_id)
    form = WorkspaceMemberRoleForm(request.POST)
    error = None
    saved = ""
    if not form.is_valid():
        error = "Choose one of the workspace roles listed."
    else:
        role = form.cleaned_data["role"]
        try:
            services.workspace_member_change_role(
                actor=Actor.from_request(request), workspace=workspace, user=user, role=role
            )
        except ValidationError as problem:
            error = " ".join(problem.messages)
        else:
            saved = f"{user.email} is now {WorkspaceRole(role).label} in {workspace.name}."
    return _row_response(request, workspace, access, user, error, saved)


@require_http_methods(["GET", "POST"])
def workspace_member_remove(
    request: ConsoleRequest, workspace_id: str, user_id: str
) -> HttpResponse:
    workspace, _access = workspace_access(request.member, workspace_id, "members.manage")
    user = _org_user_or_404(workspace, user_id)
    return confirm_action(
        request,
        perform=lambda: services.workspace_member_remove(
            actor=Actor.from_request(request), workspace=workspace, user=user
        ),
        template_name="workspaces/workspace_member_remove_dialog.html",
        context={"workspace": workspace, "member_user": user},
        cancel_url=reverse("workspaces:workspace_members", args=[workspace.public_id]),
        message=f"{user.email} was removed from {workspace.name}.",
        events=(Event.WORKSPACE_MEMBERS_CHANGED,),
    )
