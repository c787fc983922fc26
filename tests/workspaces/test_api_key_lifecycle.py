"""An API key's lifecycle after creation: rename, disable and enable, delete; each through
its service with one audit event, keeping the workspace's count of active keys."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import AuditEvent
from tests.helpers import workspace_url
from workspaces import services
from workspaces.models import ApiKey


def test_deleted_keys_refuse_every_action(personas, production_key):
    key, _ = production_key
    actor = Actor.for_user(personas.admin)
    services.api_key_delete(actor=actor, key=key)
    for action in (
        lambda: services.api_key_delete(actor=actor, key=key),
        lambda: services.api_key_rename(actor=actor, key=key, name="again"),
        lambda: services.api_key_enable(actor=actor, key=key),
    ):
        with pytest.raises(ValidationError, match="permanent"):
            action()


def test_each_key_service_writes_one_event(personas, production_key):
    key, _ = production_key
    actor = Actor.for_user(personas.admin)
    services.api_key_rename(actor=actor, key=key, name="renamed")
    services.api_key_disable(actor=actor, key=key)
    services.api_key_delete(actor=actor, key=key)
    assert list(AuditEvent.objects.order_by("id").values_list("action", "target_id")) == [
        ("api_key.create", key.public_id),
        ("api_key.rename", key.public_id),
        ("api_key.disable", key.public_id),
        ("api_key.delete", key.public_id),
    ]


@pytest.mark.parametrize("action", ["rename", "disable", "enable", "delete"])
@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 204), ("developer", 204), ("billing", 403), ("user", 403), ("outsider", 404)],
)
def test_key_actions_by_role(client, personas, production_key, htmx, action, who, status):
    key, _ = production_key
    if action == "enable":
        services.api_key_disable(actor=Actor.for_user(personas.admin), key=key)
    before = ApiKey.objects.get(pk=key.pk)
    response = client(getattr(personas, who)).post(
        reverse(f"workspaces:api_key_{action}", args=[key.public_id]), {"name": "renamed"}, **htmx
    )
    assert response.status_code == status
    after = ApiKey.objects.get(pk=key.pk)
    changed = (after.name, after.status) != (before.name, before.status)
    assert changed is (status == 204)


def test_key_actions_wrong_method(client, personas, production_key):
    key, _ = production_key
    assert (
        client(personas.admin)
        .put(reverse("workspaces:api_key_delete", args=[key.public_id]))
        .status_code
        == 405
    )


def test_delete_confirm_says_permanent(client, personas, production_key, htmx):
    key, _ = production_key
    dialog = client(personas.admin).get(
        reverse("workspaces:api_key_delete", args=[key.public_id]), **htmx
    )
    assert b"permanent and cannot be undone" in dialog.content


def test_actions_on_deleted_key_show_message(client, personas, production_key, htmx):
    key, _ = production_key
    c = client(personas.admin)
    c.post(reverse("workspaces:api_key_delete", args=[key.public_id]), **htmx)
    again = c.post(reverse("workspaces:api_key_enable", args=[key.public_id]), **htmx)
    assert again.status_code == 200 and b"deleting is permanent" in again.content


def test_actions_on_archived_workspace_show_message(
    client, personas, production_key, production, htmx
):
    key, _ = production_key
    c = client(personas.admin)
    services.workspace_archive(actor=Actor.for_user(personas.admin), workspace=production)
    response = c.post(
        reverse("workspaces:api_key_rename", args=[key.public_id]), {"name": "x"}, **htmx
    )
    assert b"archived" in response.content
    create = c.post(
        workspace_url("workspaces:api_key_create", production),
        {"name": "k", "expiry": "never"},
        **htmx,
    )
    assert b"archived" in create.content
    assert ApiKey.objects.count() == 1


def test_another_organizations_key_is_404(client, personas, production_key):
    key, _ = production_key
    c = client(personas.outsider)
    for action in ("rename", "disable", "delete"):
        assert (
            c.get(reverse(f"workspaces:api_key_{action}", args=[key.public_id])).status_code == 404
        )


def test_active_key_count_follows_every_change(personas, production):
    actor = Actor.for_user(personas.admin)

    def count():
        production.refresh_from_db()
        return production.active_key_count

    a, _ = services.api_key_create(actor=actor, workspace=production, name="a")
    b, _ = services.api_key_create(actor=actor, workspace=production, name="b")
    assert count() == 2
    services.api_key_disable(actor=actor, key=a)
    assert count() == 1
    services.api_key_delete(actor=actor, key=a)  # a disabled key: no change
    assert count() == 1
    services.api_key_delete(actor=actor, key=b)
    assert count() == 0
    services.api_key_create(actor=actor, workspace=production, name="c")
    services.workspace_archive(actor=actor, workspace=production)
    assert count() == 0
