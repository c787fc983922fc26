"""Archiving a workspace: organization admins only, irreversible, its API keys archived in
the same transaction."""

import pytest
from django.core.exceptions import ValidationError

from accounts.audit import Actor
from accounts.models import AuditEvent, KeyStatus
from accounts.roles import WorkspaceRole
from tests.factories import WorkspaceMemberFactory
from tests.helpers import create_workspace, workspace_url
from workspaces import services
from workspaces.models import ApiKey, WorkspaceMember


@pytest.mark.parametrize("who", ["developer", "billing", "user"])
def test_only_org_admins_archive(client, personas, production_admined_by_developer, who):
    assert client(getattr(personas, who)).post(
        workspace_url("workspaces:workspace_archive", production_admined_by_developer)
    ).status_code in (403, 404)
    production_admined_by_developer.refresh_from_db()
    assert not production_admined_by_developer.is_archived


def test_archive_confirm_dialog_and_archive(
    client, personas, production_admined_by_developer, htmx
):
    c = client(personas.admin)
    dialog = c.get(
        workspace_url("workspaces:workspace_archive", production_admined_by_developer), **htmx
    ).content.decode()
    assert "cannot be undone" in dialog
    assert (
        c.post(
            workspace_url("workspaces:workspace_archive", production_admined_by_developer), **htmx
        ).status_code
        == 204
    )
    production_admined_by_developer.refresh_from_db()
    assert production_admined_by_developer.is_archived


def test_default_workspace_has_no_delete():
    assert not hasattr(services, "workspace_delete")


def test_archive_is_irreversible_and_freezes_the_workspace(personas, admin_actor):
    workspace = create_workspace(personas.org, admin_actor)
    WorkspaceMemberFactory(workspace=workspace, user=personas.developer)
    services.workspace_archive(actor=admin_actor, workspace=workspace)
    workspace.refresh_from_db()
    assert workspace.is_archived
    with pytest.raises(ValidationError, match="already archived"):
        services.workspace_archive(actor=admin_actor, workspace=workspace)
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_edit(actor=admin_actor, workspace=workspace, name="Again")
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_member_add(
            actor=admin_actor, workspace=workspace, user=personas.user, role=WorkspaceRole.USER
        )
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_member_change_role(
            actor=admin_actor,
            workspace=workspace,
            user=personas.developer,
            role=WorkspaceRole.ADMIN,
        )
    with pytest.raises(ValidationError, match="archived"):
        services.workspace_member_remove(
            actor=admin_actor, workspace=workspace, user=personas.developer
        )
    assert WorkspaceMember.objects.get(workspace=workspace).role == WorkspaceRole.DEVELOPER
    assert AuditEvent.objects.filter(action="workspace.archive").count() == 1


def test_archiving_a_workspace_archives_its_keys_in_one_transaction(
    personas, production, monkeypatch
):
    actor = Actor.for_user(personas.admin)
    for name in ("a", "b", "c"):
        services.api_key_create(actor=actor, workspace=production, name=name)

    def explode(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("workspaces.services.audit.record", explode)
    with pytest.raises(RuntimeError):
        services.workspace_archive(actor=actor, workspace=production)
    production.refresh_from_db()
    assert production.archived_at is None
    assert set(ApiKey.objects.values_list("status", flat=True)) == {KeyStatus.ACTIVE}
    monkeypatch.undo()
    services.workspace_archive(actor=actor, workspace=production)
    assert set(ApiKey.objects.values_list("status", flat=True)) == {KeyStatus.ARCHIVED}
    assert AuditEvent.objects.get(action="workspace.archive").after["archived_api_keys"] == 3
