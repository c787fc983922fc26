"""API keys, walked the way the help article "Managing API Keys in a Workspace" describes:
create one (its secret shown once), disable, enable, rename and delete it; the Default
workspace's keys; Settings > API Keys across workspaces; and Settings > Admin Keys."""

import re

from playwright.sync_api import Page, expect

from accounts.audit import Actor
from accounts.models import AdminApiKey, KeyStatus
from tests.e2e.conftest import no_full_reload, open_dialog, path_of, shot, sign_in
from tests.factories import PASSWORD, WorkspaceFactory
from workspaces import services
from workspaces.models import ApiKey

API_PREFIX = "sk-ant-api03-"
ADMIN_PREFIX = "sk-ant-admin01-"


def _keys_table(page: Page):
    return page.get_by_test_id("keys-table")


def _key_row(page: Page, name: str):
    return _keys_table(page).locator(f'tr[data-key="{name}"]')


def _key_action(page: Page, name: str, action: str):
    """Open the key's ⋯ menu and choose `action`; returns the dialog that opens."""
    page.get_by_label(f"Actions for key {name}", exact=True).click()
    page.locator(f'tr[data-key="{name}"]').get_by_role("link", name=action).click()
    return open_dialog(page)


def _hint_of(secret: str, prefix: str) -> str:
    body = secret.removeprefix(prefix)
    return f"{prefix}{body[:3]}...{body[-4:]}"


def _key_in(workspace, name: str, user) -> tuple[ApiKey, str]:
    return services.api_key_create(actor=Actor.for_user(user), workspace=workspace, name=name)


def _check_secret_dialog(page: Page, prefix: str) -> str:
    """The "shown once" modal: the secret, a Copy button and the warning. Copies the secret
    and checks the clipboard (or, without one, the button's "Copied"). Returns the secret."""
    dialog = open_dialog(page)
    secret_input = dialog.get_by_test_id("new-secret")
    expect(secret_input).to_have_value(re.compile(rf"^{re.escape(prefix)}\S{{20,}}$"))
    secret = secret_input.input_value()
    expect(dialog.get_by_role("alert")).to_contain_text("it will not be shown again")
    copy = dialog.get_by_role("button", name="Copy")
    expect(copy).to_be_visible()
    copy.click()
    expect(dialog.get_by_role("button", name="Copied")).to_be_visible()
    clipboard = page.evaluate(
        "() => navigator.clipboard && window.isSecureContext"
        " ? navigator.clipboard.readText() : null"
    )
    if clipboard is not None:
        assert clipboard == secret
    return secret


def _close_secret_dialog(page: Page) -> None:
    """Done, the close button, Esc: none closes the secret's dialog until "I have copied it" is ticked."""
    dialog = page.locator("dialog[open]")
    box = dialog.get_by_label("I have copied the key and stored it somewhere safe")
    dialog.get_by_role("link", name="Done").click()
    expect(dialog.get_by_text("Tick the box once the key is copied")).to_be_visible()
    expect(box).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")  # a second Esc, which the browser never lets a page refuse
    expect(page.locator("dialog[open]")).to_have_count(1)
    dialog.get_by_role("link", name="Close").click()
    expect(page.locator("dialog[open]")).to_have_count(1)
    box.check()
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)


def test_create_key_shows_secret_once(transactional_db, personas, live_server, page: Page):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    # Settings > Workspaces > the workspace's name > API Keys.
    page.get_by_test_id("workspaces-table").get_by_role("link", name="Research").click()
    page.wait_for_url(f"**/settings/workspaces/{workspace.public_id}/members/")
    page.get_by_role("navigation", name="Workspace sections").get_by_role(
        "link", name="API Keys"
    ).click()
    page.wait_for_url(f"**/settings/workspaces/{workspace.public_id}/keys/")
    expect(_keys_table(page)).to_contain_text("No API keys yet.")
    same_document = no_full_reload(page)

    page.get_by_role("link", name="Create Key").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Create API key")).to_be_visible()
    expect(dialog).to_contain_text("The key will belong to Research.")
    dialog.get_by_label("Name").fill("support-bot production")
    shot(page, "create-key-dialog")
    dialog.get_by_role("button", name="Create Key").click()

    expect(open_dialog(page).get_by_role("heading", name="Save your key")).to_be_visible()
    secret = _check_secret_dialog(page, API_PREFIX)
    shot(page, "secret-shown-once")

    _close_secret_dialog(page)
    row = _key_row(page, "support-bot production")
    hint = _hint_of(secret, API_PREFIX)
    expect(row.locator("code")).to_have_text(hint)
    expect(row.locator(".badge")).to_have_text("Active")
    expect(row).to_contain_text(personas.admin.email)
    same_document()
    shot(page, "key-listed")
    assert secret not in page.content()
    page.reload()
    expect(_key_row(page, "support-bot production")).to_be_visible()
    assert secret not in page.content()

    key = ApiKey.objects.get(workspace=workspace)
    assert (key.name, key.hint, key.status) == ("support-bot production", hint, KeyStatus.ACTIVE)
    assert services.api_key_authenticate(secret) == key


def test_key_menu_disable_enable_rename_delete(transactional_db, personas, live_server, page: Page):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    key, _secret = _key_in(workspace, "batch-jobs", personas.admin)
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/workspaces/{workspace.public_id}/keys/")
    same_document = no_full_reload(page)
    badge = _key_row(page, "batch-jobs").locator(".badge")
    expect(badge).to_have_text("Active")

    # Disable.
    page.get_by_label("Actions for key batch-jobs", exact=True).click()
    shot(page, "key-menu-open")
    _key_row(page, "batch-jobs").get_by_role("link", name="Disable API Key").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Disable API Key")).to_be_visible()
    expect(dialog).to_contain_text("Requests using this key will fail until it is enabled again.")
    shot(page, "disable-dialog")
    dialog.get_by_role("button", name="Disable API Key").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(badge).to_have_text("Disabled")
    expect(page.locator("#toasts")).to_contain_text("API key “batch-jobs” disabled.")
    shot(page, "key-disabled")

    # Enable.
    dialog = _key_action(page, "batch-jobs", "Enable API Key")
    dialog.get_by_role("button", name="Enable API Key").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(badge).to_have_text("Active")

    # Rename.
    dialog = _key_action(page, "batch-jobs", "Rename")
    expect(dialog.get_by_role("heading", name="Rename API key")).to_be_visible()
    expect(dialog.get_by_label("Name")).to_have_value("batch-jobs")
    dialog.get_by_label("Name").fill("nightly batch")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(_key_row(page, "nightly batch")).to_be_visible()
    expect(_key_row(page, "batch-jobs")).to_have_count(0)
    shot(page, "key-renamed")

    # Delete: permanent.
    dialog = _key_action(page, "nightly batch", "Delete API Key")
    expect(dialog.get_by_role("heading", name="Delete API Key")).to_be_visible()
    expect(dialog).to_contain_text("permanent and cannot be undone")
    shot(page, "delete-dialog")
    dialog.get_by_role("button", name="Delete API Key").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(_key_row(page, "nightly batch")).to_have_count(0)
    expect(_keys_table(page)).to_contain_text("No API keys yet.")
    same_document()

    page.get_by_role("switch", name="Show deleted").check()
    deleted = _key_row(page, "nightly batch")
    expect(deleted.locator(".badge")).to_have_text("Deleted")
    expect(deleted.locator("details")).to_have_count(0)
    shot(page, "deleted-shown")
    key.refresh_from_db()
    assert (key.name, key.status) == ("nightly batch", KeyStatus.ARCHIVED)


def test_default_workspace_opens_on_api_keys(transactional_db, personas, live_server, page: Page):
    default = personas.default_workspace
    _key_in(default, "default-key", personas.admin)
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    page.get_by_test_id("workspaces-table").get_by_role("link", name="Default").click()
    page.wait_for_url(f"**/settings/workspaces/{default.public_id}/keys/")
    tabs = page.get_by_role("navigation", name="Workspace sections")
    expect(tabs.get_by_role("link", name="API Keys")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("workspace-name")).to_contain_text("Default")
    expect(_key_row(page, "default-key")).to_be_visible()
    shot(page, "default-workspace-keys")


def test_settings_api_keys_across_workspaces(transactional_db, personas, live_server, page: Page):
    research = WorkspaceFactory(organization=personas.org, name="Research")
    _key_in(personas.default_workspace, "default-key", personas.admin)
    _key_in(research, "research-key", personas.admin)
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    page.get_by_role("complementary", name="Settings").get_by_role("link", name="API Keys").click()
    page.wait_for_url("**/settings/api-keys/")
    expect(_key_row(page, "default-key")).to_contain_text("Default")
    expect(_key_row(page, "research-key")).to_contain_text("Research")
    shot(page, "all-keys")

    page.get_by_label("Workspace", exact=True).select_option(label="Research")
    expect(_key_row(page, "default-key")).to_have_count(0)
    expect(_key_row(page, "research-key")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"workspace={research.public_id}"))
    shot(page, "filtered-to-research")

    # A key's menu works here too; the list refreshes and keeps its filter.
    dialog = _key_action(page, "research-key", "Disable API Key")
    dialog.get_by_role("button", name="Disable API Key").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(_key_row(page, "research-key").locator(".badge")).to_have_text("Disabled")
    expect(_key_row(page, "default-key")).to_have_count(0)
    expect(page.get_by_label("Workspace", exact=True)).to_have_value(research.public_id)

    page.get_by_label("Workspace", exact=True).select_option(label="All Workspaces")
    expect(_key_row(page, "default-key")).to_be_visible()
    expect(_key_row(page, "research-key")).to_be_visible()


def test_admin_keys(transactional_db, personas, live_server, page: Page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.get_by_role("complementary", name="Settings").get_by_role(
        "link", name="Admin Keys"
    ).click()
    page.wait_for_url("**/settings/admin-keys/")
    table = page.get_by_test_id("admin-keys-table")
    expect(table).to_contain_text("No Admin keys yet.")
    same_document = no_full_reload(page)

    page.get_by_role("link", name="Create Admin key").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Create Admin key")).to_be_visible()
    dialog.get_by_label("Name").fill("terraform")
    dialog.get_by_role("button", name="Create Key").click()
    expect(open_dialog(page).get_by_role("heading", name="Save your Admin key")).to_be_visible()
    secret = _check_secret_dialog(page, ADMIN_PREFIX)
    shot(page, "admin-secret-shown-once")
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("I have copied the key and stored it somewhere safe").check()
    dialog.get_by_role("link", name="Done").click()
    expect(page.locator("dialog")).to_have_count(0)

    row = table.locator('tr[data-key="terraform"]')
    expect(row.locator("code")).to_have_text(_hint_of(secret, ADMIN_PREFIX))
    expect(row.locator(".badge")).to_have_text("Active")
    assert secret not in page.content()
    shot(page, "admin-key-listed")

    page.get_by_label("Actions for key terraform", exact=True).click()
    row.get_by_role("link", name="Disable key").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Disable Admin key")).to_be_visible()
    dialog.get_by_role("button", name="Disable Admin key").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(row.locator(".badge")).to_have_text("Disabled")
    shot(page, "admin-key-disabled")

    page.get_by_label("Actions for key terraform", exact=True).click()
    row.get_by_role("link", name="Delete key").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Delete Admin key")).to_be_visible()
    expect(dialog).to_contain_text("permanent and cannot be undone")
    dialog.get_by_role("button", name="Delete Admin key").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(row).to_have_count(0)
    expect(table).to_contain_text("No Admin keys yet.")
    same_document()
    shot(page, "admin-key-deleted")
    assert AdminApiKey.objects.get(name="terraform").status == KeyStatus.ARCHIVED
    assert path_of(page) == "/settings/admin-keys/"


def test_the_expiry_date_shows_only_for_a_date(transactional_db, personas, live_server, new_page):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    page = new_page()
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/workspaces/{workspace.public_id}/keys/")
    page.get_by_role("link", name="Create Key").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_label("Expiry date")).to_be_hidden()
    dialog.get_by_label("Expires").select_option(label="On a date…")
    expect(dialog.get_by_label("Expiry date")).to_be_visible()
    dialog.get_by_label("Expires").select_option(label="30 days")
    expect(dialog.get_by_label("Expiry date")).to_be_hidden()

    # Without script the dialog is a page, and choosing a date still shows the field.
    plain = new_page(java_script_enabled=False)
    sign_in(plain, live_server, personas.admin.email, PASSWORD)
    plain.goto(f"{live_server.url}/settings/workspaces/{workspace.public_id}/keys/new/")
    expect(plain.get_by_label("Expiry date")).to_be_hidden()
    plain.get_by_label("Name").fill("dated")
    plain.get_by_label("Expires").select_option(label="On a date…")
    plain.get_by_label("Expiry date").fill("2027-05-01")
    plain.get_by_role("button", name="Create Key").click()
    expect(plain.get_by_role("heading", name="Save your key")).to_be_visible()
    key = ApiKey.objects.get(workspace=workspace, name="dated")
    assert key.expires_at.date().isoformat() == "2027-05-01"


def test_older_and_newer_follow_the_pages_of_a_key_list(
    transactional_db, personas, live_server, page: Page
):
    from tests.helpers import bulk_api_keys

    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    bulk_api_keys(workspace, 55, personas.admin)
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/workspaces/{workspace.public_id}/keys/?q=key")
    expect(_keys_table(page).locator("tbody tr")).to_have_count(50)
    first_page = _keys_table(page).locator("tbody tr").first.get_attribute("data-key")

    page.get_by_role("link", name="Older").click()
    expect(_keys_table(page).locator("tbody tr")).to_have_count(5)
    assert "?q=key&cursor=" in page.url and "??" not in page.url
    shot(page, "page-2")
    page.get_by_role("link", name="Newer").click()
    expect(_keys_table(page).locator("tbody tr")).to_have_count(50)
    expect(_keys_table(page).locator("tbody tr").first).to_have_attribute("data-key", first_page)

    # The search box narrows the list in place.
    same_document = no_full_reload(page)
    page.get_by_label("Search keys by name").fill("key 7")
    expect(_keys_table(page).locator("tbody tr")).to_have_count(1)
    same_document()


def test_an_archived_workspace_shows_its_keys_archived(
    transactional_db, personas, live_server, page: Page
):
    workspace = WorkspaceFactory(organization=personas.org, name="Old")
    _key_in(workspace, "legacy bot", personas.admin)
    services.workspace_archive(actor=Actor.for_user(personas.admin), workspace=workspace)
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/workspaces/{workspace.public_id}/keys/")
    expect(_key_row(page, "legacy bot").locator(".badge")).to_have_text("Archived")
    expect(page.get_by_text("No API keys yet.")).to_have_count(0)
