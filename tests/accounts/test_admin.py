"""The staff admin: every model listed and searchable, secrets hidden, every change through
the services after asking staff access."""

import pytest
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from accounts.models import AuditEvent, Invite, KeyStatus, OrganizationMember
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services
from workspaces.models import Workspace


@pytest.mark.parametrize(
    "model",
    [
        "accounts.user",
        "accounts.organization",
        "accounts.organizationmember",
        "accounts.invite",
        "accounts.auditevent",
        "workspaces.workspace",
        "workspaces.workspacemember",
    ],
)
def test_every_model_has_a_searchable_changelist(client, staff, model):
    app, name = model.split(".")
    response = client(staff).get(reverse(f"admin:{app}_{name}_changelist"), {"q": "acme"})
    assert response.status_code == 200


def test_invite_token_hash_is_never_shown(client, staff, personas):
    invite, token = services.invite_create(
        actor=Actor.for_user(personas.admin),
        organization=personas.org,
        email="s@x.test",
        role="user",
    )
    page = (
        client(staff)
        .get(reverse("admin:accounts_invite_change", args=[invite.pk]))
        .content.decode()
    )
    assert invite.token_hash not in page and token not in page
    assert "token_hash" not in page


def test_default_workspace_is_protected_in_admin(client, staff, personas):
    default = personas.default_workspace
    client(staff).post(
        reverse("admin:workspaces_workspace_change", args=[default.pk]),
        {"name": "Hacked", "display_color": "#D14D72"},
    )
    client(staff).post(
        reverse("admin:workspaces_workspace_changelist"),
        {"action": "archive", "_selected_action": [default.pk]},
    )
    default.refresh_from_db()
    assert (default.name, default.archived_at) == ("Default", None)


def test_admin_archive_action_uses_the_service(client, staff, personas):
    workspace = WorkspaceFactory(organization=personas.org)
    client(staff).post(
        reverse("admin:workspaces_workspace_changelist"),
        {"action": "archive", "_selected_action": [workspace.pk]},
    )
    workspace.refresh_from_db()
    assert workspace.is_archived
    assert AuditEvent.objects.get().actor_label == "staff@console.test"


def test_non_staff_cannot_use_admin(client, personas):
    c = client(personas.admin)
    response = c.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert (
        Workspace.objects.exists()
        and OrganizationMember.objects.exists()
        and not Invite.objects.exists()
    )


@pytest.mark.parametrize("kind", ["api_key", "admin_key"])
def test_key_actions_go_through_the_services(client, staff, personas, kind):
    actor = Actor.for_user(personas.admin)
    if kind == "api_key":
        workspace = WorkspaceFactory(organization=personas.org)
        key, _ = workspace_services.api_key_create(actor=actor, workspace=workspace, name="k")
        changelist = reverse("admin:workspaces_apikey_changelist")
    else:
        key, _ = services.admin_key_create(actor=actor, organization=personas.org, name="k")
        changelist = reverse("admin:accounts_adminapikey_changelist")

    def act(action):
        return client(staff).post(
            changelist, {"action": action, "_selected_action": [key.pk]}, follow=True
        )

    assert "Disabled 1 key(s)." in act("disable").content.decode()
    key.refresh_from_db()
    assert key.status == KeyStatus.INACTIVE
    act("enable")
    key.refresh_from_db()
    assert key.status == KeyStatus.ACTIVE
    act("delete_keys")
    key.refresh_from_db()
    assert key.status == KeyStatus.ARCHIVED
    refused = act("enable").content.decode()
    assert "K: This key was deleted; deleting is permanent." in refused  # the admin capitalizes
    key.refresh_from_db()
    assert key.status == KeyStatus.ARCHIVED
    actions = list(
        AuditEvent.objects.filter(target_id=key.public_id)
        .order_by("created_at", "id")
        .values_list("action", "actor_label")
    )
    assert actions == [
        (f"{kind}.create", "admin@acme.test"),
        (f"{kind}.disable", "staff@console.test"),
        (f"{kind}.enable", "staff@console.test"),
        (f"{kind}.delete", "staff@console.test"),
    ]
    if kind == "api_key":
        workspace.refresh_from_db()
        assert workspace.active_key_count == 0
