"""Changing a workspace member's role: in place, never lowering an inherited role."""

import json
import re

import pytest
from django.core.exceptions import ValidationError

from accounts.roles import WorkspaceRole
from console.htmx import Event
from tests.helpers import create_workspace, workspace_url
from workspaces import services
from workspaces.models import WorkspaceMember


def test_change_role_in_place(client, personas, production_admined_by_developer, htmx):
    c = client(personas.admin)
    response = c.post(
        workspace_url(
            "workspaces:workspace_member_change_role",
            production_admined_by_developer,
            personas.user.public_id,
        ),
        {"role": "workspace_developer"},
        **htmx,
    )
    assert response.status_code == 200 and b"<tr" in response.content
    assert (
        WorkspaceMember.objects.get(
            workspace=production_admined_by_developer, user=personas.user
        ).role
        == "workspace_developer"
    )
    refused = c.post(
        workspace_url(
            "workspaces:workspace_member_change_role",
            production_admined_by_developer,
            personas.user.public_id,
        ),
        {"role": "workspace_billing"},
        **htmx,
    )
    assert b"Workspace Billing comes only" in refused.content
    assert (
        WorkspaceMember.objects.get(
            workspace=production_admined_by_developer, user=personas.user
        ).role
        == "workspace_developer"
    )


def test_change_role_of_inherited_admin_refused(
    client, personas, production_admined_by_developer, htmx
):
    response = client(personas.admin).post(
        workspace_url(
            "workspaces:workspace_member_change_role",
            production_admined_by_developer,
            personas.admin.public_id,
        ),
        {"role": "workspace_user"},
        **htmx,
    )
    assert b"inherited" in response.content


def test_inherited_admin_cannot_be_added_lowered_or_removed(personas, admin_actor):
    workspace = create_workspace(personas.org, admin_actor)
    with pytest.raises(ValidationError, match="Workspace Admin of every workspace"):
        services.workspace_member_add(
            actor=admin_actor, workspace=workspace, user=personas.admin, role=WorkspaceRole.USER
        )
    with pytest.raises(ValidationError, match="inherited"):
        services.workspace_member_remove(
            actor=admin_actor, workspace=workspace, user=personas.admin
        )
    with pytest.raises(ValidationError, match="inherited"):
        services.workspace_member_change_role(
            actor=admin_actor, workspace=workspace, user=personas.admin, role=WorkspaceRole.USER
        )


def test_billing_can_only_be_raised_to_workspace_admin(personas, admin_actor):
    workspace = create_workspace(personas.org, admin_actor)
    with pytest.raises(ValidationError, match="only be made Workspace Admin"):
        services.workspace_member_add(
            actor=admin_actor,
            workspace=workspace,
            user=personas.billing,
            role=WorkspaceRole.DEVELOPER,
        )
    services.workspace_member_add(
        actor=admin_actor, workspace=workspace, user=personas.billing, role=WorkspaceRole.ADMIN
    )
    with pytest.raises(ValidationError, match="only be made Workspace Admin"):
        services.workspace_member_change_role(
            actor=admin_actor, workspace=workspace, user=personas.billing, role=WorkspaceRole.USER
        )
    # Dropping the explicit admin role leaves the inherited billing one.
    services.workspace_member_remove(actor=admin_actor, workspace=workspace, user=personas.billing)
    with pytest.raises(ValidationError, match="inherited"):
        services.workspace_member_remove(
            actor=admin_actor, workspace=workspace, user=personas.billing
        )


def test_saved_role_is_confirmed_with_a_toast(
    client, personas, production_admined_by_developer, htmx
):
    url = workspace_url(
        "workspaces:workspace_member_change_role",
        production_admined_by_developer,
        personas.user.public_id,
    )
    c = client(personas.admin)
    saved = c.post(url, {"role": WorkspaceRole.DEVELOPER}, **htmx)
    assert json.loads(saved["HX-Trigger"])[Event.TOAST]["value"] == (
        "user@acme.test is now Workspace Developer in Production."
    )
    assert f'data-saved="{WorkspaceRole.DEVELOPER}"' in saved.content.decode()

    # Refused: the error next to the select, which shows the saved role again; no toast.
    refused = c.post(url, {"role": WorkspaceRole.BILLING}, **htmx)
    row = refused.content.decode()
    assert "HX-Trigger" not in refused
    error_id = f"wrole-error-{personas.user.public_id}"
    assert f'id="{error_id}"><li>Workspace Billing comes only' in row
    assert f'aria-describedby="{error_id}"' in row
    assert re.findall(r'<option value="(\w+)" selected>', row) == [WorkspaceRole.DEVELOPER]


def test_saved_role_without_script_redirects_with_a_message(
    client, personas, production_admined_by_developer
):
    url = workspace_url(
        "workspaces:workspace_member_change_role",
        production_admined_by_developer,
        personas.user.public_id,
    )
    response = client(personas.admin).post(url, {"role": WorkspaceRole.DEVELOPER}, follow=True)
    assert "user@acme.test is now Workspace Developer in Production." in response.content.decode()
