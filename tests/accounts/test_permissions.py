"""The capability table of design.md section 2, role by role."""

import pytest

from accounts.models import OrganizationMember
from accounts.permissions import CAPABILITIES, Access, effective_workspace_role
from accounts.roles import OrgRole, WorkspaceRole

A, B, D, U = OrgRole.ADMIN, OrgRole.BILLING, OrgRole.DEVELOPER, OrgRole.USER
CC = OrgRole.CLAUDE_CODE_USER  # may do in the console what a user may

# capability -> organization roles that hold it at organization level.
ORG_LEVEL = {
    "org.view": {A, B, D, U, CC},
    "org.edit": {A},
    "org.members.view": {A, B, D, U, CC},
    "org.members.manage": {A},
    "org.invites.manage": {A},
    "adminkeys.manage": {A},
    "audit.view": {A},
    "workspace.create": {A},
    "workspace.archive": {A},
    "limits.increase_requests.manage": {A},
    "usage.view.all": {A, B, D},
    "cost.view.all": {A, B, D},
}

WA = WorkspaceRole.ADMIN
WB = WorkspaceRole.BILLING
WD = WorkspaceRole.DEVELOPER
WR = WorkspaceRole.RESTRICTED_DEVELOPER
WU = WorkspaceRole.USER

# capability -> workspace roles that hold it inside a workspace, for an org user/developer
# (whose organization role adds nothing of its own to these).
WORKSPACE_LEVEL = {
    "workspace.view": {WA, WB, WD, WR, WU},
    "workspace.edit": {WA},
    "members.view": {WA, WD, WR, WB},
    "members.manage": {WA},
    "keys.view": {WA, WD, WR},
    "keys.create": {WA, WD, WR},
    "keys.manage": {WA, WD, WR},
    "limits.view": {WA, WB, WD},
    "limits.edit": {WA},
    "limits.request_increase": {WB, WD},
    "usage.view": {WA, WB},
    "cost.view": {WA, WB},
}


def _member(role: str) -> OrganizationMember:
    return OrganizationMember(role=role)


def test_table_covers_every_capability():
    assert set(CAPABILITIES) == set(ORG_LEVEL) | set(WORKSPACE_LEVEL)


@pytest.mark.parametrize("capability", sorted(ORG_LEVEL))
@pytest.mark.parametrize("role", list(OrgRole))
def test_organization_capabilities(role, capability):
    assert Access(_member(role)).can(capability) is (role in ORG_LEVEL[capability])


@pytest.mark.parametrize("capability", sorted(WORKSPACE_LEVEL))
@pytest.mark.parametrize("workspace_role", list(WorkspaceRole))
def test_workspace_capabilities_for_a_user(workspace_role, capability):
    access = Access(_member(OrgRole.USER), workspace_role)
    assert access.can(capability) is (workspace_role in WORKSPACE_LEVEL[capability])


@pytest.mark.parametrize("capability", sorted(WORKSPACE_LEVEL))
def test_workspace_capabilities_need_a_workspace(capability):
    """Asked outside any workspace, workspace capabilities are denied, even for admins."""
    assert not Access(_member(OrgRole.ADMIN)).can(capability)


@pytest.mark.parametrize("capability", ["usage.view", "cost.view"])
def test_org_developers_see_usage_and_cost_in_any_workspace_they_see(capability):
    assert Access(_member(OrgRole.DEVELOPER), WU).can(capability)


def test_unknown_capability_is_denied():
    assert not Access(_member(OrgRole.ADMIN), WA).can("everything")


@pytest.mark.parametrize(
    ("org_role", "explicit", "is_default", "expected"),
    [
        (A, None, False, WA),
        (A, WU, False, WA),
        (B, None, False, WB),
        (B, WA, False, WA),
        (D, None, False, None),
        (U, None, False, None),
        (D, WR, False, WR),
        (U, WA, False, WA),
        (D, None, True, WD),
        (U, None, True, WU),
        (B, None, True, WB),
        (A, None, True, WA),
    ],
)
def test_effective_workspace_role(org_role, explicit, is_default, expected):
    assert effective_workspace_role(org_role, explicit, is_default_workspace=is_default) == expected
