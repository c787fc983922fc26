"""The access module: the capability table of design.md section 2, role by role, and what
a workspace's state takes away."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.audit import Actor
from accounts.models import OrganizationMember
from accounts.roles import OrgRole, WorkspaceRole
from billing import services as billing_services
from tests.factories import WorkspaceFactory
from workspaces import services
from workspaces.access import CAPABILITIES, Access, StaffAccess, effective_workspace_role
from workspaces.models import Workspace

A, B, D, U = OrgRole.ADMIN, OrgRole.BILLING, OrgRole.DEVELOPER, OrgRole.USER
CC = OrgRole.CLAUDE_CODE_USER  # may do in the console what a user may

# capability -> organization roles that hold it at organization level.
ORG_LEVEL = {
    "org.view": {A, B, D, U, CC},
    "org.edit": {A},
    "org.members.view": {A, B, D, U, CC},
    "org.members.manage": {A},
    "org.invites.manage": {A},
    "org.limits.view": {A, B, D},
    "org.limits.edit": {A},
    "org.limits.override": set(),
    "adminkeys.manage": {A},
    "audit.view": {A},
    "gateway_tokens.manage": set(),
    "gateway.routes.manage": set(),
    "workspace.create": {A},
    "workspace.archive": {A},
    "limits.increase_requests.manage": {A},
    "keys.view.all": {A},
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
    access = Access(_member(OrgRole.USER), workspace_role=workspace_role)
    assert access.can(capability) is (workspace_role in WORKSPACE_LEVEL[capability])


@pytest.mark.parametrize("capability", sorted(WORKSPACE_LEVEL))
def test_workspace_capabilities_need_a_workspace(capability):
    """Asked outside any workspace, workspace capabilities are denied, even for admins."""
    assert not Access(_member(OrgRole.ADMIN)).can(capability)


@pytest.mark.parametrize("capability", ["usage.view", "cost.view"])
def test_org_developers_see_usage_and_cost_in_any_workspace_they_see(capability):
    assert Access(_member(OrgRole.DEVELOPER), workspace_role=WU).can(capability)


def test_unknown_capability_is_denied():
    assert not Access(_member(OrgRole.ADMIN), workspace_role=WA).can("everything")


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


# -- Workspace state ----------------------------------------------------------------------

READ = {"workspace.view", "members.view", "keys.view", "limits.view", "usage.view", "cost.view"}


def _admin_in(workspace: Workspace) -> Access:
    return Access(_member(A), workspace, WA)


ADMIN_HELD = sorted(name for name, roles in WORKSPACE_LEVEL.items() if WA in roles)


@pytest.mark.parametrize("capability", [*ADMIN_HELD, "workspace.archive"])
def test_archived_workspace_grants_only_reading(capability):
    access = _admin_in(Workspace(archived_at=timezone.now()))
    assert access.can(capability) is (capability in READ)
    assert access.grants(capability)
    if capability not in READ:
        assert "archived" in access.refusal(capability)


@pytest.mark.parametrize(
    "workspace", [Workspace(archived_at=timezone.now()), Workspace(is_default=True)]
)
def test_no_increase_is_asked_of_an_archived_or_the_default_workspace(workspace):
    access = Access(_member(D), workspace, WD)
    assert access.grants("limits.request_increase")
    assert not access.can("limits.request_increase")
    assert access.refusal("limits.request_increase")


@pytest.mark.parametrize(
    ("capability", "allowed"),
    [
        ("workspace.edit", False),
        ("workspace.archive", False),
        ("members.manage", False),
        ("limits.edit", False),
        ("keys.create", True),
        ("keys.manage", True),
        ("members.view", True),
    ],
)
def test_default_workspace_grants_no_edit_archive_member_or_limit_changes(capability, allowed):
    access = _admin_in(Workspace(is_default=True))
    assert access.can(capability) is allowed
    assert (access.refusal(capability) is None) is allowed


def test_require_refuses_only_what_the_role_lacks():
    """A change the workspace's state refuses reaches the service, which says why."""
    _admin_in(Workspace(is_default=True)).require("workspace.edit")
    with pytest.raises(PermissionDenied):
        Access(_member(U), Workspace(), WU).require("workspace.edit")


# -- Staff ----------------------------------------------------------------------------------

STAFF_LEVEL = {
    "org.edit",
    "org.members.manage",
    "org.invites.manage",
    "org.limits.override",
    "adminkeys.manage",
    "gateway_tokens.manage",
    "gateway.routes.manage",
    "workspace.archive",
}


@pytest.mark.parametrize("capability", sorted(ORG_LEVEL))
def test_staff_capabilities(capability):
    assert StaffAccess().can(capability) is (capability in STAFF_LEVEL)


def test_staff_are_bound_by_workspace_state():
    assert StaffAccess(Workspace()).can("workspace.edit")
    assert StaffAccess(Workspace()).can("keys.manage")
    assert not StaffAccess().can("keys.manage")
    assert not StaffAccess(Workspace(is_default=True)).can("workspace.edit")
    assert not StaffAccess(Workspace(archived_at=timezone.now())).can("keys.manage")
    assert not StaffAccess(Workspace()).can("keys.create")


# -- The services ask it too ----------------------------------------------------------------


@pytest.mark.parametrize("state", ["archived", "default"])
def test_services_refuse_what_the_workspace_state_refuses_in_its_words(personas, state):
    """Each write refuses with the reason `Access.refusal` gives for its capability, so the
    pages that grey a control out and the service that refuses it say the same thing."""
    actor = Actor.for_user(personas.admin)
    if state == "default":
        workspace = Workspace.objects.get(organization=personas.org, is_default=True)
    else:
        workspace = WorkspaceFactory(organization=personas.org, archived_at=timezone.now())
    writes = {
        "workspace.edit": lambda: services.workspace_edit(
            actor=actor, workspace=workspace, name="Renamed"
        ),
        "workspace.archive": lambda: services.workspace_archive(actor=actor, workspace=workspace),
        "members.manage": lambda: services.workspace_member_add(
            actor=actor, workspace=workspace, user=personas.developer, role=WorkspaceRole.USER
        ),
        "limits.edit": lambda: billing_services.workspace_spend_limit_set(
            actor=actor, workspace=workspace, amount_cents=1_000
        ),
        "keys.create": lambda: services.api_key_create(actor=actor, workspace=workspace, name="k"),
    }
    for capability, write in writes.items():
        expected = StaffAccess(workspace).refusal(capability)
        if expected is None:
            write_allowed = capability == "keys.create" and state == "default"
            assert write_allowed, capability
            continue
        with pytest.raises(ValidationError) as refused:
            write()
        assert refused.value.messages == [expected], capability
