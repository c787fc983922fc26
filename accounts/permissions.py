"""Who may do what: the one place that maps roles to capabilities.

Code asks for a capability ("keys.create"), never for a role name. A member's principals
are their organization role (``org:admin``) and, inside a workspace, their effective
workspace role (``ws:workspace_admin``); a capability is granted when any principal is in
its row of `CAPABILITIES`. Anything not listed is denied.

Views, templates, Django admin actions and the Admin API all go through `Access`.
Objects of another organization are never looked up at all (404); a member who lacks a
capability gets `PermissionDenied` (403).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from accounts.roles import (
    DEFAULT_WORKSPACE_ROLE,
    INHERITED_WORKSPACE_ROLE,
    OrgRole,
    WorkspaceRole,
)

if TYPE_CHECKING:
    from accounts.models import OrganizationMember


def _org(*roles: OrgRole) -> set[str]:
    return {f"org:{role}" for role in roles}


def _ws(*roles: WorkspaceRole) -> set[str]:
    return {f"ws:{role}" for role in roles}


ALL_ORG_ROLES = tuple(OrgRole)
WS_ADMIN = WorkspaceRole.ADMIN
WS_BILLING = WorkspaceRole.BILLING
WS_DEVELOPERS = (WorkspaceRole.DEVELOPER, WorkspaceRole.RESTRICTED_DEVELOPER)

CAPABILITIES: dict[str, frozenset[str]] = {
    name: frozenset(principals)
    for name, principals in {
        # Organization level.
        "org.view": _org(*ALL_ORG_ROLES),
        "org.edit": _org(OrgRole.ADMIN),
        "org.members.view": _org(*ALL_ORG_ROLES),
        "org.members.manage": _org(OrgRole.ADMIN),
        "org.invites.manage": _org(OrgRole.ADMIN),
        "adminkeys.manage": _org(OrgRole.ADMIN),
        "audit.view": _org(OrgRole.ADMIN),
        "workspace.create": _org(OrgRole.ADMIN),
        # Usage and cost of every workspace; others see those of workspaces where they hold
        # usage.view / cost.view.
        "usage.view.all": _org(OrgRole.DEVELOPER, OrgRole.BILLING, OrgRole.ADMIN),
        "cost.view.all": _org(OrgRole.DEVELOPER, OrgRole.BILLING, OrgRole.ADMIN),
        "workspace.archive": _org(OrgRole.ADMIN),
        "limits.increase_requests.manage": _org(OrgRole.ADMIN),
        # Workspace level: asked with the member's effective role in that workspace.
        "workspace.view": _ws(*WorkspaceRole),
        "workspace.edit": _org(OrgRole.ADMIN) | _ws(WS_ADMIN),
        "members.view": _ws(WS_ADMIN, WS_BILLING, *WS_DEVELOPERS),
        "members.manage": _org(OrgRole.ADMIN) | _ws(WS_ADMIN),
        "keys.view": _org(OrgRole.ADMIN) | _ws(WS_ADMIN, *WS_DEVELOPERS),
        "keys.create": _org(OrgRole.ADMIN) | _ws(WS_ADMIN, *WS_DEVELOPERS),
        "keys.manage": _org(OrgRole.ADMIN) | _ws(WS_ADMIN, *WS_DEVELOPERS),
        "limits.view": _org(OrgRole.ADMIN, OrgRole.BILLING)
        | _ws(WS_ADMIN, WS_BILLING, WorkspaceRole.DEVELOPER),
        "limits.edit": _org(OrgRole.ADMIN) | _ws(WS_ADMIN),
        # Those who see a workspace's limits but cannot change them ask for more.
        "limits.request_increase": _ws(WS_BILLING, WorkspaceRole.DEVELOPER),
        "usage.view": _org(OrgRole.DEVELOPER, OrgRole.BILLING, OrgRole.ADMIN)
        | _ws(WS_ADMIN, WS_BILLING),
        "cost.view": _org(OrgRole.DEVELOPER, OrgRole.BILLING, OrgRole.ADMIN)
        | _ws(WS_ADMIN, WS_BILLING),
    }.items()
}

# Capabilities that only make sense inside one workspace: asking them without a workspace
# role would grant them organization-wide, so `Access.can` refuses to.
WORKSPACE_CAPABILITIES = frozenset(
    name
    for name, principals in CAPABILITIES.items()
    if any(p.startswith("ws:") for p in principals)
)


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


@dataclass(frozen=True)
class Access:
    """What one organization member may do, optionally inside one workspace."""

    member: "OrganizationMember"
    workspace_role: str | None = None

    @property
    def principals(self) -> frozenset[str]:
        principals = {f"org:{self.member.role}"}
        if self.workspace_role:
            principals.add(f"ws:{self.workspace_role}")
        return frozenset(principals)

    def can(self, capability: str) -> bool:
        granted = CAPABILITIES.get(capability)
        if granted is None:
            return False
        if capability in WORKSPACE_CAPABILITIES and self.workspace_role is None:
            return False
        return bool(granted & self.principals)

    def require(self, capability: str) -> None:
        if not self.can(capability):
            raise PermissionDenied(f"Your role does not allow {capability}.")


def capability_holders(capability: str) -> frozenset[str]:
    """The principals granted `capability` (for documentation and tests)."""
    return CAPABILITIES.get(capability, frozenset())


def organization_access(
    member: "OrganizationMember | None", capability: str | None = None
) -> Access:
    """The access of the current member in their organization, requiring `capability`.

    No membership at all is a 404: there is no organization here for this user.
    """
    from django.http import Http404

    if member is None:
        raise Http404("You are not a member of any organization.")
    access = Access(member)
    if capability is not None:
        access.require(capability)
    return access


def default_workspace_access(member: "OrganizationMember") -> Access:
    """The member's access as in the Default workspace, where every member takes part with
    their organization role's counterpart: how organization-wide pages of workspace
    capabilities (Settings > Limits) are asked."""
    return Access(member, effective_workspace_role(member.role, None, is_default_workspace=True))
