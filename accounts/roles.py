"""The roles of organization members and workspace members.

Roles are data; what each may do is decided in `workspaces.access`.
"""

from django.db import models


class OrgRole(models.TextChoices):
    USER = "user", "User"
    # Anthropic's role for people who use Claude Code; in the console it may do what a
    # user may.
    CLAUDE_CODE_USER = "claude_code_user", "Claude Code User"
    DEVELOPER = "developer", "Developer"
    BILLING = "billing", "Billing"
    ADMIN = "admin", "Admin"


class WorkspaceRole(models.TextChoices):
    USER = "workspace_user", "Workspace User"
    RESTRICTED_DEVELOPER = "workspace_restricted_developer", "Workspace Limited Developer"
    DEVELOPER = "workspace_developer", "Workspace Developer"
    ADMIN = "workspace_admin", "Workspace Admin"
    BILLING = "workspace_billing", "Workspace Billing"


# Roles that can be given to a workspace member by hand; Workspace Billing is only ever
# inherited from the organization's Billing role.
ASSIGNABLE_WORKSPACE_ROLES = [
    WorkspaceRole.USER,
    WorkspaceRole.RESTRICTED_DEVELOPER,
    WorkspaceRole.DEVELOPER,
    WorkspaceRole.ADMIN,
]

# Organization roles that grant a workspace role in every workspace of the organization.
INHERITED_WORKSPACE_ROLE: dict[str, str] = {
    OrgRole.ADMIN: WorkspaceRole.ADMIN,
    OrgRole.BILLING: WorkspaceRole.BILLING,
}
# The organization roles that take part in every workspace (admins and billing members).
INHERITING_ORG_ROLES = frozenset(INHERITED_WORKSPACE_ROLE)

# In the Default workspace every member of the organization takes part with the workspace
# counterpart of their organization role.
DEFAULT_WORKSPACE_ROLE: dict[str, str] = {
    OrgRole.USER: WorkspaceRole.USER,
    OrgRole.CLAUDE_CODE_USER: WorkspaceRole.USER,
    OrgRole.DEVELOPER: WorkspaceRole.DEVELOPER,
    OrgRole.BILLING: WorkspaceRole.BILLING,
    OrgRole.ADMIN: WorkspaceRole.ADMIN,
}
