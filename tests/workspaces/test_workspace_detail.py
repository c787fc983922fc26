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
