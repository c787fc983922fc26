"""Admin API: the organization, its users and invites.

Shapes follow the `anthropic` SDK's `OrganizationInfo`, `OrganizationUser` and
`OrganizationInvite`; every write is a service call, so the pages' rules hold here too.
"""

from typing import TYPE_CHECKING, Literal

from django.db.models import QuerySet
from django.http import Http404
from ninja import Query, Router
from ninja.pagination import paginate
from pydantic import Field

from accounts import selectors, services
from accounts.admin_api import AdminApiRequest, actor, organization
from accounts.models import (
    LISTED_INVITE_STATUSES,
    Invite,
    InviteStatus,
    Organization,
    OrganizationMember,
)
from accounts.roles import OrgRole
from console.pagination import IdPagination
from console.schemas import Body, ObjectOut, Out, SafeText, Timestamp, choices

router = Router(tags=["Organization"])

if TYPE_CHECKING:
    Role = str
    AssignableRole = str
    ListedInviteStatus = str
    InviteStatusValue = str
else:
    Role = choices(OrgRole)
    # Anthropic's Admin API never makes anyone an admin.
    AssignableRole = choices(OrgRole, exclude=[OrgRole.ADMIN])
    ListedInviteStatus = choices(LISTED_INVITE_STATUSES)
    InviteStatusValue = choices(InviteStatus)


class OrganizationOut(ObjectOut):
    type: Literal["organization"] = "organization"
    id: str
    name: str

    @classmethod
    def from_object(cls, obj: Organization) -> dict:
        return {"id": str(obj.id), "name": obj.name}


class UserOut(ObjectOut):
    type: Literal["user"] = "user"
    id: str
    email: str
    name: str
    role: Role
    added_at: Timestamp

    @classmethod
    def from_object(cls, obj: OrganizationMember) -> dict:
        return {
            "id": obj.user.public_id,
            "email": obj.user.email,
            "name": obj.user.name,
            "role": obj.role,
            "added_at": obj.created_at,
        }


class UserUpdate(Body):
    role: AssignableRole


class UserDeleted(Out):
    id: str
    type: Literal["user_deleted"] = "user_deleted"


class InviteOut(ObjectOut):
    type: Literal["invite"] = "invite"
    id: str
    email: str
    role: Role
    status: InviteStatusValue
    invited_at: Timestamp
    expires_at: Timestamp
    accepted_at: Timestamp | None
    rbac_group_ids: list[str] = Field(
        default_factory=list, description="Always empty: Console has no RBAC groups."
    )

    @classmethod
    def from_object(cls, obj: Invite) -> dict:
        return {
            "id": obj.public_id,
            "email": obj.email,
            "role": obj.role,
            "status": obj.current_status(),
            "invited_at": obj.created_at,
            "expires_at": obj.expires_at,
            "accepted_at": obj.accepted_at,
        }


class InviteCreate(Body):
    email: SafeText
    role: AssignableRole
    rbac_group_ids: list[SafeText] = Field(
        default_factory=list, description="Console has no RBAC groups: leave it empty."
    )


class InviteDeleted(Out):
    id: str
    type: Literal["invite_deleted"] = "invite_deleted"


@router.get("/me", response=OrganizationOut, summary="The Admin key's organization")
def organization_retrieve(request: AdminApiRequest):
    return organization(request)


@router.get("/users", response=list[UserOut], summary="List users")
@paginate(IdPagination, key="user__public_id")
def user_list(
    request: AdminApiRequest,
    email: SafeText | None = None,
    roles: list[Role] | None = Query(None, alias="roles[]"),
) -> QuerySet[OrganizationMember]:
    members = OrganizationMember.objects.filter(organization=organization(request)).select_related(
        "user"
    )
    if email:
        members = members.filter(user__email__iexact=email.strip())
    if roles:
        members = members.filter(role__in=roles)
    return members


def _member(request: AdminApiRequest, user_id: str) -> OrganizationMember:
    member = (
        OrganizationMember.objects.filter(
            organization=organization(request), user__public_id=user_id
        )
        .select_related("user", "organization")
        .first()
    )
    if member is None:
        raise Http404(f"No user {user_id} in this organization.")
    return member


@router.get("/users/{user_id}", response=UserOut, summary="Get a user")
def user_retrieve(request: AdminApiRequest, user_id: str):
    return _member(request, user_id)


@router.post("/users/{user_id}", response=UserOut, summary="Change a user's role")
def user_update(request: AdminApiRequest, user_id: str, payload: UserUpdate):
    return services.member_change_role(
        actor=actor(request), member=_member(request, user_id), role=payload.role
    )


@router.post(
    "/users/{user_id}/sign_out",
    response=UserOut,
    summary="Sign a user out everywhere",
    description="Ends every sign-in session of theirs; they stay a member with their role, "
    "and their API keys keep working. The Admin key's own creator cannot be signed out.",
)
def user_sign_out(request: AdminApiRequest, user_id: str):
    return services.member_sign_out(actor=actor(request), member=_member(request, user_id))


@router.delete("/users/{user_id}", response=UserDeleted, summary="Remove a user")
def user_remove(request: AdminApiRequest, user_id: str):
    member = _member(request, user_id)
    services.member_remove(actor=actor(request), member=member)
    return {"id": member.user.public_id}


@router.get("/invites", response=list[InviteOut], summary="List invites")
@paginate(IdPagination)
def invite_list(
    request: AdminApiRequest,
    email: SafeText | None = None,
    roles: list[Role] | None = Query(None, alias="roles[]"),
    statuses: list[ListedInviteStatus] | None = Query(
        None,
        alias="statuses[]",
        description="Defaults to pending, accepted and expired (revoked invites are left out).",
    ),
) -> QuerySet[Invite]:
    return selectors.invites(
        organization(request), statuses=statuses or (), email=email or "", roles=roles or ()
    )


@router.post("/invites", response=InviteOut, summary="Invite someone")
def invite_create(request: AdminApiRequest, payload: InviteCreate):
    invite, _token = services.invite_create(
        actor=actor(request),
        organization=organization(request),
        email=payload.email,
        role=payload.role,
        rbac_group_ids=payload.rbac_group_ids,
    )
    return invite


def _invite(request: AdminApiRequest, invite_id: str) -> Invite:
    found = (
        Invite.objects.filter(organization=organization(request), public_id=invite_id)
        .select_related("organization")
        .first()
    )
    if found is None:
        raise Http404(f"No invite {invite_id}.")
    return found


@router.get("/invites/{invite_id}", response=InviteOut, summary="Get an invite")
def invite_retrieve(request: AdminApiRequest, invite_id: str):
    return _invite(request, invite_id)


@router.delete("/invites/{invite_id}", response=InviteDeleted, summary="Delete a pending invite")
def invite_delete(request: AdminApiRequest, invite_id: str):
    invite = services.invite_revoke(actor=actor(request), invite=_invite(request, invite_id))
    return {"id": invite.public_id}
