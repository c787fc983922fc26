"""Admin API: workspaces, their members, and API keys."""

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.admin_api import admin_api, body_field, choices_error, deleted, paginate
from accounts.models import KeyStatus, OrganizationMember, User
from accounts.roles import ASSIGNABLE_WORKSPACE_ROLES, OrgRole, WorkspaceRole
from console.api import ApiError, query_bool, rfc3339
from workspaces import services
from workspaces.models import ApiKey, Workspace, WorkspaceMember

ROLES = [role.value for role in ASSIGNABLE_WORKSPACE_ROLES]


def workspace_json(workspace: Workspace) -> dict:
    return {
        "type": "workspace",
        "id": workspace.public_id,
        "name": workspace.name,
        "display_color": workspace.display_color,
        "created_at": rfc3339(workspace.created_at),
        "archived_at": rfc3339(workspace.archived_at),
    }


def member_json(member: WorkspaceMember) -> dict:
    return {
        "type": "workspace_member",
        "user_id": member.user.public_id,
        "workspace_id": member.workspace.public_id,
        "workspace_role": member.role,
    }


def api_key_json(key: ApiKey) -> dict:
    workspace_id = None if key.workspace.is_default else key.workspace.public_id
    return {
        "type": "api_key",
        "id": key.public_id,
        "name": key.name,
        "status": key.current_status(),
        "created_at": rfc3339(key.created_at),
        "created_by": {"id": key.created_by.public_id if key.created_by else None, "type": "user"},
        "partial_key_hint": key.hint,
        "workspace_id": workspace_id,
        "expires_at": rfc3339(key.expires_at),
        "scope": {"type": "workspace", "workspace_id": workspace_id},
    }


def get_workspace(request: HttpRequest, workspace_id: str) -> Workspace:
    workspace = (
        Workspace.objects.filter(
            organization=request.admin_key.organization, public_id=workspace_id
        )
        .select_related("organization")
        .first()
    )
    if workspace is None:
        raise Http404(f"No workspace {workspace_id}.")
    return workspace


@admin_api("GET", "POST")
def workspaces(request: HttpRequest) -> dict:
    organization = request.admin_key.organization
    if request.method == "POST":
        name = body_field(request, "name", str)
        color = body_field(request, "display_color", str, required=False)
        workspace = services.workspace_create(
            actor=request.actor,
            organization=organization,
            name=name,
            display_color=color or "#D97757",
        )
        return workspace_json(workspace)
    found = Workspace.objects.filter(organization=organization)
    if not query_bool(request, "include_archived"):
        found = found.active()
    if not query_bool(request, "include_default"):
        found = found.filter(is_default=False)
    return paginate(
        request, found, key="public_id", serialize=workspace_json, id_of=lambda w: w.public_id
    )


@admin_api("GET", "POST")
def workspace(request: HttpRequest, workspace_id: str) -> dict:
    found = get_workspace(request, workspace_id)
    if request.method == "POST":
        found = services.workspace_update(
            actor=request.actor,
            workspace=found,
            name=body_field(request, "name", str, required=False),
            display_color=body_field(request, "display_color", str, required=False),
        )
    return workspace_json(found)


@admin_api("POST")
def workspace_archive(request: HttpRequest, workspace_id: str) -> dict:
    return workspace_json(
        services.workspace_archive(
            actor=request.actor, workspace=get_workspace(request, workspace_id)
        )
    )


def _org_user(request: HttpRequest, user_id: str) -> User:
    member = (
        OrganizationMember.objects.filter(
            organization=request.admin_key.organization, user__public_id=user_id
        )
        .select_related("user")
        .first()
    )
    if member is None:
        raise Http404(f"No user {user_id} in this organization.")
    return member.user


def _role(request: HttpRequest) -> str:
    role = body_field(request, "workspace_role", str)
    if role == WorkspaceRole.BILLING:
        raise ApiError(
            400,
            "invalid_request_error",
            "workspace_billing is granted only by the organization's billing role.",
        )
    if role not in ROLES:
        raise choices_error("workspace_role", ROLES)
    return role


@admin_api("GET", "POST")
def members(request: HttpRequest, workspace_id: str) -> dict:
    found = get_workspace(request, workspace_id)
    if request.method == "POST":
        user = _org_user(request, body_field(request, "user_id", str))
        role = _role(request)
        if WorkspaceMember.objects.filter(workspace=found, user=user).exists():
            raise ApiError(
                400,
                "invalid_request_error",
                f"{user.public_id} is already a member of this workspace.",
                error_code="already_member",
            )
        member = services.workspace_member_add(
            actor=request.actor, workspace=found, user=user, role=role
        )
        return member_json(member)
    # Members who only inherit their role from the organization are not listed.
    inheriting = OrganizationMember.objects.filter(
        organization=request.admin_key.organization, role__in=[OrgRole.ADMIN]
    ).values("user_id")
    listed = (
        WorkspaceMember.objects.filter(workspace=found)
        .exclude(user_id__in=inheriting)
        .select_related("user", "workspace")
    )
    return paginate(
        request,
        listed,
        key="user__public_id",
        serialize=member_json,
        id_of=lambda m: m.user.public_id,
    )


@admin_api("GET", "POST", "DELETE")
def member(request: HttpRequest, workspace_id: str, user_id: str) -> dict:
    found = get_workspace(request, workspace_id)
    user = _org_user(request, user_id)
    if request.method == "POST":
        role = _role(request)
        if not WorkspaceMember.objects.filter(workspace=found, user=user).exists():
            raise Http404(f"{user_id} is not a member of this workspace.")
        membership = services.workspace_member_change_role(
            actor=request.actor, workspace=found, user=user, role=role
        )
        return member_json(membership)
    if request.method == "DELETE":
        if not WorkspaceMember.objects.filter(workspace=found, user=user).exists():
            raise Http404(f"{user_id} is not a member of this workspace.")
        services.workspace_member_remove(actor=request.actor, workspace=found, user=user)
        return deleted("workspace_member", user_id=user.public_id, workspace_id=found.public_id)
    membership = (
        WorkspaceMember.objects.filter(workspace=found, user=user)
        .select_related("user", "workspace")
        .first()
    )
    if membership is None:
        raise Http404(f"{user_id} is not a member of this workspace.")
    return member_json(membership)


@admin_api("GET")
def api_keys(request: HttpRequest) -> dict:
    organization = request.admin_key.organization
    keys = ApiKey.objects.filter(organization=organization).select_related(
        "workspace", "created_by"
    )
    if status := request.GET.get("status"):
        now = timezone.now()
        if status == KeyStatus.EXPIRED:
            keys = keys.exclude(status=KeyStatus.ARCHIVED).filter(expires_at__lte=now)
        elif status in (KeyStatus.ACTIVE, KeyStatus.INACTIVE):
            keys = keys.filter(status=status).exclude(expires_at__lte=now)
        elif status == KeyStatus.ARCHIVED:
            keys = keys.filter(status=status)
        else:
            raise choices_error("status", KeyStatus.values)
    if workspace_id := request.GET.get("workspace_id"):
        keys = keys.filter(workspace__public_id=workspace_id)
    if creator := request.GET.get("created_by_user_id"):
        keys = keys.filter(created_by__public_id=creator)
    return paginate(
        request, keys, key="public_id", serialize=api_key_json, id_of=lambda k: k.public_id
    )


def _key(request: HttpRequest, api_key_id: str) -> ApiKey:
    key = (
        ApiKey.objects.filter(organization=request.admin_key.organization, public_id=api_key_id)
        .select_related("workspace__organization", "created_by")
        .first()
    )
    if key is None:
        raise Http404(f"No API key {api_key_id}.")
    return key


@admin_api("GET", "POST", "DELETE")
def api_key(request: HttpRequest, api_key_id: str) -> dict:
    key = _key(request, api_key_id)
    if request.method == "DELETE":
        services.api_key_delete(actor=request.actor, key=key)
        return deleted("api_key", id=key.public_id)
    if request.method == "POST":
        body = request.json
        if "workspace_id" in body:
            raise ApiError(
                400, "invalid_request_error", "API keys cannot move to another workspace."
            )
        if (name := body_field(request, "name", str, required=False)) is not None:
            key = services.api_key_rename(actor=request.actor, key=key, name=name)
        if (status := body_field(request, "status", str, required=False)) is not None:
            if status == KeyStatus.ARCHIVED:
                key = services.api_key_delete(actor=request.actor, key=key)
            elif status in (KeyStatus.ACTIVE, KeyStatus.INACTIVE):
                key = services.api_key_set_status(actor=request.actor, key=key, status=status)
            else:
                raise choices_error(
                    "status", [KeyStatus.ACTIVE, KeyStatus.INACTIVE, KeyStatus.ARCHIVED]
                )
        key.refresh_from_db()
    return api_key_json(key)


@admin_api("POST")
def workspace_api_keys(request: HttpRequest, workspace_id: str) -> dict:
    """Create a key in the workspace (beyond Anthropic's API). The secret is in this answer only."""
    found = get_workspace(request, workspace_id)
    name = body_field(request, "name", str)
    expires = body_field(request, "expires_at", str, required=False)
    expires_at = None
    if expires is not None:
        expires_at = parse_datetime(expires)
        if expires_at is None or expires_at.tzinfo is None:
            raise ApiError(
                400,
                "invalid_request_error",
                "expires_at: expected an RFC 3339 time with a time zone.",
            )
    key, secret = services.api_key_create(
        actor=request.actor, workspace=found, name=name, expires_at=expires_at
    )
    key = ApiKey.objects.select_related("workspace", "created_by").get(pk=key.pk)
    return {**api_key_json(key), "key": secret}
