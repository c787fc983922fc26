"""The official `anthropic` SDK, pointed at a running Console, manages it as it would the
hosted Admin API."""

import anthropic
import pytest

from accounts import services
from accounts.audit import Actor
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services


@pytest.fixture
def sdk(transactional_db, personas, live_server):
    _key, secret = services.admin_key_create(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="sdk"
    )
    # Closed after each test, so no keep-alive connection leaves the server a thread waiting.
    with anthropic.Anthropic(api_key=secret, base_url=live_server.url, max_retries=0) as client:
        yield client


def test_organization_users_and_invites(sdk, personas):
    org = sdk.organization.retrieve()
    assert (org.id, org.name) == (str(personas.org.id), "Acme Test")
    users = list(sdk.organization.users.list())
    assert {u.email for u in users} == {
        "admin@acme.test",
        "billing@acme.test",
        "developer@acme.test",
        "user@acme.test",
    }
    assert [u.email for u in sdk.organization.users.list(roles=["billing"])] == [
        "billing@acme.test"
    ]
    updated = sdk.organization.users.update(personas.user.public_id, role="developer")
    assert updated.role == "developer"
    invite = sdk.organization.invites.create(email="sdk@acme.test", role="user")
    assert (
        invite.status == "pending"
        and sdk.organization.invites.retrieve(invite.id).email == "sdk@acme.test"
    )
    assert [i.id for i in sdk.organization.invites.list()] == [invite.id]
    sdk.organization.invites.delete(invite.id)
    removed = sdk.organization.users.remove(personas.user.public_id)
    assert removed.id == personas.user.public_id
    with pytest.raises(anthropic.BadRequestError):
        sdk.organization.invites.create(email="developer@acme.test", role="user")
    with pytest.raises(anthropic.NotFoundError):
        sdk.organization.users.retrieve(personas.outsider.public_id)


def test_workspaces_and_members(sdk, personas):
    workspace = sdk.organization.workspaces.create(name="From the SDK", display_color="#3B82F6")
    assert workspace.name == "From the SDK"
    renamed = sdk.organization.workspaces.update(workspace.id, name="Renamed")
    assert renamed.name == "Renamed"
    member = sdk.organization.workspaces.members.add(
        workspace.id, user_id=personas.developer.public_id, workspace_role="workspace_developer"
    )
    assert member.workspace_role == "workspace_developer"
    updated = sdk.organization.workspaces.members.update(
        personas.developer.public_id, workspace_id=workspace.id, workspace_role="workspace_admin"
    )
    assert updated.workspace_role == "workspace_admin"
    assert [m.user_id for m in sdk.organization.workspaces.members.list(workspace.id)] == [
        personas.developer.public_id
    ]
    sdk.organization.workspaces.members.remove(
        personas.developer.public_id, workspace_id=workspace.id
    )
    with pytest.raises(anthropic.BadRequestError):
        sdk.organization.workspaces.members.add(
            workspace.id, user_id=personas.user.public_id, workspace_role="workspace_billing"
        )
    archived = sdk.organization.workspaces.archive(workspace.id)
    assert archived.archived_at is not None
    assert [w.id for w in sdk.organization.workspaces.list()] == []
    assert [w.id for w in sdk.organization.workspaces.list(include_archived=True)] == [workspace.id]
    with pytest.raises(anthropic.BadRequestError):
        sdk.organization.workspaces.update(personas.default_workspace.public_id, name="No")
    with pytest.raises(anthropic.NotFoundError):
        sdk.organization.workspaces.retrieve(
            WorkspaceFactory(organization=personas.other_org).public_id
        )


def test_api_keys_with_auto_pagination(sdk, personas):
    workspace = WorkspaceFactory(organization=personas.org)
    actor = Actor.for_user(personas.developer)
    created = [
        workspace_services.api_key_create(actor=actor, workspace=workspace, name=f"key {i}")[0]
        for i in range(7)
    ]
    seen = [key.id for key in sdk.organization.api_keys.list(limit=3)]
    assert seen == [key.public_id for key in created]  # three pages, in creation order
    filtered = sdk.organization.api_keys.list(
        workspace_id=workspace.public_id, created_by_user_id=personas.developer.public_id
    )
    assert len(filtered.data) == 7
    key = sdk.organization.api_keys.update(created[0].public_id, name="renamed", status="inactive")
    assert (key.name, key.status) == ("renamed", "inactive")
    assert [k.id for k in sdk.organization.api_keys.list(status="inactive")] == [
        created[0].public_id
    ]
    assert (
        sdk.organization.api_keys.retrieve(created[1].public_id).partial_key_hint == created[1].hint
    )


def test_error_classes(sdk, personas, live_server):
    with pytest.raises(anthropic.NotFoundError):
        sdk.organization.api_keys.retrieve("apikey_nope")
    with pytest.raises(anthropic.BadRequestError):
        sdk.organization.workspaces.create(name="")
    with (
        anthropic.Anthropic(
            api_key="sk-ant-admin01-wrong", base_url=live_server.url, max_retries=0
        ) as wrong,
        pytest.raises(anthropic.AuthenticationError),
    ):
        wrong.organization.retrieve()
    _key, workspace_secret = workspace_services.api_key_create(
        actor=Actor.for_user(personas.admin), workspace=personas.default_workspace, name="w"
    )
    with (
        anthropic.Anthropic(api_key=workspace_secret, base_url=live_server.url, max_retries=0) as w,
        pytest.raises((anthropic.AuthenticationError, anthropic.PermissionDeniedError)),
    ):
        w.organization.retrieve()
