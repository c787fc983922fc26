"""Admin API: the organization, its users and invites."""

from django.http import Http404, HttpRequest

from accounts import services
from accounts.admin_api import admin_api, body_field, choices_error, deleted, paginate
from accounts.models import Invite, InviteStatus, OrganizationMember
from accounts.roles import OrgRole
from console.api import ApiError, query_list, rfc3339

ASSIGNABLE_BY_API = [OrgRole.USER, OrgRole.DEVELOPER, OrgRole.BILLING]


def organization_json(organization) -> dict:
    return {"type": "organization", "id": str(organization.id), "name": organization.name}


def user_json(member: OrganizationMember) -> dict:
    return {
        "type": "user",
        "id": member.user.public_id,
        "email": member.user.email,
        "name": member.user.name,
        "role": member.role,
        "added_at": rfc3339(member.created_at),
    }


def invite_json(invite: Invite) -> dict:
    return {
        "type": "invite",
        "id": invite.public_id,
        "email": invite.email,
        "role": invite.role,
        "status": invite.current_status(),
        "invited_at": rfc3339(invite.created_at),
        "expires_at": rfc3339(invite.expires_at),
    }


@admin_api("GET")
def me(request: HttpRequest) -> dict:
    return organization_json(request.admin_key.organization)


@admin_api("GET")
def users(request: HttpRequest) -> dict:
    members = OrganizationMember.objects.filter(
        organization=request.admin_key.organization
    ).select_related("user")
    if email := request.GET.get("email"):
        members = members.filter(user__email__iexact=email.strip())
    if roles := query_list(request, "roles"):
        unknown = set(roles) - set(OrgRole.values)
        if unknown:
            raise choices_error("roles", OrgRole.values)
        members = members.filter(role__in=roles)
    return paginate(
        request,
        members,
        key="user__public_id",
        serialize=user_json,
        id_of=lambda m: m.user.public_id,
    )


def _member(request: HttpRequest, user_id: str) -> OrganizationMember:
    member = (
        OrganizationMember.objects.filter(
            organization=request.admin_key.organization, user__public_id=user_id
        )
        .select_related("user", "organization")
        .first()
    )
    if member is None:
        raise Http404(f"No user {user_id} in this organization.")
    return member


@admin_api("GET", "POST", "DELETE")
def user(request: HttpRequest, user_id: str) -> dict:
    member = _member(request, user_id)
    if request.method == "POST":
        role = body_field(request, "role", str)
        if role not in ASSIGNABLE_BY_API:
            raise choices_error("role", ASSIGNABLE_BY_API)
        if member.role == OrgRole.ADMIN:
            raise ApiError(
                400,
                "invalid_request_error",
                "The role of an admin cannot be changed through the Admin API.",
            )
        member = services.member_change_role(actor=request.actor, member=member, role=role)
    elif request.method == "DELETE":
        if member.role == OrgRole.ADMIN:
            raise ApiError(
                400, "invalid_request_error", "Admins cannot be removed through the Admin API."
            )
        if OrganizationMember.objects.filter(organization=member.organization).count() <= 1:
            raise ApiError(
                400,
                "invalid_request_error",
                "The last member of an organization cannot be removed.",
                error_code="cannot_remove_last_member",
            )
        services.member_remove(actor=request.actor, member=member)
        return deleted("user", id=member.user.public_id)
    return user_json(member)


@admin_api("GET", "POST")
def invites(request: HttpRequest) -> dict:
    organization = request.admin_key.organization
    if request.method == "POST":
        email = body_field(request, "email", str)
        role = body_field(request, "role", str)
        if role not in ASSIGNABLE_BY_API:
            raise choices_error("role", ASSIGNABLE_BY_API)
        normalized = email.strip().lower()
        if OrganizationMember.objects.filter(
            organization=organization, user__email=normalized
        ).exists():
            raise ApiError(
                400,
                "invalid_request_error",
                f"{normalized} is already a member of this organization.",
                error_code="already_member",
            )
        if Invite.objects.filter(organization=organization, email=normalized).pending().exists():
            raise ApiError(
                400,
                "invalid_request_error",
                f"{normalized} already has a pending invite.",
                error_code="invite_already_exists",
            )
        invite, _token = services.invite_create(
            actor=request.actor, organization=organization, email=email, role=role
        )
        return invite_json(invite)
    return paginate(
        request,
        Invite.objects.filter(organization=organization),
        key="public_id",
        serialize=invite_json,
        id_of=lambda invite: invite.public_id,
    )


@admin_api("GET", "DELETE")
def invite(request: HttpRequest, invite_id: str) -> dict:
    found = (
        Invite.objects.filter(organization=request.admin_key.organization, public_id=invite_id)
        .select_related("organization")
        .first()
    )
    if found is None:
        raise Http404(f"No invite {invite_id}.")
    if request.method == "DELETE":
        status = found.current_status()
        if status != InviteStatus.PENDING:
            raise ApiError(
                400, "invalid_request_error", f"This invite is {status} and cannot be deleted."
            )
        services.invite_revoke(actor=request.actor, invite=found)
        return deleted("invite", id=found.public_id)
    return invite_json(found)
