"""Settings > Members: the organization's members, their roles, and invites."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
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
from workspaces.selectors import role_change_effects


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


ROLE_CHOICE_ERROR = f"Choose one of the roles: {', '.join(str(label) for label in OrgRole.labels)}."


def _asks_first(member: OrganizationMember, role: str) -> bool:
    """Becoming an admin grants every workspace and the organization's settings; no longer
    being one takes them away and stops the Admin keys they created. Both are confirmed."""
    return OrgRole.ADMIN in (member.role, role) and member.role != role


def _role_change_context(member: OrganizationMember, role: str) -> dict:
    stops_being_admin = member.role == OrgRole.ADMIN and role != OrgRole.ADMIN
    admin_keys = len(services.working_admin_keys(member)) if stops_being_admin else 0
    return {
        "m": member,
        "role": role,
        "role_label": OrgRole(role).label,
        "effects": role_change_effects(member, role),
        "admin_keys": admin_keys,
    }


def _role_changed_message(member: OrganizationMember, role: str, admin_keys: int) -> str:
    message = f"{member.user.email} is now {OrgRole(role).label}."
    if role == OrgRole.ADMIN:
        message += " They are Workspace Admin in every workspace."
    if admin_keys:
        message += (
            f" {admin_keys} Admin key{'s' if admin_keys != 1 else ''} they created stopped working."
        )
    return message


def _member_row(
    request: ConsoleRequest, access: Access, member: OrganizationMember, error: str | None
) -> HttpResponse:
    return render_page(
        request,
        "workspaces/organization_members.html",
        {"access": access, "m": member, "row_error": error, "role_form": MemberRoleForm()},
        partial="member_row",
    )


@require_http_methods(["GET", "POST"])
def member_change_role(request: ConsoleRequest, user_id: str) -> HttpResponse:
    """The role select: other roles are saved as chosen; becoming or no longer being an admin
    is confirmed first in a dialog (also its own URL, `?role=`) that says what changes."""
    access = organization_access(request.member, "org.members.manage")
    member = _member(access, user_id)
    data = request.POST if request.method == "POST" else request.GET
    form = MemberRoleForm(data)
    cancel_url = reverse("workspaces:organization_members")
    if not form.is_valid():
        if request.method == "GET":
            return HttpResponseBadRequest(ROLE_CHOICE_ERROR, content_type="text/plain")
        if request.htmx:
            return _member_row(request, access, member, ROLE_CHOICE_ERROR)
        messages.error(request, ROLE_CHOICE_ERROR)
        return redirect("workspaces:organization_members")
    role = form.cleaned_data["role"]
    confirmed = data.get("confirm") == "yes"

    def change() -> None:
        services.member_change_role(actor=Actor.from_request(request), member=member, role=role)

    if request.method == "GET" or confirmed:
        context = _role_change_context(member, role)
        return confirm_action(
            request,
            perform=change,
            template_name="workspaces/member_change_role_dialog.html",
            context=context,
            cancel_url=cancel_url,
            message=_role_changed_message(member, role, context["admin_keys"]),
            events=(Event.MEMBERS_CHANGED,),
        )
    if _asks_first(member, role):
        response = render_dialog(
            request,
            "workspaces/member_change_role_dialog.html",
            _role_change_context(member, role),
            cancel_url=cancel_url,
        )
        if request.htmx:
            retarget(response, "#modal")
            reswap(response, "innerHTML")
            # The list shows the role as it still is while the dialog asks.
            trigger_client_event(response, Event.MEMBERS_CHANGED)
        return response
    error = None
    try:
        change()
    except ValidationError as problem:
        error = " ".join(problem.messages)
        member.refresh_from_db()
    message = _role_changed_message(member, role, 0)
    if request.htmx:
        response = _member_row(request, access, member, error)
        if error is None:
            trigger_client_event(response, Event.TOAST, {"value": message})
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, message)
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
    # Invited already: the dialog offers to send that invite again.
    typed = str(form.data.get("email", "")).strip().lower()
    pending_invite = (
        Invite.objects.filter(organization=access.member.organization, email=typed)
        .pending()
        .first()
        if typed and form.has_error("email")
        else None
    )
    return render_dialog(
        request,
        "workspaces/invite_create_dialog.html",
        {"form": form, "pending_invite": pending_invite},
        cancel_url=reverse("workspaces:organization_members"),
    )


def _invite(access: Access, invite_id: str) -> Invite:
    invite = (
        Invite.objects.filter(organization=access.member.organization, public_id=invite_id)
        .select_related("organization", "invited_by")
        .first()
    )
    if invite is None:
        raise Http404("No such invite.")
    return invite


@require_http_methods(["GET", "POST"])
def invite_resend(request: ConsoleRequest, invite_id: str) -> HttpResponse:
    """The Resend action: a new e-mail with a new link (the old one stops working),
    confirmed in a dialog; the invite dialog's "Resend invite" posts here at once."""
    access = organization_access(request.member, "org.invites.manage")
    invite = _invite(access, invite_id)
    return confirm_action(
        request,
        perform=lambda: services.invite_resend(actor=Actor.from_request(request), invite=invite),
        template_name="workspaces/invite_resend_dialog.html",
        context={"invite": invite},
        cancel_url=reverse("workspaces:organization_members"),
        message=f"Invite sent again to {invite.email}. The link sent before no longer works.",
        events=(Event.MEMBERS_CHANGED,),
    )


@require_http_methods(["GET", "POST"])
def invite_revoke(request: ConsoleRequest, invite_id: str) -> HttpResponse:
    access = organization_access(request.member, "org.invites.manage")
    invite = _invite(access, invite_id)
    return confirm_action(
        request,
        perform=lambda: services.invite_revoke(actor=Actor.from_request(request), invite=invite),
        template_name="workspaces/invite_revoke_dialog.html",
        context={"invite": invite},
        cancel_url=reverse("workspaces:organization_members"),
        message=f"The invite for {invite.email} was revoked.",
        events=(Event.MEMBERS_CHANGED,),
    )
