"""A workspace's API Keys tab."""

import pytest
from django.urls import reverse

from accounts.audit import Actor
from tests.helpers import bulk_api_keys, workspace_url
from workspaces import services


def test_default_workspace_shows_keys_first(client, personas):
    default = personas.default_workspace
    c = client(personas.developer)
    assert c.get(reverse("workspaces:workspace_detail", args=[default.public_id]))[
        "Location"
    ] == workspace_url("workspaces:workspace_keys", default)
    services.api_key_create(
        actor=Actor.for_user(personas.developer), workspace=default, name="default key"
    )
    assert b"default key" in c.get(workspace_url("workspaces:workspace_keys", default)).content


@pytest.mark.parametrize("count", [10, 10_000])
def test_keys_tab_queries_do_not_grow(
    client, personas, production, django_assert_num_queries, count
):
    bulk_api_keys(production, count, personas.developer)
    c = client(personas.admin)
    c.get(workspace_url("workspaces:workspace_keys", production))
    with django_assert_num_queries(7):
        response = c.get(workspace_url("workspaces:workspace_keys", production))
    assert response.content.count(b"data-key=") == min(count, 50)
