"""Settings > Workspaces: who sees which workspaces, the list's actions, the switcher,
and the list's queries."""

from django.urls import reverse

from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory
from tests.helpers import workspace_url


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
    client, personas, django_assert_num_queries, workspaces: int, members: int, expected: int
) -> None:
    created = WorkspaceFactory.create_batch(workspaces - 1, organization=personas.org)
    people = MemberFactory.create_batch(members - 4, organization=personas.org)
    for index, person in enumerate(people):
        WorkspaceMemberFactory(workspace=created[index % len(created)], user=person.user)
    c = client(personas.admin)
    c.get(reverse("workspaces:workspace_list"))
    with django_assert_num_queries(expected):
        response = c.get(reverse("workspaces:workspace_list"))
    assert response.content.count(b"data-workspace=") == workspaces


LIST_QUERIES = 7


def test_list_queries_small(client, personas, django_assert_num_queries):
    _list_queries(client, personas, django_assert_num_queries, 3, 6, LIST_QUERIES)


def test_list_queries_large(client, personas, django_assert_num_queries):
    _list_queries(client, personas, django_assert_num_queries, 100, 1000, LIST_QUERIES)
