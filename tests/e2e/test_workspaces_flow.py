"""Settings > Workspaces, walked the way the help articles describe: create, edit, members,
archive; and what the Default workspace and a developer do not get."""

from playwright.sync_api import Locator, Page, expect

from accounts.roles import WorkspaceRole
from tests.e2e.conftest import no_full_reload, open_dialog, path_of, shot, sign_in
from tests.factories import PASSWORD, WorkspaceFactory, WorkspaceMemberFactory
from workspaces.models import NAME_MAX_LENGTH, Workspace, WorkspaceColor


def _table(page: Page):
    return page.get_by_test_id("workspaces-table")


def _row(page: Page, name: str):
    return _table(page).locator(f'tr[data-workspace="{name}"]')


def _open_add_workspace(page: Page):
    page.get_by_role("link", name="Add Workspace").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Add Workspace")).to_be_visible()
    return dialog


def _row_action(page: Page, workspace: str, action: str):
    """Open the row's ⋯ menu and choose `action`; returns the dialog that opens."""
    page.get_by_label(f"Actions for {workspace}").click()
    _row(page, workspace).get_by_role("link", name=action).click()
    return open_dialog(page)


def _shown_where_it_is(item: Locator) -> bool:
    """Whether a click at the middle of `item`, where it is now (no scrolling), lands on it:
    false when an ancestor's overflow clips it or something covers it."""
    return item.evaluate(
        """el => {
            const r = el.getBoundingClientRect();
            const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
            return el.contains(hit);
        }"""
    )


def _swatch(dialog, label: str):
    return dialog.locator(f'label.swatch[title="{label}"]')


def test_create_workspace(transactional_db, personas, live_server, page: Page):
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    assert path_of(page) == "/settings/workspaces/"
    same_document = no_full_reload(page)

    dialog = _open_add_workspace(page)
    dialog.get_by_label("Name").fill("Research")
    _swatch(dialog, "Sky").click()
    expect(dialog.locator('input[name="display_color"]:checked')).to_have_value(WorkspaceColor.SKY)
    shot(page, "add-workspace-dialog")
    dialog.get_by_role("button", name="Create").click()

    expect(page.locator("dialog")).to_have_count(0)
    row = _row(page, "Research")
    expect(row).to_contain_text("Active")
    expect(row.locator("svg.dot circle")).to_have_attribute("fill", WorkspaceColor.SKY)
    expect(page.locator("#toasts")).to_contain_text("Workspace “Research” created.")
    same_document()
    shot(page, "workspace-created")
    workspace = Workspace.objects.get(organization=personas.org, name="Research")
    assert workspace.display_color == WorkspaceColor.SKY


def test_create_errors_stay_in_the_modal(transactional_db, personas, live_server, page: Page):
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    dialog = _open_add_workspace(page)

    # No name: the error shows inside the dialog, the chosen colour is kept.
    _swatch(dialog, "Teal").click()
    dialog.get_by_role("button", name="Create").click()
    dialog = open_dialog(page)
    expect(dialog.locator(".errorlist")).to_have_text("Enter a name for the workspace.")
    expect(dialog.locator('input[name="display_color"]:checked')).to_have_value(WorkspaceColor.TEAL)
    shot(page, "empty-name-error")

    # A name the server refuses (past the input's maxlength): the typed text is kept.
    too_long = "x" * (NAME_MAX_LENGTH + 1)
    name = dialog.get_by_label("Name")
    name.evaluate("input => input.removeAttribute('maxlength')")
    name.fill(too_long)
    dialog.get_by_role("button", name="Create").click()
    dialog = open_dialog(page)
    expect(dialog.locator(".errorlist")).to_contain_text(f"at most {NAME_MAX_LENGTH} characters")
    expect(dialog.get_by_label("Name")).to_have_value(too_long)
    shot(page, "long-name-error")

    # Corrected in the same dialog, it is created.
    dialog.get_by_label("Name").fill("Fixed name")
    dialog.get_by_role("button", name="Create").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(_row(page, "Fixed name")).to_be_visible()
    assert not Workspace.objects.filter(name=too_long).exists()


def test_edit_workspace_details(transactional_db, personas, live_server, page: Page):
    WorkspaceFactory(organization=personas.org, name="Old name")
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    same_document = no_full_reload(page)

    dialog = _row_action(page, "Old name", "Edit details")
    expect(dialog.get_by_role("heading", name="Edit details")).to_be_visible()
    name = dialog.get_by_label("Name")
    expect(name).to_have_value("Old name")
    name.fill("New name")
    shot(page, "edit-dialog")
    dialog.get_by_role("button", name="Save").click()

    expect(page.locator("dialog")).to_have_count(0)
    expect(_row(page, "New name")).to_be_visible()
    expect(_row(page, "Old name")).to_have_count(0)
    same_document()
    shot(page, "workspace-renamed")


def test_edit_details_from_workspace_page(transactional_db, personas, live_server, page: Page):
    workspace = WorkspaceFactory(organization=personas.org, name="Old name")
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/workspaces/{workspace.public_id}/")

    page.get_by_role("link", name="Edit details").click()
    dialog = open_dialog(page)
    dialog.get_by_label("Name").fill("New name")
    dialog.get_by_role("button", name="Save").click()

    expect(page.locator("dialog")).to_have_count(0)
    try:
        expect(page.get_by_test_id("workspace-name")).to_contain_text("New name", timeout=3_000)
        expect(page.get_by_label("Switch workspace")).to_contain_text("New name")
    finally:
        shot(page, "after-save")


def test_add_member_to_workspace(transactional_db, personas, live_server, page: Page):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    developer = personas.developer.email
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    _row(page, "Research").get_by_role("link", name="Research").click()
    page.wait_for_url(f"**/settings/workspaces/{workspace.public_id}/members/")
    expect(page.get_by_test_id("workspace-name")).to_contain_text("Research")
    page.get_by_role("navigation", name="Workspace sections").get_by_role(
        "link", name="Members"
    ).click()
    members = page.get_by_test_id("workspace-members-table")
    expect(members.locator(f'tr[data-email="{developer}"]')).to_have_count(0)

    page.get_by_role("link", name="Add to Workspace").click()
    dialog = open_dialog(page)
    candidates = dialog.locator("#member-candidates")
    expect(candidates.get_by_role("radio")).to_have_count(3)  # everyone but the admin
    dialog.get_by_role("searchbox").fill("develop")
    expect(candidates.get_by_role("radio")).to_have_count(1)
    expect(candidates).to_contain_text(developer)
    candidates.locator("label", has_text=developer).click()
    dialog.get_by_label("Workspace role").select_option(label="Workspace Developer")
    shot(page, "add-member-dialog")
    dialog.get_by_role("button", name="Add to Workspace").click()

    expect(page.locator("dialog")).to_have_count(0)
    row = members.locator(f'tr[data-email="{developer}"]')
    expect(row.get_by_label(f"Workspace role of {developer}")).to_have_value(
        WorkspaceRole.DEVELOPER
    )
    expect(page.locator("#toasts")).to_contain_text(f"{developer} was added to Research.")
    shot(page, "member-added")
    assert workspace.members.filter(user=personas.developer).exists()

    # Change the role in place; it is kept.
    role = row.get_by_label(f"Workspace role of {developer}")
    with page.expect_response(lambda r: "/role/" in r.url and r.request.method == "POST"):
        role.select_option(label="Workspace Admin")
    page.reload()
    expect(row.get_by_label(f"Workspace role of {developer}")).to_have_value(WorkspaceRole.ADMIN)


def test_remove_member_from_workspace(transactional_db, personas, live_server, page: Page):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    WorkspaceMemberFactory(workspace=workspace, user=personas.developer)
    developer = personas.developer.email
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/workspaces/{workspace.public_id}/members/")
    row = page.get_by_test_id("workspace-members-table").locator(f'tr[data-email="{developer}"]')
    expect(row).to_be_visible()

    row.get_by_role("link", name=f"Remove {developer} from workspace").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Remove from workspace")).to_be_visible()
    expect(dialog).to_contain_text("They stay in the organization.")
    shot(page, "remove-member-dialog")
    dialog.get_by_role("button", name="Remove", exact=True).click()

    expect(page.locator("dialog")).to_have_count(0)
    expect(row).to_have_count(0)
    shot(page, "member-removed")
    assert not workspace.members.filter(user=personas.developer).exists()


def test_archive_workspace(transactional_db, personas, live_server, page: Page):
    WorkspaceFactory(organization=personas.org, name="Old project")
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    dialog = _row_action(page, "Old project", "Archive")
    expect(dialog.get_by_role("heading", name="Archive workspace")).to_be_visible()
    expect(dialog).to_contain_text("This action cannot be undone.")
    shot(page, "archive-dialog")
    dialog.get_by_role("button", name="Archive").click()

    expect(page.locator("dialog")).to_have_count(0)
    expect(_row(page, "Old project")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Workspace “Old project” archived.")

    page.get_by_role("switch", name="Show archived").check()
    row = _row(page, "Old project")
    expect(row.locator(".badge")).to_have_text("Archived")
    expect(row.locator("details")).to_have_count(0)
    assert page.url.endswith("?archived=1")
    shot(page, "archived-shown")

    # The archived workspace is read-only.
    row.get_by_role("link", name="Old project").click()
    expect(page.get_by_test_id("workspace-name")).to_contain_text("Archived")
    expect(page.get_by_text("read-only")).to_be_visible()
    expect(page.get_by_role("link", name="Edit details")).to_have_count(0)
    expect(page.get_by_role("link", name="Add to Workspace")).to_have_count(0)


def test_row_menu_is_not_clipped(transactional_db, personas, live_server, page: Page):
    WorkspaceFactory(organization=personas.org, name="Research")
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    page.get_by_label("Actions for Research").click()
    menu = _row(page, "Research").locator("details")
    expect(menu).to_have_attribute("open", "")
    shot(page, "row-menu-open")
    for action in ("Edit details", "Archive"):
        item = menu.get_by_role("link", name=action)
        assert _shown_where_it_is(item), f"the menu's “{action}” is hidden (clipped)"


def test_default_workspace_has_no_menu(transactional_db, personas, live_server, page: Page):
    WorkspaceFactory(organization=personas.org, name="Research")
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    default = _row(page, "Default")
    expect(default.locator(".badge")).to_have_text("Default")
    expect(default.locator("details, summary")).to_have_count(0)
    expect(page.get_by_label("Actions for Default")).to_have_count(0)
    expect(page.get_by_label("Actions for Research")).to_be_visible()
    shot(page, "default-row")

    default.get_by_role("link", name="Default").click()
    expect(page.get_by_test_id("workspace-name")).to_contain_text("Default")
    expect(page.get_by_role("link", name="Edit details")).to_have_count(0)


def test_developer_cannot_add_workspaces(transactional_db, personas, live_server, page: Page):
    sign_in(page, live_server, personas.developer.email, PASSWORD)

    assert path_of(page) == "/settings/workspaces/"
    expect(_row(page, "Default")).to_be_visible()
    expect(page.get_by_role("link", name="Add Workspace")).to_have_count(0)
    expect(_table(page).locator("details")).to_have_count(0)
    shot(page, "developer-list")


def test_double_click_on_create_makes_one_workspace(
    transactional_db, personas, live_server, page: Page
):
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    posts = []
    page.on(
        "request",
        lambda request: (
            posts.append(request.url)
            if request.method == "POST" and request.url.endswith("/settings/workspaces/new/")
            else None
        ),
    )
    dialog = _open_add_workspace(page)
    dialog.get_by_label("Name").fill("Research")
    dialog.get_by_role("button", name="Create").dblclick()

    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Workspace “Research” created.")
    expect(_row(page, "Research")).to_have_count(1)
    assert len(posts) == 1, posts
    assert Workspace.objects.filter(organization=personas.org, name="Research").count() == 1
    # Asking again for the same name, in any case, is refused in the dialog.
    dialog = _open_add_workspace(page)
    dialog.get_by_label("Name").fill("RESEARCH")
    dialog.get_by_role("button", name="Create").click()
    expect(open_dialog(page)).to_contain_text("There is already a workspace named “RESEARCH”")
    assert Workspace.objects.filter(organization=personas.org, name__iexact="research").count() == 1


def test_a_submit_button_is_disabled_and_busy_while_its_request_runs(
    transactional_db, personas, live_server, page: Page
):
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    dialog = _open_add_workspace(page)
    dialog.get_by_label("Name").fill("Slow one")
    release = []

    def hold(route) -> None:
        release.append(route)

    page.route("**/settings/workspaces/new/", hold)
    create = dialog.get_by_role("button", name="Create")
    create.click()
    expect(create).to_be_disabled()
    expect(dialog.locator("form")).to_have_attribute("aria-busy", "true")
    busy = create.evaluate("button => getComputedStyle(button, '::before').animationName")
    assert busy == "spin"
    release[0].continue_()
    expect(page.locator("dialog")).to_have_count(0)


def test_search_sort_and_show_archived_in_place(
    transactional_db, personas, live_server, page: Page
):
    for name in ("Support bot", "Search indexer", "Batch"):
        WorkspaceFactory(organization=personas.org, name=name)
    old = WorkspaceFactory(organization=personas.org, name="Old search")
    Workspace.objects.filter(pk=old.pk).update(archived_at=old.created_at)
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    same_document = no_full_reload(page)

    page.get_by_label("Search workspaces by name").fill("sea")
    expect(_table(page).locator("tbody tr")).to_have_count(1)
    expect(_row(page, "Search indexer")).to_be_visible()
    assert path_of(page) == "/settings/workspaces/?q=sea"

    page.get_by_role("switch", name="Show archived").check()
    expect(_row(page, "Old search")).to_be_visible()
    assert path_of(page) == "/settings/workspaces/?q=sea&archived=1"

    page.get_by_label("Search workspaces by name").fill("")
    expect(_table(page).locator("tbody tr")).to_have_count(5)  # the search has answered
    page.get_by_role("link", name="Name").click()
    expect(_table(page).locator("th[aria-sort=ascending]")).to_contain_text("Name")
    names = (
        _table(page)
        .locator("tbody tr")
        .evaluate_all("rows => rows.map(row => row.dataset.workspace)")
    )
    assert names == sorted(names, key=str.lower) and "Old search" in names
    page.get_by_role("link", name="Name").click()
    expect(_table(page).locator("th[aria-sort=descending]")).to_contain_text("Name")
    same_document()
    shot(page, "searched-sorted")


def test_a_link_into_another_organization_offers_to_switch(
    transactional_db, personas, live_server, page: Page
):
    from tests.factories import MemberFactory

    theirs = WorkspaceFactory(organization=personas.other_org, name="Their production")
    MemberFactory(organization=personas.other_org, user=personas.admin, role="admin")
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/workspaces/{theirs.public_id}/keys/")

    offer = page.get_by_test_id("other-organization")
    expect(offer.get_by_role("heading")).to_have_text("This workspace is in Other Org")
    shot(page, "offer-to-switch")
    offer.get_by_role("button", name="Switch to Other Org").click()
    page.wait_for_url(f"**/settings/workspaces/{theirs.public_id}/keys/")
    expect(page.get_by_test_id("workspace-name")).to_contain_text("Their production")
    expect(page.get_by_test_id("org-switcher")).to_contain_text("Other Org")


def test_the_workspace_id_copies(transactional_db, personas, live_server, page: Page):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/workspaces/{workspace.public_id}/members/")
    page.get_by_role("button", name="Copy workspace ID").click()
    expect(page.get_by_role("button", name="Copy workspace ID")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == workspace.public_id
