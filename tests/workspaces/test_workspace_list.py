"""Settings > Workspaces: who sees which workspaces, the list's actions, the switcher,
and the list's queries."""

import pytest
from django.urls import reverse

from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory
from tests.helpers import workspace_url
from workspaces.models import Workspace


def test_list_shows_default_and_hides_archived_unless_asked(
    client, personas, production_admined_by_developer, htmx
):
    archived = WorkspaceFactory(
        organization=personas.org, name="Old", archived_at="2026-01-01T00:00Z"
    )
    c = client(personas.admin)
    page = c.get(reverse("workspaces:workspace_list")).content.decode()
    assert 'data-workspace="Default"' in page and 'data-workspace="Production"' in page
    assert 'data-workspace="Old"' not in page
    shown = c.get(reverse("workspaces:workspace_list"), {"archived": "1"}, **htmx).content.decode()
    assert 'data-workspace="Old"' in shown and "Archived" in shown
    assert "<html" not in shown
    assert archived.public_id in shown


def test_users_see_only_their_workspaces_and_default(
    client, personas, production_admined_by_developer
):
    hidden = WorkspaceFactory(organization=personas.org, name="Secret")
    for who in (personas.user, personas.developer):
        page = client(who).get(reverse("workspaces:workspace_list")).content.decode()
        assert 'data-workspace="Production"' in page and 'data-workspace="Default"' in page
        assert 'data-workspace="Secret"' not in page
        assert (
            client(who).get(workspace_url("workspaces:workspace_members", hidden)).status_code
            == 404
        )
    billing_page = (
        client(personas.billing).get(reverse("workspaces:workspace_list")).content.decode()
    )
    assert 'data-workspace="Secret"' in billing_page


def test_add_workspace_button_only_for_admins(client, personas):
    assert (
        b"Add Workspace" in client(personas.admin).get(reverse("workspaces:workspace_list")).content
    )
    for who in (personas.billing, personas.developer, personas.user):
        assert b"Add Workspace" not in client(who).get(reverse("workspaces:workspace_list")).content


def test_default_row_has_no_menu(client, personas, production_admined_by_developer):
    page = client(personas.admin).get(reverse("workspaces:workspace_list")).content.decode()
    assert 'aria-label="Actions for Production"' in page
    assert 'aria-label="Actions for Default"' not in page


def test_switcher_lists_visible_workspaces(client, personas, production_admined_by_developer):
    WorkspaceFactory(organization=personas.org, name="Hidden")
    page = (
        client(personas.user)
        .get(
            workspace_url("workspaces:workspace_members", personas.default_workspace)
            if False
            else reverse("workspaces:workspace_list")
        )
        .content.decode()
    )
    switcher = page[page.index('data-testid="workspace-switcher"') :]
    switcher = switcher[: switcher.index("</details>")]
    assert "Production" in switcher and "Default" in switcher and "Hidden" not in switcher


def _list_queries(
    client,
    personas,
    django_assert_num_queries,
    workspaces: int,
    members: int,
    expected: int,
    query: dict | None = None,
) -> None:
    created = WorkspaceFactory.create_batch(workspaces - 1, organization=personas.org)
    people = MemberFactory.create_batch(members - 4, organization=personas.org)
    for index, person in enumerate(people):
        WorkspaceMemberFactory(workspace=created[index % len(created)], user=person.user)
    c = client(personas.admin)
    url = reverse("workspaces:workspace_list")
    c.get(url, query or {})
    with django_assert_num_queries(expected):
        first = c.get(url, query or {})
    listed = workspaces - 1 if query and query.get("q") else workspaces  # Default left out
    assert first.content.count(b"data-workspace=") == min(listed, 50)
    cursor = first.context["page"].next_cursor
    if cursor:
        with django_assert_num_queries(expected):
            second = c.get(url, {**(query or {}), "cursor": cursor})
        assert second.content.count(b"data-workspace=") == listed - 50


# The session and user, the membership, the sidebar (3), the active count for "N of 100",
# the members' counts and the page of workspaces.
LIST_QUERIES = 8


def test_list_queries_small(client, personas, django_assert_num_queries):
    _list_queries(client, personas, django_assert_num_queries, 3, 6, LIST_QUERIES)


def test_list_queries_large(client, personas, django_assert_num_queries):
    _list_queries(client, personas, django_assert_num_queries, 100, 1000, LIST_QUERIES)


@pytest.mark.parametrize("sort", ["name", "-members", "keys", "-created"])
def test_list_queries_large_sorted_and_searched(client, personas, django_assert_num_queries, sort):
    _list_queries(
        client,
        personas,
        django_assert_num_queries,
        100,
        300,
        LIST_QUERIES,
        {"sort": sort, "q": "workspace"},
    )


def _names(response) -> list[str]:
    return [row.workspace.name for row in response.context["rows"]]


def test_search_by_name_in_any_case(client, personas):
    for name in ("Support bot", "Search indexer", "Batch"):
        WorkspaceFactory(organization=personas.org, name=name)
    c = client(personas.admin)
    found = c.get(reverse("workspaces:workspace_list"), {"q": "SEARCH"})
    assert _names(found) == ["Search indexer"]
    none = c.get(reverse("workspaces:workspace_list"), {"q": "nothing"}).content.decode()
    assert "No workspace is named like “nothing”." in none
    assert 'value="nothing"' in none


def test_sort_by_each_column_both_ways(client, personas, admin_actor):
    alpha = WorkspaceFactory(organization=personas.org, name="alpha")
    beta = WorkspaceFactory(organization=personas.org, name="Beta", active_key_count=5)
    gamma = WorkspaceFactory(organization=personas.org, name="gamma", active_key_count=2)
    for person in MemberFactory.create_batch(2, organization=personas.org):
        WorkspaceMemberFactory(workspace=gamma, user=person.user)
    WorkspaceMemberFactory(workspace=alpha, user=MemberFactory(organization=personas.org).user)
    c = client(personas.admin)
    url = reverse("workspaces:workspace_list")
    assert _names(c.get(url)) == ["Default", "alpha", "Beta", "gamma"]
    assert _names(c.get(url, {"sort": "name"})) == ["alpha", "Beta", "Default", "gamma"]
    assert _names(c.get(url, {"sort": "-name"})) == ["gamma", "Default", "Beta", "alpha"]
    assert _names(c.get(url, {"sort": "-keys"}))[:2] == ["Beta", "gamma"]
    assert _names(c.get(url, {"sort": "-created"})) == ["gamma", "Beta", "alpha", "Default"]
    # Default: every member; others: explicit members and the inheriting admin and billing.
    by_members = c.get(url, {"sort": "-members"})
    assert _names(by_members)[:2] == ["Default", "gamma"]
    counts = {row.workspace.name: row.member_count for row in by_members.context["rows"]}
    assert counts == {"Default": 7, "gamma": 4, "alpha": 3, "Beta": 2}
    page = by_members.content.decode()
    assert 'aria-sort="descending"' in page and page.count("aria-sort=") == 1
    assert beta.public_id in page


def test_a_bad_sort_or_search_is_said_and_the_list_still_shows(client, personas):
    c = client(personas.admin)
    response = c.get(reverse("workspaces:workspace_list"), {"sort": "secret", "q": "x" * 101})
    body = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in body
    assert "Search for at most 100 characters." in body
    assert _names(response) == ["Default"]


def test_pages_follow_each_other_both_ways(client, personas):
    WorkspaceFactory.create_batch(119, organization=personas.org)
    c = client(personas.admin)
    url = reverse("workspaces:workspace_list")
    first = c.get(url, {"sort": "name"})
    second = c.get(url, {"sort": "name", "cursor": first.context["page"].next_cursor})
    third = c.get(url, {"sort": "name", "cursor": second.context["page"].next_cursor})
    seen = _names(first) + _names(second) + _names(third)
    assert len(seen) == 120 == len(set(seen))
    assert seen == sorted(seen, key=str.lower)
    assert third.context["page"].next_cursor is None
    back = c.get(url, {"sort": "name", "cursor": third.context["page"].previous_cursor})
    assert _names(back) == _names(second)
    again = c.get(url, {"sort": "name", "cursor": back.context["page"].previous_cursor})
    assert _names(again) == _names(first) and again.context["page"].is_first
    links = second.content.decode()
    assert "?sort=name&amp;cursor=" in links and "??" not in links


def test_the_phone_sort_choices_are_the_orders():
    from workspaces.selectors import WORKSPACE_ORDERS
    from workspaces.views.workspaces import SORT_CHOICES

    assert sorted(value for value, _ in SORT_CHOICES) == sorted(WORKSPACE_ORDERS)


def test_admins_see_how_many_of_100_workspaces_and_the_cap(client, personas):
    c = client(personas.admin)
    page = c.get(reverse("workspaces:workspace_list")).content.decode()
    assert "1 of 100 workspaces" in page and "disabled" not in page.split("Add Workspace")[0][-200:]
    WorkspaceFactory.create_batch(99, organization=personas.org)
    archived = WorkspaceFactory(organization=personas.org, name="Old")
    Workspace.objects.filter(pk=archived.pk).update(archived_at=archived.created_at)
    full = c.get(reverse("workspaces:workspace_list")).content.decode()
    assert "100 of 100 workspaces" in full
    button = full[full.index('<button class="btn btn--primary" type="button" disabled') :]
    assert button.index("Add Workspace") < 120 and 'aria-describedby="workspace-cap"' in button
    assert "Archive one you no longer need to add another." in full
    assert reverse("workspaces:workspace_create") not in full.split("workspace-count")[1][:600]
    for who in (personas.billing, personas.developer):
        assert (
            "of 100 workspaces"
            not in client(who).get(reverse("workspaces:workspace_list")).content.decode()
        )


def test_the_count_follows_changes_made_in_place(client, personas, htmx):
    c = client(personas.admin)
    refreshed = c.get(reverse("workspaces:workspace_list"), **htmx).content.decode()
    assert 'id="workspace-actions" hx-swap-oob="true"' in refreshed
    assert "1 of 100 workspaces" in refreshed


def test_show_archived_is_a_switch_not_a_pressed_link(client, personas):
    page = client(personas.admin).get(reverse("workspaces:workspace_list")).content.decode()
    filters = page[page.index('<form data-compact-query class="filters"') :]
    assert "aria-pressed" not in filters[: filters.index("</form>")]
    assert '<input type="checkbox" role="switch" name="archived" value="1"' in page
    on = client(personas.admin).get(reverse("workspaces:workspace_list"), {"archived": "1"})
    assert 'name="archived" value="1" checked' in on.content.decode()


def test_a_cursor_of_another_order_reads_as_the_first_page(client, personas):
    WorkspaceFactory.create_batch(60, organization=personas.org)
    c = client(personas.admin)
    url = reverse("workspaces:workspace_list")
    by_name = c.get(url, {"sort": "name"}).context["page"].next_cursor
    other = c.get(url, {"sort": "members", "cursor": by_name})
    assert other.status_code == 200 and other.context["page"].is_first
    assert c.get(url, {"cursor": "forged"}).context["page"].is_first
