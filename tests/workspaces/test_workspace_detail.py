"""A workspace's page: its tabs are real URLs, other organizations' workspaces are 404
everywhere, anonymous people sign in, wrong methods are 405."""

from django.test import Client
from django.urls import reverse

from tests.helpers import workspace_url


def test_tabs_are_real_urls_and_htmx_gets_partial(
    client, personas, production_admined_by_developer, htmx
):
    c = client(personas.admin)
    full = c.get(
        workspace_url("workspaces:workspace_members", production_admined_by_developer)
    ).content.decode()
    partial = c.get(
        workspace_url("workspaces:workspace_members", production_admined_by_developer), **htmx
    ).content.decode()
    assert "<html" in full and 'aria-current="page"' in full
    assert "<html" not in partial and 'id="tab-panel"' in partial
    assert c.get(workspace_url("workspaces:workspace_detail", production_admined_by_developer))[
        "Location"
    ] == workspace_url("workspaces:workspace_members", production_admined_by_developer)


def test_other_organization_gets_404_everywhere(
    client, personas, production_admined_by_developer, htmx
):
    c = client(personas.outsider)
    for name in (
        "workspaces:workspace_detail",
        "workspaces:workspace_members",
        "workspaces:workspace_edit",
        "workspaces:workspace_archive",
        "workspaces:workspace_member_add",
    ):
        assert c.get(workspace_url(name, production_admined_by_developer)).status_code == 404, name
    assert (
        c.post(
            workspace_url("workspaces:workspace_archive", production_admined_by_developer)
        ).status_code
        == 404
    )
    assert (
        c.post(
            workspace_url("workspaces:workspace_edit", production_admined_by_developer),
            {"name": "Hacked", "display_color": "#D14D72"},
        ).status_code
        == 404
    )
    assert (
        c.post(
            workspace_url("workspaces:workspace_member_add", production_admined_by_developer),
            {"user": personas.outsider.public_id, "role": "workspace_admin"},
        ).status_code
        == 404
    )
    production_admined_by_developer.refresh_from_db()
    assert (
        production_admined_by_developer.name == "Production"
        and not production_admined_by_developer.is_archived
    )


def test_forged_workspace_id_is_404(client, personas):
    c = client(personas.admin)
    assert c.get("/settings/workspaces/wrkspc_0000000000000000000000ZZ/members/").status_code == 404
    assert c.get("/settings/workspaces/not-an-id/edit/").status_code == 404


def test_anonymous_is_sent_to_sign_in(personas, production_admined_by_developer):
    for target in (
        reverse("workspaces:workspace_list"),
        workspace_url("workspaces:workspace_members", production_admined_by_developer),
    ):
        response = Client().get(target)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_wrong_methods_are_405(client, personas, production_admined_by_developer):
    c = client(personas.admin)
    assert c.post(reverse("workspaces:workspace_list")).status_code == 405
    assert (
        c.get(
            workspace_url(
                "workspaces:workspace_member_change_role",
                production_admined_by_developer,
                personas.user.public_id,
            )
        ).status_code
        == 405
    )
    assert (
        c.delete(
            workspace_url("workspaces:workspace_archive", production_admined_by_developer)
        ).status_code
        == 405
    )


def test_the_workspace_id_can_be_copied(client, personas, production_admined_by_developer):
    page = (
        client(personas.admin)
        .get(workspace_url("workspaces:workspace_members", production_admined_by_developer))
        .content.decode()
    )
    code = f'<code class="small" id="workspace-id" data-testid="workspace-id">{production_admined_by_developer.public_id}</code>'
    assert code in page
    assert 'data-copy="#workspace-id" aria-label="Copy workspace ID"' in page


def test_a_workspace_of_another_of_my_organizations_offers_to_switch(
    client, personas, production_admined_by_developer
):
    from tests.factories import MemberFactory, WorkspaceFactory

    elsewhere = WorkspaceFactory(organization=personas.other_org, name="Their Prod")
    MemberFactory(organization=personas.other_org, user=personas.admin, role="admin")
    c = client(personas.admin)  # working in Acme Test (their first organization)
    url = workspace_url("billing:workspace_limits", elsewhere)
    page = c.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert "This workspace is in Other Org" in body and "Their Prod" in body
    assert f'name="organization_id" value="{personas.other_org.id}"' in body
    assert f'name="next" value="{url}"' in body
    switched = c.post(
        reverse("accounts:organization_switch"),
        {"organization_id": str(personas.other_org.id), "next": url},
    )
    assert switched["Location"] == url and c.get(url).status_code == 200
    # The other way round, and for a change, still a plain 404 after switching back.
    assert (
        c.post(
            workspace_url("workspaces:workspace_archive", personas.default_workspace)
        ).status_code
        == 404
    )


def test_no_offer_where_one_could_not_see_the_workspace(client, personas):
    from tests.factories import MemberFactory, WorkspaceFactory

    hidden = WorkspaceFactory(organization=personas.other_org, name="Secret")
    MemberFactory(organization=personas.other_org, user=personas.developer, role="developer")
    c = client(personas.developer)
    # A developer there sees only workspaces they belong to: no hint that it exists.
    response = c.get(workspace_url("workspaces:workspace_members", hidden))
    assert response.status_code == 404 and b"Secret" not in response.content
    # Nor for a stranger, nor for an htmx request.
    assert (
        client(personas.user).get(workspace_url("workspaces:workspace_members", hidden)).status_code
        == 404
    )
    admin_there = client(personas.outsider)
    own = personas.default_workspace
    assert admin_there.get(workspace_url("workspaces:workspace_members", own)).status_code == 404
