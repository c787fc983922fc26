"""Settings > API Keys: every key the viewer may see, across workspaces, filtered."""

import pytest
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import KeyStatus
from tests.factories import MemberFactory, WorkspaceFactory
from tests.helpers import bulk_api_keys
from workspaces import services


def test_settings_api_keys_lists_only_visible_workspaces(client, personas, production):
    hidden = WorkspaceFactory(organization=personas.org, name="Hidden")
    actor = Actor.for_user(personas.admin)
    services.api_key_create(actor=actor, workspace=production, name="visible key")
    services.api_key_create(actor=actor, workspace=hidden, name="hidden key")
    dev_page = client(personas.developer).get(reverse("workspaces:api_key_list")).content.decode()
    assert "visible key" in dev_page and "hidden key" not in dev_page
    admin_page = client(personas.admin).get(reverse("workspaces:api_key_list")).content.decode()
    assert "visible key" in admin_page and "hidden key" in admin_page
    assert client(personas.user).get(reverse("workspaces:api_key_list")).status_code == 403
    assert client(personas.billing).get(reverse("workspaces:api_key_list")).status_code == 403
    outsider = client(personas.outsider).get(reverse("workspaces:api_key_list")).content.decode()
    assert "visible key" not in outsider


def test_settings_api_keys_filters(client, personas, production):
    admin, dev = Actor.for_user(personas.admin), Actor.for_user(personas.developer)
    a, _ = services.api_key_create(actor=admin, workspace=production, name="by admin")
    services.api_key_create(actor=dev, workspace=production, name="by dev")
    services.api_key_create(actor=admin, workspace=personas.default_workspace, name="in default")
    services.api_key_disable(actor=admin, key=a)
    c = client(personas.admin)

    def names(**params):
        return {
            k.name for k in c.get(reverse("workspaces:api_key_list"), params).context["page"].items
        }

    assert names() == {"by admin", "by dev", "in default"}
    assert names(workspace=production.public_id) == {"by admin", "by dev"}
    assert names(status="inactive") == {"by admin"}
    assert names(creator=personas.developer.public_id) == {"by dev"}
    assert names(q="BY") == {"by admin", "by dev"}
    assert names(q="default", workspace=personas.default_workspace.public_id) == {"in default"}
    assert names(q="nothing") == set()
    bad = c.get(reverse("workspaces:api_key_list"), {"workspace": "wrkspc_forged"})
    assert bad.status_code == 200 and b"Select a valid choice" in bad.content


@pytest.mark.parametrize("count", [10, 10_000])
def test_settings_api_keys_queries_do_not_grow(
    client, personas, production, django_assert_num_queries, count
):
    bulk_api_keys(production, count, personas.developer)
    MemberFactory.create_batch(3, organization=personas.org)
    c = client(personas.developer)
    c.get(reverse("workspaces:api_key_list"))
    with django_assert_num_queries(8):
        response = c.get(reverse("workspaces:api_key_list"))
    assert response.content.count(b"data-key=") == min(count, 50)
    with django_assert_num_queries(8):
        searched = c.get(reverse("workspaces:api_key_list"), {"q": "key 1"})
    assert 0 < searched.content.count(b"data-key=") <= 50


def test_keys_are_filtered_by_their_current_status(personas, production):
    from datetime import timedelta

    from django.utils import timezone

    from workspaces.models import ApiKey

    actor = Actor.for_user(personas.admin)
    keys = {
        name: services.api_key_create(actor=actor, workspace=production, name=name)[0]
        for name in ("active", "inactive", "expired", "archived", "archived and expired")
    }
    services.api_key_update(actor=actor, key=keys["inactive"], status=KeyStatus.INACTIVE)
    past = timezone.now() - timedelta(seconds=1)
    ApiKey.objects.filter(pk__in=[keys["expired"].pk, keys["archived and expired"].pk]).update(
        expires_at=past
    )
    for name in ("archived", "archived and expired"):
        services.api_key_delete(actor=actor, key=ApiKey.objects.get(pk=keys[name].pk))

    def named(status):
        return {key.name for key in ApiKey.objects.filter(workspace=production).with_status(status)}

    assert named(KeyStatus.ACTIVE) == {"active"}
    assert named(KeyStatus.INACTIVE) == {"inactive"}
    assert named(KeyStatus.EXPIRED) == {"expired"}
    assert named(KeyStatus.ARCHIVED) == {"archived", "archived and expired"}
    for key in ApiKey.objects.filter(workspace=production):
        assert key.name in named(key.current_status())
