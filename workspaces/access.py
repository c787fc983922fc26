"""Who may do what, where, now: the one place that decides every permission.

Code asks for a capability by name ("keys.create"), never for a role. A principal is an
organization role (``org:admin``), an effective workspace role inside one workspace
(``ws:workspace_admin``), or ``staff`` (the operator's staff in the Django admin). A
capability is granted when one of the asker's principals is in its row of `CAPABILITIES`;
anything not listed is denied. The workspace's state then narrows what is granted: an
archived workspace allows only `READ_CAPABILITIES`, the Default workspace none of
`DEFAULT_WORKSPACE_REFUSALS`.

Pages ask it for the signed-in member through the resolvers below, which look the object up
inside the member's organization (another organization's object is a 404) and require a
capability (a member without it gets a 403). Templates ask the same `Access` with
`{% if access|can:"workspace.edit" %}`. The Django admin asks `staff_access` before it calls
a service, so workspace state binds staff as it binds members.

It also holds the tables built from capabilities: the Settings sidebar and the workspace
page's tabs. It lives in `workspaces` because the resolvers read workspaces, their members
and API keys; every module that asks it sits in `workspaces` or `billing`.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Q
from django.http import Http404
from django.urls import reverse

from accounts.models import OrganizationMember, User
from accounts.roles import (
    DEFAULT_WORKSPACE_ROLE,
    INHERITED_WORKSPACE_ROLE,
    INHERITING_ORG_ROLES,
    OrgRole,
    WorkspaceRole,
)
from workspaces.models import ApiKey, Workspace, WorkspaceMember

STAFF = "staff"


def _org(*roles: OrgRole) -> set[str]:
    return {f"org:{role}" for role in roles}


def _ws(*roles: WorkspaceRole) -> set[str]:
    return {f"ws:{role}" for role in roles}


ORG_ADMIN = _org(OrgRole.ADMIN)
WS_ADMIN = WorkspaceRole.ADMIN
WS_BILLING = WorkspaceRole.BILLING
WS_DEVELOPERS = (WorkspaceRole.DEVELOPER, WorkspaceRole.RESTRICTED_DEVELOPER)
REPORT_READERS = _org(OrgRole.DEVELOPER, OrgRole.BILLING, OrgRole.ADMIN)

CAPABILITIES: dict[str, frozenset[str]] = {
    name: frozenset(principals)
    for name, principals in {
        # Organization level.
        "org.view": _org(*OrgRole),
        "org.edit": ORG_ADMIN | {STAFF},
        "org.members.view": _org(*OrgRole),
        "org.members.manage": ORG_ADMIN | {STAFF},
        "org.invites.manage": ORG_ADMIN | {STAFF},
        "org.limits.view": _org(OrgRole.ADMIN, OrgRole.BILLING, OrgRole.DEVELOPER),
        "org.limits.edit": ORG_ADMIN,
        # The tier, its cap and rate limit overrides are the operator's to set.
        "org.limits.override": {STAFF},
        "adminkeys.manage": ORG_ADMIN | {STAFF},
        "audit.view": ORG_ADMIN,
        "gateway_tokens.manage": {STAFF},
        # The model servers behind the gateway and the routes to them.
        "gateway.routes.manage": {STAFF},
        "workspace.create": ORG_ADMIN,
        "workspace.archive": ORG_ADMIN | {STAFF},
        "limits.increase_requests.manage": ORG_ADMIN,
        # The keys, usage and cost of every workspace at once; others see those of the
        # workspaces where they hold keys.view, usage.view or cost.view.
        "keys.view.all": ORG_ADMIN,
        "usage.view.all": REPORT_READERS,
        "cost.view.all": REPORT_READERS,
        # Workspace level: asked with the member's effective role in that workspace.
        "workspace.view": _ws(*WorkspaceRole),
        "workspace.edit": ORG_ADMIN | _ws(WS_ADMIN) | {STAFF},
        "members.view": _ws(WS_ADMIN, WS_BILLING, *WS_DEVELOPERS),
        "members.manage": ORG_ADMIN | _ws(WS_ADMIN),
        "keys.view": ORG_ADMIN | _ws(WS_ADMIN, *WS_DEVELOPERS),
        "keys.create": ORG_ADMIN | _ws(WS_ADMIN, *WS_DEVELOPERS),
        "keys.manage": ORG_ADMIN | _ws(WS_ADMIN, *WS_DEVELOPERS) | {STAFF},
        "limits.view": _org(OrgRole.ADMIN, OrgRole.BILLING)
        | _ws(WS_ADMIN, WS_BILLING, WorkspaceRole.DEVELOPER),
        "limits.edit": ORG_ADMIN | _ws(WS_ADMIN),
        # Those who see a workspace's limits but cannot change them ask for more.
        "limits.request_increase": _ws(WS_BILLING, WorkspaceRole.DEVELOPER),
        "usage.view": REPORT_READERS | _ws(WS_ADMIN, WS_BILLING),
        "cost.view": REPORT_READERS | _ws(WS_ADMIN, WS_BILLING),
    }.items()
}

# Capabilities that only make sense inside one workspace: asked outside any workspace they
# would be granted organization-wide, so they are denied there.
WORKSPACE_CAPABILITIES = frozenset(
    name
    for name, principals in CAPABILITIES.items()
    if any(principal.startswith("ws:") for principal in principals)
)

# The capability that covers every workspace at once, for those asked across workspaces.
EVERY_WORKSPACE = {
    "keys.view": "keys.view.all",
    "usage.view": "usage.view.all",
    "cost.view": "cost.view.all",
}

# What an archived workspace still grants: it is kept for its history, read-only.
READ_CAPABILITIES = frozenset(
    {"workspace.view", "members.view", "keys.view", "limits.view", "usage.view", "cost.view"}
)
ARCHIVED_REFUSALS = {
    "workspace.archive": "This workspace is already archived.",
    "workspace.edit": "This workspace is archived and can no longer be edited.",
    "keys.create": "This workspace is archived and can no longer be given new API keys.",
}
ARCHIVED_REFUSAL = "This workspace is archived and can no longer be changed."

# What the Default workspace refuses, and why: it keeps its name and colour, exists as long
# as its organization, takes every member in with their organization role, and has no limits
# of its own.
DEFAULT_WORKSPACE_REFUSALS = {
    "workspace.edit": "The Default workspace cannot be edited.",
    "workspace.archive": "The Default workspace cannot be archived.",
    "members.manage": "Every member of the organization takes part in the Default workspace "
    "through their organization role; it has no members of its own.",
    "limits.edit": "The Default workspace has no limits of its own; the organization's apply.",
    "limits.request_increase": "The Default workspace has no spend limit of its own: the "
    "organization's applies.",
}


def effective_workspace_role(
    org_role: str, explicit_role: str | None, *, is_default_workspace: bool
) -> str | None:
    """The workspace role a member holds: the higher of inherited and explicit.

    Organization admins are Workspace Admin everywhere; billing members are Workspace Billing
    everywhere unless made Workspace Admin of a workspace. In the Default workspace every
    member takes part with their organization role's counterpart. `None`: no access.
    """
    inherited = INHERITED_WORKSPACE_ROLE.get(org_role)
    if inherited == WorkspaceRole.ADMIN or explicit_role == WorkspaceRole.ADMIN:
        return WorkspaceRole.ADMIN
    if inherited is not None:
        return inherited
    if explicit_role is not None:
        return explicit_role
    if is_default_workspace:
        return DEFAULT_WORKSPACE_ROLE[org_role]
    return None


def inherited_workspace_role(org_role: str) -> str | None:
    """The workspace role an organization role grants in every workspace, if any."""
    return INHERITED_WORKSPACE_ROLE.get(org_role)


def _granted(capability: str, principals: frozenset[str], *, in_workspace: bool) -> bool:
    granted = CAPABILITIES.get(capability)
    if granted is None:
        return False
    if capability in WORKSPACE_CAPABILITIES and not in_workspace:
        return False
    return bool(granted & principals)


def _state_refusal(capability: str, workspace: Workspace | None) -> str | None:
    if workspace is None:
        return None
    if workspace.is_archived and capability not in READ_CAPABILITIES:
        return ARCHIVED_REFUSALS.get(capability, ARCHIVED_REFUSAL)
    if workspace.is_default:
        return DEFAULT_WORKSPACE_REFUSALS.get(capability)
    return None


def organization_roles_with(capability: str) -> list[str]:
    """The organization roles that grant `capability` by themselves: who is asked or told
    about what it covers."""
    granted = CAPABILITIES.get(capability, frozenset())
    return [role.value for role in OrgRole if f"org:{role.value}" in granted]


def ensure_state_allows(capability: str, workspace: Workspace) -> None:
    """Refuse (a ValidationError saying why) what `workspace`'s state forbids now. Services
    ask it of the row they hold locked, so archiving cannot slip in between."""
    reason = _state_refusal(capability, workspace)
    if reason is not None:
        raise ValidationError(reason)


class BaseAccess(ABC):
    """What `Access` and `StaffAccess` share: the table, then the workspace's state.

    `can` answers "may they, here and now" (templates and lists ask it). `require` refuses
    (403) only what the principal's roles do not grant: a change the workspace's state refuses
    goes on to the service, which explains why where the person is looking.
    """

    workspace: Workspace | None

    @property
    @abstractmethod
    def principals(self) -> frozenset[str]: ...

    @property
    @abstractmethod
    def in_workspace(self) -> bool: ...

    def grants(self, capability: str) -> bool:
        """Whether the principal's roles grant `capability`, whatever the workspace's state."""
        return _granted(capability, self.principals, in_workspace=self.in_workspace)

    def refusal(self, capability: str) -> str | None:
        """Why the workspace's state refuses `capability` now, if it does."""
        return _state_refusal(capability, self.workspace)

    def can(self, capability: str) -> bool:
        return self.grants(capability) and self.refusal(capability) is None

    def require(self, capability: str) -> None:
        if not self.grants(capability):
            raise PermissionDenied(f"Your role does not allow {capability}.")


@dataclass(frozen=True)
class Access(BaseAccess):
    """What one organization member may do: in their organization, or inside `workspace` with
    `workspace_role`, their effective role there (None: they have no access to it)."""

    member: OrganizationMember
    workspace: Workspace | None = None
    workspace_role: str | None = None

    @property
    def principals(self) -> frozenset[str]:
        principals = {f"org:{self.member.role}"}
        if self.workspace_role:
            principals.add(f"ws:{self.workspace_role}")
        return frozenset(principals)

    @property
    def in_workspace(self) -> bool:
        return self.workspace_role is not None


@dataclass(frozen=True)
class StaffAccess(BaseAccess):
    """What the operator's staff may do in the Django admin, inside `workspace` if given."""

    workspace: Workspace | None = None

    @property
    def principals(self) -> frozenset[str]:
        return frozenset({STAFF})

    @property
    def in_workspace(self) -> bool:
        return self.workspace is not None


# -- Resolvers --------------------------------------------------------------------------------


def organization_access(member: OrganizationMember | None, capability: str | None = None) -> Access:
    """The member's access in their organization, requiring `capability` (403 without).

    No membership at all is a 404: there is no organization here for this user.
    """
    if member is None:
        raise Http404("You are not a member of any organization.")
    access = Access(member)
    if capability is not None:
        access.require(capability)
    return access


def visible_to(member: OrganizationMember) -> Q:
    """The workspaces a member can see: every one for roles that take part in all of them,
    else the Default workspace and those where they are an explicit member."""
    if member.role in INHERITING_ORG_ROLES:
        return Q()
    return Q(is_default=True) | Q(members__user_id=member.user_id)


def viewer_role(member: OrganizationMember) -> Any:
    """The member's explicit role in the workspace of the outer query, for `annotate`."""
    return WorkspaceMember.objects.filter(workspace=OuterRef("pk"), user_id=member.user_id).values(
        "role"
    )[:1]


def access_in(
    member: OrganizationMember, workspace: Workspace, explicit_role: str | None
) -> Access:
    """The member's access in `workspace`, where their explicit role is `explicit_role` (as
    read with `viewer_role`)."""
    role = effective_workspace_role(
        member.role, explicit_role, is_default_workspace=workspace.is_default
    )
    return Access(member, workspace, role)


def workspace_access(
    member: OrganizationMember | None, workspace_id: str, capability: str | None = None
) -> tuple[Workspace, Access]:
    """The workspace `workspace_id` of the member's organization and the member's access in
    it, requiring `capability` there.

    A workspace of another organization, or one the member cannot see, is a 404; a member
    whose role there lacks `capability` gets a 403.
    """
    member = organization_access(member).member
    workspace = (
        Workspace.objects.filter(organization_id=member.organization_id, public_id=workspace_id)
        .annotate(viewer_role=viewer_role(member))
        .first()
    )
    if workspace is None:
        raise Http404("No such workspace.")
    access = access_in(member, workspace, workspace.viewer_role)
    if access.workspace_role is None:
        raise Http404("No such workspace.")
    if capability is not None:
        access.require(capability)
    return workspace, access


def api_key_access(
    member: OrganizationMember | None, key_id: str, capability: str
) -> tuple[ApiKey, Access]:
    """The API key `key_id` of the member's organization and the member's access in its
    workspace, requiring `capability` there: 404 for other organizations' keys and for keys
    of workspaces the member cannot see, 403 without `capability`."""
    member = organization_access(member).member
    key = (
        ApiKey.objects.filter(organization_id=member.organization_id, public_id=key_id)
        .select_related("workspace", "created_by")
        .first()
    )
    if key is None:
        raise Http404("No such API key.")
    workspace, access = workspace_access(member, key.workspace.public_id, capability)
    key.workspace = workspace
    return key, access


@dataclass(frozen=True)
class WorkspaceScope:
    """The workspaces a member holds a capability in, archived ones included. `every`: all
    of the organization's, so lists need not be limited to `workspaces`."""

    workspaces: list[Workspace]
    every: bool
    accesses: dict[int, Access]

    def access(self, workspace: Workspace) -> Access:
        return self.accesses[workspace.pk]


def workspace_scope(member: OrganizationMember | None, capability: str) -> WorkspaceScope:
    """Where the member holds `capability` (one of `EVERY_WORKSPACE`), archived workspaces
    included: every workspace when their organization role covers them all, else those where
    their role there grants it; a 403 when there are none. Default first, then by name."""
    member = organization_access(member).member
    every = Access(member).can(EVERY_WORKSPACE[capability])
    workspaces = Workspace.objects.filter(organization_id=member.organization_id)
    if not every:
        workspaces = workspaces.filter(visible_to(member))
    annotated = workspaces.annotate(viewer_role=viewer_role(member)).order_by(
        "-is_default", "name", "id"
    )
    accesses = {w.pk: access_in(member, w, w.viewer_role) for w in annotated}
    listed: list[Workspace] = [access.workspace for access in accesses.values() if access.workspace]
    if not every:
        listed = [workspace for workspace in listed if accesses[workspace.pk].can(capability)]
        if not listed:
            raise PermissionDenied(f"Your role does not allow {capability} in any workspace.")
    return WorkspaceScope(listed, every=every, accesses=accesses)


def workspace_roles_anywhere(member: OrganizationMember) -> set[str]:
    """Every workspace role the member holds in an active workspace (one query)."""
    roles = {effective_workspace_role(member.role, None, is_default_workspace=True)}
    explicit = WorkspaceMember.objects.filter(
        workspace__organization_id=member.organization_id,
        workspace__archived_at__isnull=True,
        user_id=member.user_id,
    ).values_list("role", flat=True)
    for role in set(explicit):
        roles.add(effective_workspace_role(member.role, role, is_default_workspace=False))
    return {role for role in roles if role is not None}


def can_anywhere(
    member: OrganizationMember,
    capability: str,
    roles: Callable[[], set[str]] | None = None,
) -> bool:
    """Whether the member holds a workspace capability in at least one active workspace.

    The Default workspace, where every member takes part, is asked first, so most members
    cost no query; `roles` can supply a memoized `workspace_roles_anywhere`.
    """
    baseline = effective_workspace_role(member.role, None, is_default_workspace=True)
    if Access(member, workspace_role=baseline).can(capability):
        return True
    held = roles() if roles is not None else workspace_roles_anywhere(member)
    return any(Access(member, workspace_role=role).can(capability) for role in held)


def staff_access(user: User | AnonymousUser, workspace: Workspace | None = None) -> StaffAccess:
    """The access of a staff member of the operator in the Django admin (403 for anyone
    else), inside `workspace` if given."""
    if not (user.is_active and user.is_staff):
        raise PermissionDenied("Only staff can use the admin.")
    return StaffAccess(workspace)


# -- The tables built from capabilities ------------------------------------------------------


@dataclass(frozen=True)
class SidebarItem:
    label: str
    url_name: str
    capability: str
    # Asked of any active workspace the member takes part in, not of the organization role.
    anywhere: bool = False


# The Settings sidebar, in order. Items the member may not use are left out.
SIDEBAR = [
    SidebarItem("Organization", "billing:organization", "org.view"),
    SidebarItem("Members", "workspaces:organization_members", "org.members.view"),
    SidebarItem("Workspaces", "workspaces:workspace_list", "org.view"),
    SidebarItem("API Keys", "workspaces:api_key_list", "keys.view", anywhere=True),
    SidebarItem("Admin Keys", "workspaces:admin_key_list", "adminkeys.manage"),
    SidebarItem("Limits", "billing:organization_limits", "org.limits.view"),
    SidebarItem("Usage", "billing:usage", "usage.view", anywhere=True),
    SidebarItem("Cost", "billing:cost", "cost.view", anywhere=True),
    SidebarItem("Audit log", "workspaces:audit_log", "audit.view"),
]


def sidebar(access: Access, path: str) -> list[dict[str, Any]]:
    """The items the member may use, marked `current` when `path` is under them."""
    roles = cache(lambda: workspace_roles_anywhere(access.member))
    items = []
    for item in SIDEBAR:
        if item.anywhere:
            visible = can_anywhere(access.member, item.capability, roles)
        else:
            visible = access.can(item.capability)
        if visible:
            url = reverse(item.url_name)
            items.append({"label": item.label, "url": url, "current": path.startswith(url)})
    return items


@dataclass(frozen=True)
class Tab:
    label: str
    url_name: str
    capability: str


# The workspace page's tabs, in order; each shows only to members with its capability.
WORKSPACE_TABS = [
    Tab("Members", "workspaces:workspace_members", "members.view"),
    Tab("API Keys", "workspaces:workspace_keys", "keys.view"),
    Tab("Limits", "billing:workspace_limits", "limits.view"),
]


def workspace_tabs(workspace: Workspace, access: Access) -> list[dict[str, str]]:
    """The tabs of `workspace` the member may open, in the same order in every workspace."""
    return [
        {
            "label": tab.label,
            "url": reverse(tab.url_name, args=[workspace.public_id]),
            "name": tab.url_name,
        }
        for tab in WORKSPACE_TABS
        if access.can(tab.capability)
    ]


def tab_context(workspace: Workspace, access: Access, current_tab: str) -> dict[str, Any]:
    """What every tab of the workspace page renders its header and tabs with."""
    return {
        "workspace": workspace,
        "access": access,
        "tabs": workspace_tabs(workspace, access),
        "current_tab": current_tab,
    }
