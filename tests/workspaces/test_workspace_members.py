"""A workspace's Members tab: explicit and inherited members, who sees it, its queries."""

import pytest

from tests.factories import MemberFactory
from tests.helpers import workspace_url
from workspaces.models import WorkspaceMember


def test_members_tab_shows_explicit_and_inherited(
    client, personas, production_admined_by_developer
):
    page = (
        client(personas.admin)
        .get(workspace_url("workspaces:workspace_members", production_admined_by_developer))
        .content.decode()
    )
    for email in ("admin@acme.test", "billing@acme.test", "developer@acme.test", "user@acme.test"):
        assert f'data-email="{email}"' in page
    assert page.count("Inherited from organization role") == 2
    assert 'aria-label="Remove admin@acme.test' not in page
    assert 'aria-label="Remove developer@acme.test from workspace"' in page


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("billing", 200), ("developer", 200), ("user", 403)]
)
def test_members_tab_visibility(client, personas, production_admined_by_developer, who, status):
    assert (
        client(getattr(personas, who))
        .get(workspace_url("workspaces:workspace_members", production_admined_by_developer))
        .status_code
        == status
    )


def test_default_workspace_members_tab(client, personas):
    page = (
        client(personas.admin)
        .get(workspace_url("workspaces:workspace_members", personas.default_workspace))
        .content.decode()
    )
    assert page.count('data-email="') == 4
    assert "Add to Workspace" not in page


@pytest.mark.parametrize("members", [5, 2000])
def test_members_tab_queries_do_not_grow(
    client, personas, production_admined_by_developer, django_assert_num_queries, members
):
    people = MemberFactory.create_batch(members, organization=personas.org)
    WorkspaceMember.objects.bulk_create(
        WorkspaceMember(
            workspace=production_admined_by_developer,
            user=p.user,
            organization_member=p,
            role="workspace_user",
        )
        for p in people
    )
    c = client(personas.admin)
    c.get(workspace_url("workspaces:workspace_members", production_admined_by_developer))
    with django_assert_num_queries(8):
        response = c.get(
            workspace_url("workspaces:workspace_members", production_admined_by_developer)
        )
    assert response.content.count(b'data-email="') == members + 4
