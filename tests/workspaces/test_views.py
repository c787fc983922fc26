"""Settings > Workspaces and the Members tab: the permission triad, bad input, queries."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import OrgRole, WorkspaceRole
from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory
from workspaces.models import Workspace, WorkspaceMember


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def workspace(personas):
    """A workspace where the developer persona is Workspace Admin and the user persona a
    Workspace User."""
    workspace = WorkspaceFactory(organization=personas.org, name="Production")
    WorkspaceMemberFactory(workspace=workspace, user=personas.developer, role=WorkspaceRole.ADMIN)
    WorkspaceMemberFactory(workspace=workspace, user=personas.user, role=WorkspaceRole.USER)
    return workspace


@pytest.fixture
def newcomer(personas):
    return MemberFactory(
        organization=personas.org, role=OrgRole.DEVELOPER, user__email="new@acme.test"
    ).user


def url(name, workspace, *extra):
    return reverse(f"workspaces:{name}", args=[workspace.public_id, *extra])


# -- The list -------------------------------------------------------------------------


def test_list_shows_default_and_hides_archived_unless_asked(personas, workspace, htmx):
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


def test_users_see_only_their_workspaces_and_default(personas, workspace):
    hidden = WorkspaceFactory(organization=personas.org, name="Secret")
    for who in (personas.user, personas.developer):
        page = client(who).get(reverse("workspaces:workspace_list")).content.decode()
        assert 'data-workspace="Production"' in page and 'data-workspace="Default"' in page
        assert 'data-workspace="Secret"' not in page
        assert client(who).get(url("workspace_members", hidden)).status_code == 404
    billing_page = (
        client(personas.billing).get(reverse("workspaces:workspace_list")).content.decode()
    )
    assert 'data-workspace="Secret"' in billing_page


def test_add_workspace_button_only_for_admins(personas):
    assert (
        b"Add Workspace" in client(personas.admin).get(reverse("workspaces:workspace_list")).content
    )
    for who in (personas.billing, personas.developer, personas.user):
        assert b"Add Workspace" not in client(who).get(reverse("workspaces:workspace_list")).content


def test_default_row_has_no_menu(personas, workspace):
    page = client(personas.admin).get(reverse("workspaces:workspace_list")).content.decode()
    assert 'aria-label="Actions for Production"' in page
    assert 'aria-label="Actions for Default"' not in page


# -- Create / edit / archive: the triad -------------------------------------------------


@pytest.mark.parametrize("who", ["billing", "developer", "user"])
def test_only_org_admins_create(personas, who):
    response = client(getattr(personas, who)).post(
        reverse("workspaces:workspace_create"), {"name": "X", "display_color": "#3B82F6"}
    )
    assert response.status_code == 403
    assert not Workspace.objects.filter(name="X").exists()


def test_admin_creates_with_htmx(personas, htmx):
    response = client(personas.admin).post(
        reverse("workspaces:workspace_create"),
        {"name": "Research", "display_color": "#7C6FE0"},
        **htmx,
    )
    assert response.status_code == 204
    assert "workspaces:changed" in response["HX-Trigger"]
    workspace = Workspace.objects.get(name="Research")
    assert workspace.display_color == "#7C6FE0" and workspace.organization == personas.org


def test_create_without_htmx_redirects_to_list(personas):
    response = client(personas.admin).post(
        reverse("workspaces:workspace_create"), {"name": "Plain", "display_color": "#7C6FE0"}
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "workspaces:workspace_list"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "display_color": "#7C6FE0"}, "Enter a name for the workspace."),
        ({"name": "   ", "display_color": "#7C6FE0"}, "Enter a name for the workspace."),
        ({"name": "x" * 41, "display_color": "#7C6FE0"}, "at most 40 characters"),
        ({"name": "Fine", "display_color": "#000000"}, "Choose one of the colours shown."),
    ],
)
def test_create_errors_stay_in_the_modal_and_keep_input(personas, htmx, data, message):
    response = client(personas.admin).post(reverse("workspaces:workspace_create"), data, **htmx)
    body = response.content.decode()
    assert response.status_code == 200 and "<dialog" in body and message in body
    if data["name"].strip():
        assert f'value="{data["name"]}"' in body
    assert Workspace.objects.filter(organization=personas.org).count() == 1


def test_limit_error_shows_in_modal(personas, htmx):
    WorkspaceFactory.create_batch(99, organization=personas.org)
    response = client(personas.admin).post(
        reverse("workspaces:workspace_create"),
        {"name": "One more", "display_color": "#7C6FE0"},
        **htmx,
    )
    assert b"limit of 100 workspaces" in response.content
    assert b'value="One more"' in response.content


def test_names_with_html_render_escaped(personas, htmx):
    client(personas.admin).post(
        reverse("workspaces:workspace_create"),
        {"name": "<b>bold</b>", "display_color": "#7C6FE0"},
        **htmx,
    )
    page = client(personas.admin).get(reverse("workspaces:workspace_list")).content
    assert b"<b>bold</b>" not in page and b"&lt;b&gt;bold&lt;/b&gt;" in page


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 204), ("developer", 204), ("billing", 403), ("user", 403)]
)
def test_edit_by_role(personas, workspace, htmx, who, status):
    """Org admins and workspace admins (the developer persona here) edit details."""
    response = client(getattr(personas, who)).post(
        url("workspace_edit", workspace), {"name": "Renamed", "display_color": "#D14D72"}, **htmx
    )
    assert response.status_code == status
    workspace.refresh_from_db()
    assert (workspace.name == "Renamed") is (status == 204)


def test_other_organization_gets_404_everywhere(personas, workspace, htmx):
    c = client(personas.outsider)
    for name in (
        "workspace_detail",
        "workspace_members",
        "workspace_edit",
        "workspace_archive",
        "workspace_member_add",
    ):
        assert c.get(url(name, workspace)).status_code == 404, name
    assert c.post(url("workspace_archive", workspace)).status_code == 404
    assert (
        c.post(
            url("workspace_edit", workspace), {"name": "Hacked", "display_color": "#D14D72"}
        ).status_code
        == 404
    )
    assert (
        c.post(
            url("workspace_member_add", workspace),
            {"user": personas.outsider.public_id, "role": "workspace_admin"},
        ).status_code
        == 404
    )
    workspace.refresh_from_db()
    assert workspace.name == "Production" and not workspace.is_archived


def test_forged_workspace_id_is_404(personas):
    c = client(personas.admin)
    assert c.get("/settings/workspaces/wrkspc_0000000000000000000000ZZ/members/").status_code == 404
    assert c.get("/settings/workspaces/not-an-id/edit/").status_code == 404


def test_anonymous_is_sent_to_sign_in(personas, workspace):
    for target in (reverse("workspaces:workspace_list"), url("workspace_members", workspace)):
        response = Client().get(target)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_wrong_methods_are_405(personas, workspace):
    c = client(personas.admin)
    assert c.post(reverse("workspaces:workspace_list")).status_code == 405
    assert (
        c.get(url("workspace_member_change_role", workspace, personas.user.public_id)).status_code
        == 405
    )
    assert c.delete(url("workspace_archive", workspace)).status_code == 405


@pytest.mark.parametrize("who", ["developer", "billing", "user"])
def test_only_org_admins_archive(personas, workspace, who):
    assert client(getattr(personas, who)).post(url("workspace_archive", workspace)).status_code in (
        403,
        404,
    )
    workspace.refresh_from_db()
    assert not workspace.is_archived


def test_archive_confirm_dialog_and_archive(personas, workspace, htmx):
    c = client(personas.admin)
    dialog = c.get(url("workspace_archive", workspace), **htmx).content.decode()
    assert "cannot be undone" in dialog
    assert c.post(url("workspace_archive", workspace), **htmx).status_code == 204
    workspace.refresh_from_db()
    assert workspace.is_archived


def test_default_workspace_refuses_edit_and_archive_by_direct_post(personas, htmx):
    default = personas.default_workspace
    c = client(personas.admin)
    edit = c.post(
        url("workspace_edit", default), {"name": "Hacked", "display_color": "#D14D72"}, **htmx
    )
    assert b"Default workspace cannot be edited" in edit.content
    archive = c.post(url("workspace_archive", default), **htmx)
    assert b"Default workspace cannot be archived" in archive.content
    default.refresh_from_db()
    assert (default.name, default.archived_at) == ("Default", None)
    assert not AuditEvent.objects.exists()


def test_archived_workspace_refuses_changes_with_message(personas, workspace, htmx, newcomer):
    c = client(personas.admin)
    c.post(url("workspace_archive", workspace), **htmx)
    edit = c.post(
        url("workspace_edit", workspace), {"name": "Again", "display_color": "#D14D72"}, **htmx
    )
    assert b"archived" in edit.content
    add = c.post(
        url("workspace_member_add", workspace),
        {"user": newcomer.public_id, "role": "workspace_user"},
        **htmx,
    )
    assert b"archived" in add.content
    assert not WorkspaceMember.objects.filter(workspace=workspace, user=newcomer).exists()
    page = c.get(url("workspace_members", workspace)).content
    assert b"Add to Workspace" not in page


# -- Members tab --------------------------------------------------------------------------


def test_members_tab_shows_explicit_and_inherited(personas, workspace):
    page = client(personas.admin).get(url("workspace_members", workspace)).content.decode()
    for email in ("admin@acme.test", "billing@acme.test", "developer@acme.test", "user@acme.test"):
        assert f'data-email="{email}"' in page
    assert page.count("Inherited from organization role") == 2
    assert 'aria-label="Remove admin@acme.test' not in page
    assert 'aria-label="Remove developer@acme.test from workspace"' in page


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("billing", 200), ("developer", 200), ("user", 403)]
)
def test_members_tab_visibility(personas, workspace, who, status):
    assert (
        client(getattr(personas, who)).get(url("workspace_members", workspace)).status_code
        == status
    )


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 204), ("developer", 204), ("billing", 403), ("user", 403)]
)
def test_add_member_by_role(personas, workspace, htmx, newcomer, who, status):
    response = client(getattr(personas, who)).post(
        url("workspace_member_add", workspace),
        {"user": newcomer.public_id, "role": "workspace_developer"},
        **htmx,
    )
    assert response.status_code == status
    assert WorkspaceMember.objects.filter(workspace=workspace, user=newcomer).exists() is (
        status == 204
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"user": "", "role": "workspace_user"}, "Choose a member of the organization."),
        (
            {"user": "user_doesnotexist", "role": "workspace_user"},
            "Only members of this organization",
        ),
        ({"user": "OUTSIDER", "role": "workspace_user"}, "Only members of this organization"),
        ({"user": "USER", "role": "workspace_admin"}, "already a member"),
        ({"user": "NEW", "role": "workspace_billing"}, "Workspace Billing comes only"),
        ({"user": "NEW", "role": "superuser"}, "Choose one of the roles"),
    ],
)
def test_add_member_bad_input(personas, workspace, htmx, newcomer, data, message):
    ids = {
        "OUTSIDER": personas.outsider.public_id,
        "USER": personas.user.public_id,
        "NEW": newcomer.public_id,
    }
    data = {**data, "user": ids.get(data["user"], data["user"])}
    before = WorkspaceMember.objects.count()
    response = client(personas.admin).post(url("workspace_member_add", workspace), data, **htmx)
    assert response.status_code == 200 and message in response.content.decode()
    assert WorkspaceMember.objects.count() == before


def test_add_member_search_filters_candidates(personas, workspace, newcomer):
    MemberFactory(organization=personas.org, user__email="zed@acme.test", user__name="Zed")
    c = client(personas.admin)
    response = c.get(
        url("workspace_member_add", workspace),
        {"q": "zed"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="member-candidates",
    )
    body = response.content.decode()
    assert "zed@acme.test" in body and "new@acme.test" not in body and "<dialog" not in body
    everyone = c.get(
        url("workspace_member_add", workspace), HTTP_HX_REQUEST="true"
    ).content.decode()
    # Explicit members and organization admins are not offered.
    assert (
        "new@acme.test" in everyone
        and "user@acme.test" not in everyone
        and "admin@acme.test" not in everyone
    )


def test_change_role_in_place(personas, workspace, htmx):
    c = client(personas.admin)
    response = c.post(
        url("workspace_member_change_role", workspace, personas.user.public_id),
        {"role": "workspace_developer"},
        **htmx,
    )
    assert response.status_code == 200 and b"<tr" in response.content
    assert (
        WorkspaceMember.objects.get(workspace=workspace, user=personas.user).role
        == "workspace_developer"
    )
    refused = c.post(
        url("workspace_member_change_role", workspace, personas.user.public_id),
        {"role": "workspace_billing"},
        **htmx,
    )
    assert b"Workspace Billing comes only" in refused.content
    assert (
        WorkspaceMember.objects.get(workspace=workspace, user=personas.user).role
        == "workspace_developer"
    )


def test_change_role_of_inherited_admin_refused(personas, workspace, htmx):
    response = client(personas.admin).post(
        url("workspace_member_change_role", workspace, personas.admin.public_id),
        {"role": "workspace_user"},
        **htmx,
    )
    assert b"inherited" in response.content


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 204), ("developer", 204), ("billing", 403), ("user", 403)]
)
def test_remove_member_by_role(personas, workspace, htmx, who, status):
    response = client(getattr(personas, who)).post(
        url("workspace_member_remove", workspace, personas.user.public_id), **htmx
    )
    assert response.status_code == status
    assert WorkspaceMember.objects.filter(workspace=workspace, user=personas.user).exists() is (
        status != 204
    )


def test_remove_member_of_other_org_is_404(personas, workspace):
    response = client(personas.admin).post(
        url("workspace_member_remove", workspace, personas.outsider.public_id)
    )
    assert response.status_code == 404


def test_default_workspace_members_tab(personas):
    page = (
        client(personas.admin)
        .get(url("workspace_members", personas.default_workspace))
        .content.decode()
    )
    assert page.count('data-email="') == 4
    assert "Add to Workspace" not in page


def test_tabs_are_real_urls_and_htmx_gets_partial(personas, workspace, htmx):
    c = client(personas.admin)
    full = c.get(url("workspace_members", workspace)).content.decode()
    partial = c.get(url("workspace_members", workspace), **htmx).content.decode()
    assert "<html" in full and 'aria-current="page"' in full
    assert "<html" not in partial and 'id="tab-panel"' in partial
    assert c.get(url("workspace_detail", workspace))["Location"] == url(
        "workspace_members", workspace
    )


def test_switcher_lists_visible_workspaces(personas, workspace):
    WorkspaceFactory(organization=personas.org, name="Hidden")
    page = (
        client(personas.user)
        .get(
            url("workspace_members", personas.default_workspace)
            if False
            else reverse("workspaces:workspace_list")
        )
        .content.decode()
    )
    switcher = page[page.index('data-testid="workspace-switcher"') :]
    switcher = switcher[: switcher.index("</details>")]
    assert "Production" in switcher and "Default" in switcher and "Hidden" not in switcher


# -- Query counts ---------------------------------------------------------------------


def _list_queries(
    personas, django_assert_num_queries, workspaces: int, members: int, expected: int
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


def test_list_queries_small(personas, django_assert_num_queries):
    _list_queries(personas, django_assert_num_queries, 3, 6, LIST_QUERIES)


def test_list_queries_large(personas, django_assert_num_queries):
    _list_queries(personas, django_assert_num_queries, 100, 1000, LIST_QUERIES)


@pytest.mark.parametrize("members", [5, 2000])
def test_members_tab_queries_do_not_grow(personas, workspace, django_assert_num_queries, members):
    people = MemberFactory.create_batch(members, organization=personas.org)
    WorkspaceMember.objects.bulk_create(
        WorkspaceMember(
            workspace=workspace, user=p.user, organization_member=p, role="workspace_user"
        )
        for p in people
    )
    c = client(personas.admin)
    c.get(url("workspace_members", workspace))
    with django_assert_num_queries(8):
        response = c.get(url("workspace_members", workspace))
    assert response.content.count(b'data-email="') == members + 4
