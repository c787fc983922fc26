"""Adding a member to a workspace: from the organization's members only, once, with an
assignable role."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import AuditEvent
from accounts.roles import WorkspaceRole
from tests.factories import MemberFactory
from tests.helpers import create_workspace, workspace_url
from workspaces import services
from workspaces.models import WorkspaceMember


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 204), ("developer", 204), ("billing", 403), ("user", 403)]
)
def test_add_member_by_role(
    client, personas, production_admined_by_developer, htmx, newcomer, who, status
):
    response = client(getattr(personas, who)).post(
        workspace_url("workspaces:workspace_member_add", production_admined_by_developer),
        {"user": newcomer.public_id, "role": "workspace_developer"},
        **htmx,
    )
    assert response.status_code == status
    assert WorkspaceMember.objects.filter(
        workspace=production_admined_by_developer, user=newcomer
    ).exists() is (status == 204)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"user": "", "role": "workspace_user"}, "Choose a member of the organization."),
        (
            {"user": "user_doesnotexist", "role": "workspace_user"},
            "Only members of this organization",
        ),
        ({"user": "OUTSIDER", "role": "workspace_user"}, "Only members of this organization"),
        ({"user": "USER", "role": "workspace_admin"}, "already a member"),
        ({"user": "NEW", "role": "workspace_billing"}, "Workspace Billing comes only"),
        ({"user": "NEW", "role": "superuser"}, "Choose one of the roles"),
    ],
)
def test_add_member_bad_input(
    client, personas, production_admined_by_developer, htmx, newcomer, data, message
):
    ids = {
        "OUTSIDER": personas.outsider.public_id,
        "USER": personas.user.public_id,
        "NEW": newcomer.public_id,
    }
    data = {**data, "user": ids.get(data["user"], data["user"])}
    before = WorkspaceMember.objects.count()
    response = client(personas.admin).post(
        workspace_url("workspaces:workspace_member_add", production_admined_by_developer),
        data,
        **htmx,
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert WorkspaceMember.objects.count() == before


def test_add_member_search_filters_candidates(
    client, personas, production_admined_by_developer, newcomer
):
    MemberFactory(organization=personas.org, user__email="zed@acme.test", user__name="Zed")
    c = client(personas.admin)
    response = c.get(
        workspace_url("workspaces:workspace_member_add", production_admined_by_developer),
        {"q": "zed"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="member-candidates",
    )
    body = response.content.decode()
    assert "zed@acme.test" in body and "new@acme.test" not in body and "<dialog" not in body
    everyone = c.get(
        workspace_url("workspaces:workspace_member_add", production_admined_by_developer),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    # Explicit members and organization admins are not offered.
    assert (
        "new@acme.test" in everyone
        and "user@acme.test" not in everyone
        and "admin@acme.test" not in everyone
    )


def test_add_member_and_change_role_and_remove(personas, admin_actor):
    workspace = create_workspace(personas.org, admin_actor)
    services.workspace_member_add(
        actor=admin_actor,
        workspace=workspace,
        user=personas.developer,
        role=WorkspaceRole.DEVELOPER,
    )
    services.workspace_member_change_role(
        actor=admin_actor, workspace=workspace, user=personas.developer, role=WorkspaceRole.ADMIN
    )
    assert WorkspaceMember.objects.get(workspace=workspace).role == WorkspaceRole.ADMIN
    services.workspace_member_remove(
        actor=admin_actor, workspace=workspace, user=personas.developer
    )
    assert not WorkspaceMember.objects.filter(workspace=workspace).exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == [
        "workspace.create",
        "workspace_member.add",
        "workspace_member.change_role",
        "workspace_member.remove",
    ]


def test_only_organization_members_can_be_added(personas, admin_actor):
    workspace = create_workspace(personas.org, admin_actor)
    with pytest.raises(ValidationError, match="Only members of this organization"):
        services.workspace_member_add(
            actor=admin_actor, workspace=workspace, user=personas.outsider, role=WorkspaceRole.USER
        )


def test_adding_twice_is_refused(personas, admin_actor):
    workspace = create_workspace(personas.org, admin_actor)
    services.workspace_member_add(
        actor=admin_actor, workspace=workspace, user=personas.user, role=WorkspaceRole.USER
    )
    with pytest.raises(ValidationError, match="already a member"):
        services.workspace_member_add(
            actor=admin_actor, workspace=workspace, user=personas.user, role=WorkspaceRole.ADMIN
        )


def test_workspace_billing_is_never_assigned(personas, admin_actor):
    workspace = create_workspace(personas.org, admin_actor)
    with pytest.raises(ValidationError, match="Workspace Billing comes only"):
        services.workspace_member_add(
            actor=admin_actor, workspace=workspace, user=personas.user, role=WorkspaceRole.BILLING
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkspaceMember.objects.create(
            workspace=workspace, user=personas.user, role=WorkspaceRole.BILLING
        )


def test_the_default_workspace_has_no_members_of_its_own(personas, newcomer, admin_actor):
    """Everyone takes part in the Default workspace through their organization role, on
    every path: the service refuses explicit memberships there."""
    with pytest.raises(ValidationError, match="no members of its own"):
        services.workspace_member_add(
            actor=admin_actor,
            workspace=personas.default_workspace,
            user=newcomer,
            role=WorkspaceRole.ADMIN,
        )
    assert not WorkspaceMember.objects.exists()
