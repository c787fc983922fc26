"""Editing a workspace's details: who may, the Default and archived workspaces refuse, one
audit event with before and after."""

import pytest
from django.core.exceptions import ValidationError

from accounts.audit import Actor
from accounts.models import AuditEvent
from tests.helpers import create_workspace, workspace_url
from workspaces import services
from workspaces.models import WorkspaceColor, WorkspaceMember


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 204), ("developer", 204), ("billing", 403), ("user", 403)]
)
def test_edit_by_role(client, personas, production_admined_by_developer, htmx, who, status):
    """Org admins and workspace admins (the developer persona here) edit details."""
    response = client(getattr(personas, who)).post(
        workspace_url("workspaces:workspace_edit", production_admined_by_developer),
        {"name": "Renamed", "display_color": "#D14D72"},
        **htmx,
    )
    assert response.status_code == status
    production_admined_by_developer.refresh_from_db()
    assert (production_admined_by_developer.name == "Renamed") is (status == 204)


def test_default_workspace_refuses_edit_and_archive_by_direct_post(client, personas, htmx):
    default = personas.default_workspace
    c = client(personas.admin)
    edit = c.post(
        workspace_url("workspaces:workspace_edit", default),
        {"name": "Hacked", "display_color": "#D14D72"},
        **htmx,
    )
    assert b"Default workspace cannot be edited" in edit.content
    archive = c.post(workspace_url("workspaces:workspace_archive", default), **htmx)
    assert b"Default workspace cannot be archived" in archive.content
    default.refresh_from_db()
    assert (default.name, default.archived_at) == ("Default", None)
    assert not AuditEvent.objects.exists()


def test_archived_workspace_refuses_changes_with_message(
    client, personas, production_admined_by_developer, htmx, newcomer
):
    c = client(personas.admin)
    c.post(workspace_url("workspaces:workspace_archive", production_admined_by_developer), **htmx)
    edit = c.post(
        workspace_url("workspaces:workspace_edit", production_admined_by_developer),
        {"name": "Again", "display_color": "#D14D72"},
        **htmx,
    )
    assert b"archived" in edit.content
    add = c.post(
        workspace_url("workspaces:workspace_member_add", production_admined_by_developer),
        {"user": newcomer.public_id, "role": "workspace_user"},
        **htmx,
    )
    assert b"archived" in add.content
    assert not WorkspaceMember.objects.filter(
        workspace=production_admined_by_developer, user=newcomer
    ).exists()
    page = c.get(
        workspace_url("workspaces:workspace_members", production_admined_by_developer)
    ).content
    assert b"Add to Workspace" not in page


def test_default_workspace_refuses_every_change(personas, admin_actor):
    default = personas.default_workspace
    with pytest.raises(ValidationError, match="Default workspace cannot be edited"):
        services.workspace_edit(actor=admin_actor, workspace=default, name="Renamed")
    with pytest.raises(ValidationError, match="Default workspace cannot be edited"):
        services.workspace_edit(
            actor=admin_actor, workspace=default, display_color=WorkspaceColor.ROSE
        )
    with pytest.raises(ValidationError, match="cannot be archived"):
        services.workspace_archive(actor=admin_actor, workspace=default)
    default.refresh_from_db()
    assert (default.name, default.display_color, default.archived_at) == (
        "Default",
        WorkspaceColor.SLATE,
        None,
    )
    assert not AuditEvent.objects.exists()


def test_update_records_before_and_after(personas, admin_actor):
    workspace = create_workspace(personas.org, admin_actor, name="Old")
    services.workspace_edit(
        actor=admin_actor, workspace=workspace, name="New", display_color=WorkspaceColor.ROSE
    )
    event = AuditEvent.objects.get(action="workspace.edit")
    assert event.before == {"name": "Old", "display_color": WorkspaceColor.TEAL}
    assert event.after == {"name": "New", "display_color": WorkspaceColor.ROSE}


def test_locked_dialogs_open_and_say_why(client, personas, production_admined_by_developer):
    """The dialogs of what the Default or an archived workspace refuses open (rather than
    failing) and say why, without the fields they cannot change."""
    c = client(personas.admin)
    default = c.get(workspace_url("workspaces:workspace_edit", personas.default_workspace))
    assert default.status_code == 200
    assert b"The Default workspace cannot be edited." in default.content
    assert b'name="display_color"' not in default.content
    services.workspace_archive(
        actor=Actor.for_user(personas.admin), workspace=production_admined_by_developer
    )
    for name, why in [
        ("workspaces:workspace_edit", b"can no longer be edited"),
        ("workspaces:api_key_create", b"can no longer be given new API keys"),
        ("workspaces:workspace_member_add", b"can no longer be changed"),
    ]:
        response = c.get(workspace_url(name, production_admined_by_developer))
        assert response.status_code == 200 and why in response.content, name


def test_renaming_to_a_taken_name_is_refused_but_changing_its_case_is_not(
    client, personas, admin_actor, htmx
):
    staging = create_workspace(personas.org, admin_actor, name="Staging")
    production = create_workspace(personas.org, admin_actor, name="Production")
    with pytest.raises(ValidationError, match="already a workspace named"):
        services.workspace_edit(actor=admin_actor, workspace=production, name="STAGING")
    production.refresh_from_db()
    assert production.name == "Production"
    renamed = services.workspace_edit(actor=admin_actor, workspace=production, name="production")
    assert renamed.name == "production"
    services.workspace_archive(actor=admin_actor, workspace=staging)
    assert services.workspace_edit(actor=admin_actor, workspace=production, name="Staging")

    other = create_workspace(personas.org, admin_actor, name="Other")
    response = client(personas.admin).post(
        workspace_url("workspaces:workspace_edit", other),
        {"name": "Staging", "display_color": other.display_color},
        **htmx,
    )
    assert response.status_code == 200 and "There is already a workspace named" in (
        response.content.decode()
    )
