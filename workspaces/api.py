"""Admin API: workspaces, their members, and API keys.

Shapes follow the `anthropic` SDK's `Workspace`, `WorkspaceMember` and `APIKey`. Creating
a key in a workspace is beyond Anthropic's API: its answer carries the secret, once.
"""

from typing import TYPE_CHECKING, Literal

from django.db.models import QuerySet
from django.http import Http404
from ninja import Field, Query, Router
from ninja.pagination import paginate

from accounts.admin_api import AdminApiRequest, actor, organization
from accounts.models import KeyStatus, OrganizationMember, User
from accounts.roles import OrgRole, WorkspaceRole
from console.pagination import IdPagination
from console.schemas import Body, InputTime, Name, ObjectOut, Out, SafeText, Timestamp, choices
from workspaces import services
from workspaces.models import (
    ROUTABLE_INFERENCE_GEOS,
    ApiKey,
    Workspace,
    WorkspaceGeo,
    WorkspaceMember,
)

router = Router(tags=["Workspaces"])

MAX_IDS = 100

if TYPE_CHECKING:
    Geo = str
    DataGeo = str
    MemberRole = str
    AssignableMemberRole = str
    KeyStatusValue = str
    KeyStatusChange = str
else:
    Geo = choices(ROUTABLE_INFERENCE_GEOS)
    DataGeo = choices(WorkspaceGeo)
    MemberRole = choices(WorkspaceRole)
    # Workspace Billing comes only from the organization's Billing role.
    AssignableMemberRole = choices(WorkspaceRole, exclude=[WorkspaceRole.BILLING])
    KeyStatusValue = choices(KeyStatus)
    KeyStatusChange = choices(KeyStatus, exclude=[KeyStatus.EXPIRED])


# -- Workspaces -------------------------------------------------------------------------------


class DataResidencyOut(Out):
    workspace_geo: DataGeo
    allowed_inference_geos: list[Geo] | Literal["unrestricted"]
    default_inference_geo: Geo


class WorkspaceOut(ObjectOut):
    type: Literal["workspace"] = "workspace"
    id: str
    name: str
    display_color: str
    created_at: Timestamp
    archived_at: Timestamp | None
    tags: dict[str, str]
    data_residency: DataResidencyOut
    compartment_id: str
    external_key_id: str | None
    user_profile_id: str | None

    @classmethod
    def from_object(cls, obj: Workspace) -> dict:
        return {
            "id": obj.public_id,
            "name": obj.name,
            "display_color": obj.display_color,
            "created_at": obj.created_at,
            "archived_at": obj.archived_at,
            "tags": obj.tags,
            "data_residency": {
                "workspace_geo": obj.workspace_geo,
                "allowed_inference_geos": obj.allowed_inference_geos or "unrestricted",
                "default_inference_geo": obj.default_inference_geo,
            },
            "compartment_id": obj.compartment_id,
            "external_key_id": obj.external_key_id or None,
            "user_profile_id": obj.user_profile_id or None,
        }


class DataResidencyChange(Body):
    allowed_inference_geos: list[Geo] | Literal["unrestricted"] | None = None
    default_inference_geo: Geo | None = None


class DataResidencyCreate(DataResidencyChange):
    workspace_geo: DataGeo | None = None


class WorkspaceCreate(Body):
    name: Name
    display_color: SafeText | None = None
    tags: dict[SafeText, SafeText] | None = None
    data_residency: DataResidencyCreate | None = None
    external_key_id: SafeText | None = None
    user_profile_id: SafeText | None = None


class WorkspaceUpdate(Body):
    name: Name | None = None
    display_color: SafeText | None = None
    tags: dict[SafeText, SafeText | None] | None = Field(
        None, description="Tags to set; a null value removes that tag."
    )
    data_residency: DataResidencyChange | None = None
    external_key_id: SafeText | None = None
    user_profile_id: SafeText | None = None


def get_workspace(request: AdminApiRequest, workspace_id: str) -> Workspace:
    workspace = (
        Workspace.objects.filter(organization=organization(request), public_id=workspace_id)
        .select_related("organization")
        .first()
    )
    if workspace is None:
        raise Http404(f"No workspace {workspace_id}.")
    return workspace


@router.get("/workspaces", response=list[WorkspaceOut], summary="List workspaces")
@paginate(IdPagination)
def workspace_list(
    request: AdminApiRequest,
    include_archived: bool = False,
    include_default: bool = False,
    ids: list[SafeText] | None = Query(
        None, alias="ids[]", max_length=MAX_IDS, description="Only these workspaces (up to 100)."
    ),
) -> QuerySet[Workspace]:
    workspaces = Workspace.objects.filter(organization=organization(request))
    if not include_archived:
        workspaces = workspaces.active()
    if not include_default:
        workspaces = workspaces.filter(is_default=False)
    if ids:
        workspaces = workspaces.filter(public_id__in=ids)
    return workspaces


@router.post("/workspaces", response=WorkspaceOut, summary="Create a workspace")
def workspace_create(request: AdminApiRequest, payload: WorkspaceCreate):
    residency = payload.data_residency or DataResidencyCreate()
    return services.workspace_create(
        actor=actor(request),
        organization=organization(request),
        name=payload.name,
        display_color=payload.display_color,
        tags=payload.tags,
        allowed_inference_geos=residency.allowed_inference_geos,
        default_inference_geo=residency.default_inference_geo,
        workspace_geo=residency.workspace_geo,
        external_key_id=payload.external_key_id,
        user_profile_id=payload.user_profile_id,
    )


@router.get("/workspaces/{workspace_id}", response=WorkspaceOut, summary="Get a workspace")
def workspace_retrieve(request: AdminApiRequest, workspace_id: str):
    return get_workspace(request, workspace_id)


@router.post("/workspaces/{workspace_id}", response=WorkspaceOut, summary="Update a workspace")
def workspace_edit(request: AdminApiRequest, workspace_id: str, payload: WorkspaceUpdate):
    residency = payload.data_residency or DataResidencyChange()
    return services.workspace_edit(
        actor=actor(request),
        workspace=get_workspace(request, workspace_id),
        name=payload.name,
        display_color=payload.display_color,
        tags=payload.tags,
        allowed_inference_geos=residency.allowed_inference_geos,
        default_inference_geo=residency.default_inference_geo,
        external_key_id=payload.external_key_id,
        user_profile_id=payload.user_profile_id,
    )


@router.post(
    "/workspaces/{workspace_id}/archive",
    response=WorkspaceOut,
    summary="Archive a workspace and its API keys (cannot be undone)",
)
def workspace_archive(request: AdminApiRequest, workspace_id: str):
    return services.workspace_archive(
        actor=actor(request), workspace=get_workspace(request, workspace_id)
    )


# -- Members ----------------------------------------------------------------------------------


class MemberOut(ObjectOut):
    type: Literal["workspace_member"] = "workspace_member"
    user_id: str
    workspace_id: str
    workspace_role: MemberRole

    @classmethod
    def from_object(cls, obj: WorkspaceMember) -> dict:
        return {
            "user_id": obj.user.public_id,
            "workspace_id": obj.workspace.public_id,
            "workspace_role": obj.role,
        }


class MemberAdd(Body):
    user_id: SafeText
    workspace_role: AssignableMemberRole


class MemberUpdate(Body):
    workspace_role: AssignableMemberRole


class MemberDeleted(Out):
    type: Literal["workspace_member_deleted"] = "workspace_member_deleted"
    user_id: str
    workspace_id: str


def _org_user(request: AdminApiRequest, user_id: str) -> User:
    member = (
        OrganizationMember.objects.filter(
            organization=organization(request), user__public_id=user_id
        )
        .select_related("user")
        .first()
    )
    if member is None:
        raise Http404(f"No user {user_id} in this organization.")
    return member.user


def _membership(request: AdminApiRequest, workspace_id: str, user_id: str) -> WorkspaceMember:
    membership = (
        WorkspaceMember.objects.filter(
            workspace__organization=organization(request),
            workspace__public_id=workspace_id,
            user__public_id=user_id,
        )
        .select_related("user", "workspace__organization")
        .first()
    )
    if membership is None:
        get_workspace(request, workspace_id)
        raise Http404(f"{user_id} is not a member of this workspace.")
    return membership


@router.get(
    "/workspaces/{workspace_id}/members",
    response=list[MemberOut],
    summary="List a workspace's members",
    description="Explicit members; organization admins, members of every workspace, are left out.",
)
@paginate(IdPagination, key="user__public_id")
def workspace_member_list(request: AdminApiRequest, workspace_id: str) -> QuerySet[WorkspaceMember]:
    workspace = get_workspace(request, workspace_id)
    admins = OrganizationMember.objects.filter(
        organization=organization(request), role=OrgRole.ADMIN
    ).values("user_id")
    return (
        WorkspaceMember.objects.filter(workspace=workspace)
        .exclude(user_id__in=admins)
        .select_related("user", "workspace")
    )


@router.post("/workspaces/{workspace_id}/members", response=MemberOut, summary="Add a member")
def workspace_member_add(request: AdminApiRequest, workspace_id: str, payload: MemberAdd):
    return services.workspace_member_add(
        actor=actor(request),
        workspace=get_workspace(request, workspace_id),
        user=_org_user(request, payload.user_id),
        role=payload.workspace_role,
    )


@router.get(
    "/workspaces/{workspace_id}/members/{user_id}", response=MemberOut, summary="Get a member"
)
def workspace_member_retrieve(request: AdminApiRequest, workspace_id: str, user_id: str):
    return _membership(request, workspace_id, user_id)


@router.post(
    "/workspaces/{workspace_id}/members/{user_id}",
    response=MemberOut,
    summary="Change a member's workspace role",
)
def workspace_member_update(
    request: AdminApiRequest, workspace_id: str, user_id: str, payload: MemberUpdate
):
    membership = _membership(request, workspace_id, user_id)
    return services.workspace_member_change_role(
        actor=actor(request),
        workspace=membership.workspace,
        user=membership.user,
        role=payload.workspace_role,
    )


@router.delete(
    "/workspaces/{workspace_id}/members/{user_id}",
    response=MemberDeleted,
    summary="Remove a member",
)
def workspace_member_remove(request: AdminApiRequest, workspace_id: str, user_id: str):
    membership = _membership(request, workspace_id, user_id)
    services.workspace_member_remove(
        actor=actor(request), workspace=membership.workspace, user=membership.user
    )
    return {"user_id": user_id, "workspace_id": membership.workspace.public_id}


# -- API keys ---------------------------------------------------------------------------------


class CreatedBy(Out):
    id: str
    type: Literal["user"] = "user"


class UserActor(Out):
    type: Literal["user_actor"] = "user_actor"
    user_id: str


class WorkspaceScope(Out):
    type: Literal["workspace"] = "workspace"
    workspace_id: str


class ApiKeyOut(ObjectOut):
    type: Literal["api_key"] = "api_key"
    id: str
    name: str
    status: KeyStatusValue
    created_at: Timestamp
    created_by: CreatedBy | None
    partial_key_hint: str | None
    workspace_id: str | None = Field(
        description="Deprecated: the key's workspace, null for the Default workspace; read "
        "scope.workspace_id instead."
    )
    expires_at: Timestamp | None
    scope: WorkspaceScope
    principal: UserActor | None

    @classmethod
    def from_object(cls, obj: ApiKey) -> dict:
        creator = obj.created_by.public_id if obj.created_by else None
        return {
            "id": obj.public_id,
            "name": obj.name,
            "status": obj.current_status(),
            "created_at": obj.created_at,
            "created_by": {"id": creator} if creator else None,
            "partial_key_hint": obj.hint,
            "workspace_id": None if obj.workspace.is_default else obj.workspace.public_id,
            "expires_at": obj.expires_at,
            "scope": {"workspace_id": obj.workspace.public_id},
            "principal": {"user_id": creator} if creator else None,
        }


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret, shown in this answer only.")

    @classmethod
    def from_object(cls, obj: ApiKey) -> dict:
        return {**ApiKeyOut.from_object(obj), "key": obj.secret}  # type: ignore[attr-defined]


class ApiKeyCreate(Body):
    name: Name
    expires_at: InputTime | None = None


class ApiKeyUpdate(Body):
    name: Name | None = None
    status: KeyStatusChange | None = Field(None, description="archived deletes the key for good.")


class ApiKeyDeleted(Out):
    id: str
    type: Literal["api_key_deleted"] = "api_key_deleted"


@router.get("/api_keys", response=list[ApiKeyOut], summary="List API keys")
@paginate(IdPagination)
def api_key_list(
    request: AdminApiRequest,
    status: KeyStatusValue | None = None,
    workspace_id: SafeText | None = None,
    created_by_user_id: SafeText | None = None,
) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.filter(organization=organization(request)).select_related(
        "workspace", "created_by"
    )
    if status:
        keys = keys.with_status(status)
    if workspace_id:
        keys = keys.filter(workspace__public_id=workspace_id)
    if created_by_user_id:
        keys = keys.filter(created_by__public_id=created_by_user_id)
    return keys


def _key(request: AdminApiRequest, api_key_id: str) -> ApiKey:
    key = (
        ApiKey.objects.filter(organization=organization(request), public_id=api_key_id)
        .select_related("workspace__organization", "created_by")
        .first()
    )
    if key is None:
        raise Http404(f"No API key {api_key_id}.")
    return key


@router.get("/api_keys/{api_key_id}", response=ApiKeyOut, summary="Get an API key")
def api_key_retrieve(request: AdminApiRequest, api_key_id: str):
    return _key(request, api_key_id)


@router.post(
    "/api_keys/{api_key_id}",
    response=ApiKeyOut,
    summary="Rename, enable, disable or delete an API key",
    description="All of the change is made, or none of it. Keys never move between workspaces.",
)
def api_key_update(request: AdminApiRequest, api_key_id: str, payload: ApiKeyUpdate):
    services.api_key_update(
        actor=actor(request),
        key=_key(request, api_key_id),
        name=payload.name,
        status=payload.status,
    )
    return _key(request, api_key_id)


@router.delete(
    "/api_keys/{api_key_id}", response=ApiKeyDeleted, summary="Delete an API key for good"
)
def api_key_delete(request: AdminApiRequest, api_key_id: str):
    key = services.api_key_delete(actor=actor(request), key=_key(request, api_key_id))
    return {"id": key.public_id}


@router.post(
    "/workspaces/{workspace_id}/api_keys",
    response=ApiKeyCreated,
    summary="Create an API key in a workspace",
    description="Beyond Anthropic's API. The answer's `key` is the secret, shown this once.",
)
def workspace_api_key_create(request: AdminApiRequest, workspace_id: str, payload: ApiKeyCreate):
    key, secret = services.api_key_create(
        actor=actor(request),
        workspace=get_workspace(request, workspace_id),
        name=payload.name,
        expires_at=payload.expires_at,
    )
    created = _key(request, key.public_id)
    created.secret = secret  # type: ignore[attr-defined]
    return created
