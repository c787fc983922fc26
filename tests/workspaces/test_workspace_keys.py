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
    with django_assert_num_queries(7):
        searched = c.get(
            workspace_url("workspaces:workspace_keys", production), {"q": "key 1", "deleted": "1"}
        )
    assert 0 < searched.content.count(b"data-key=") <= 50


def _keys(response) -> list[str]:
    return [row.key.name for row in response.context["key_rows"]]


def test_keys_search_by_name(client, personas, production, htmx):
    actor = Actor.for_user(personas.developer)
    for name in ("support bot", "Search indexer", "batch"):
        services.api_key_create(actor=actor, workspace=production, name=name)
    c = client(personas.admin)
    url = workspace_url("workspaces:workspace_keys", production)
    assert _keys(c.get(url, {"q": "SEARCH"})) == ["Search indexer"]
    # The search box refreshes the key list alone, not the tab.
    partial = c.get(url, {"q": "bot"}, HTTP_HX_TARGET="workspace-key-results", **htmx)
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="workspace-key-results"') and "support bot" in body
    assert 'class="tabs"' not in body
    empty = c.get(url, {"q": "nothing"}).content.decode()
    assert "No key is named like “nothing”." in empty


def test_show_deleted_adds_the_deleted_keys_to_the_others(client, personas, production):
    actor = Actor.for_user(personas.developer)
    services.api_key_create(actor=actor, workspace=production, name="kept")
    gone, _ = services.api_key_create(actor=actor, workspace=production, name="gone")
    services.api_key_delete(actor=actor, key=gone)
    c = client(personas.admin)
    url = workspace_url("workspaces:workspace_keys", production)
    assert _keys(c.get(url)) == ["kept"]
    both = c.get(url, {"deleted": "1"})
    assert sorted(_keys(both)) == ["gone", "kept"]
    body = both.content.decode()
    assert 'data-status="archived">Deleted' in body
    assert (
        'name="deleted" value="1" checked' in body
        and "aria-pressed" not in body.split("tab-panel")[1].split("</form>")[0]
    )


def test_an_archived_workspace_lists_its_keys_as_archived(client, personas, production):
    actor = Actor.for_user(personas.developer)
    services.api_key_create(actor=actor, workspace=production, name="was active")
    services.api_key_create(actor=actor, workspace=production, name="also")
    services.workspace_archive(actor=Actor.for_user(personas.admin), workspace=production)
    response = client(personas.admin).get(workspace_url("workspaces:workspace_keys", production))
    body = response.content.decode()
    assert sorted(_keys(response)) == ["also", "was active"]
    assert "No API keys yet" not in body
    assert body.count('data-status="archived">Archived</span>') == 2
    assert "its keys with it: they no longer work" in body
    assert 'name="deleted"' not in body  # nothing more to show


def test_times_in_key_lists_say_their_zone(client, personas, production):
    from datetime import UTC, datetime

    from accounts.models import User
    from workspaces.models import ApiKey

    key, _ = services.api_key_create(
        actor=Actor.for_user(personas.developer),
        workspace=production,
        name="zoned",
        expires_at=datetime(2027, 1, 10, tzinfo=UTC),
    )
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=datetime(2026, 1, 5, 18, 0, tzinfo=UTC))
    User.objects.filter(pk=personas.admin.pk).update(time_zone="Asia/Tokyo")
    body = (
        client(personas.admin)
        .get(workspace_url("workspaces:workspace_keys", production))
        .content.decode()
    )
    assert "Expires <time" in body and "10 Jan 2027, 09:00 JST" in body
    assert 'title="6 Jan 2026, 03:00:00 JST">' in body and " ago</time>" in body


def test_default_workspace_tabs_are_in_the_same_order_as_others(client, personas, production):
    import re

    c = client(personas.admin)

    def tab_labels(workspace) -> list[str]:
        page = c.get(workspace_url("workspaces:workspace_keys", workspace)).content.decode()
        nav = page[page.index('<nav class="tabs"') :]
        nav = nav[: nav.index("</nav>")]
        return re.findall(r">([^<>]+)</a>", nav)

    assert tab_labels(production) == ["Members", "API Keys", "Limits"]
    assert tab_labels(personas.default_workspace) == ["Members", "API Keys", "Limits"]
