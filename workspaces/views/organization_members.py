"""Settings > Members: the organization's members, their roles, and invites."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from accounts import selectors, services
from accounts.audit import Actor
from accounts.forms import InviteForm, MemberRoleForm
from accounts.http import ConsoleRequest
from accounts.models import Invite, OrganizationMember
from accounts.roles import OrgRole
from console.forms import add_service_errors
from console.htmx import Event, confirm_action, dialog_done, render_dialog, render_page
from workspaces.access import Access, organization_access


def _members_context(access: Access) -> dict:
    organization = access.member.organization
    return {
        "access": access,
        "members": selectors.organization_members(organization),
        "invites": selectors.pending_invites(organization)
        if access.can("org.invites.manage")
        else [],
        "role_form": MemberRoleForm(),
    }


@require_GET
def organization_members(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "org.members.view")
    return render_page(
        request, "workspaces/organization_members.html", _members_context(access), partial="lists"
    )


def _member(access: Access, user_id: str) -> OrganizationMember:
    return get_object_or_404(
        OrganizationMember.objects.select_related("user", "organization"),
        organization=access.member.organization,
        user__public_id=user_id,
    )


def _confirm_demotion(
    request: ConsoleRequest, member: OrganizationMember, role: str, admin_keys: int
) -> HttpResponse:
    """Demoting an admin stops the Admin keys they created: say how many, and ask first."""
    response = render_dialog(
        request,
        "workspaces/member_change_role_dialog.html",
        {"m": member, "role": role, "role_label": OrgRole(role).label, "admin_keys": admin_keys},
        cancel_url=reverse("workspaces:organization_members"),
    )
    if request.htmx:
        retarget(response, "#modal")
        reswap(response, "innerHTML")
        # The list shows the role as it still is while the dialog asks.
        trigger_client_event(response, Event.MEMBERS_CHANGED)
    return response


@require_POST
def member_change_role(request: ConsoleRequest, user_id: str) -> HttpResponse:
    access = organization_access(request.member, "org.members.manage")
    member = _member(access, user_id)
    form = MemberRoleForm(request.POST)
    error = None
    confirmed = request.POST.get("confirm") == "yes"
    if form.is_valid() and member.role == OrgRole.ADMIN != form.cleaned_data["role"]:
        admin_keys = len(services.working_admin_keys(member))
        if admin_keys and not confirmed:
            return _confirm_demotion(request, member, form.cleaned_data["role"], admin_keys)
        if confirmed:
            return confirm_action(
                request,
                perform=lambda: services.member_change_role(
                    actor=Actor.from_request(request), member=member, role=form.cleaned_data["role"]
                ),
                template_name="workspaces/member_change_role_dialog.html",
                context={
                    "m": member,
                    "role": form.cleaned_data["role"],
                    "role_label": OrgRole(form.cleaned_data["role"]).label,
                    "admin_keys": admin_keys,
                },
                cancel_url=reverse("workspaces:organization_members"),
                message=f"{member.user.email} is now {OrgRole(form.cleaned_data['role']).label}; "
                f"{admin_keys} Admin key{'s' if admin_keys != 1 else ''} they created stopped working.",
                events=(Event.MEMBERS_CHANGED,),
            )
    if form.is_valid():
        try:
            services.member_change_role(
                actor=Actor.from_request(request), member=member, role=form.cleaned_data["role"]
            )
        except ValidationError as problem:
            error = " ".join(problem.messages)
            member.refresh_from_db()
    else:
        error = "Choose one of the roles: User, Developer, Billing, Admin."
    if request.htmx:
        return render_page(
            request,
            "workspaces/organization_members.html",
            {"access": access, "m": member, "row_error": error, "role_form": MemberRoleForm()},
            partial="member_row",
            status=200,
        )
    if error:
        messages.error(request, error)
    return redirect("workspaces:organization_members")


@require_http_methods(["GET", "POST"])
def member_remove(request: ConsoleRequest, user_id: str) -> HttpResponse:
    access = organization_access(request.member, "org.members.manage")
    member = _member(access, user_id)
    admin_keys = len(services.working_admin_keys(member)) if member.role == OrgRole.ADMIN else 0
    stopped = (
        f" {admin_keys} Admin key{'s' if admin_keys != 1 else ''} they created stopped working."
        if admin_keys
        else ""
    )
    return confirm_action(
        request,
        perform=lambda: services.member_remove(actor=Actor.from_request(request), member=member),
        template_name="workspaces/member_remove_dialog.html",
        context={"m": member, "admin_keys": admin_keys},
        cancel_url=reverse("workspaces:organization_members"),
        message=f"{member.user.email} was removed from the organization.{stopped}",
        events=(Event.MEMBERS_CHANGED,),
    )


@require_http_methods(["GET", "POST"])
def invite_create(request: ConsoleRequest) -> HttpResponse:
    access = organization_access(request.member, "org.invites.manage")
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invite, _token = services.invite_create(
                actor=Actor.from_request(request),
                organization=access.member.organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return dialog_done(
                request,
                redirect_to=reverse("workspaces:organization_members"),
                message=f"Invite sent to {invite.email}.",
                events=(Event.MEMBERS_CHANGED,),
            )
    return render_dialog(
        request,
        "workspaces/invite_create_dialog.html",
        {"form": form},
        cancel_url=reverse("workspaces:organization_members"),
    )


@require_http_methods(["GET", "POST"])
def invite_revoke(request: ConsoleRequest, invite_id: str) -> HttpResponse:
    access = organization_access(request.member, "org.invites.manage")
    invite = Invite.objects.filter(
        organization=access.member.organization, public_id=invite_id
    ).first()
    if invite is None:
        raise Http404("No such invite.")
    return confirm_action(
        request,
        perform=lambda: services.invite_revoke(actor=Actor.from_request(request), invite=invite),
        template_name="workspaces/invite_revoke_dialog.html",
        context={"invite": invite},
        cancel_url=reverse("workspaces:organization_members"),
        message=f"The invite for {invite.email} was revoked.",
        events=(Event.MEMBERS_CHANGED,),
    )
