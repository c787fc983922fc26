"""Limits, walked the way the help articles "Setting Workspace Rate Limits" and "Setting
Workspace Spend Limits or Notifications" describe: a workspace's own rate limit (edit,
refused above the organization's, reset), its spend limit and notifications; the Default
workspace and Settings > Limits; and what a billing member sees."""

import re

from playwright.sync_api import Page, expect

from accounts.audit import Actor
from billing import services, usage
from billing.models import (
    Model,
    ModelGroup,
    SpendNotification,
    UsageTier,
    WorkspaceRateLimit,
    WorkspaceSpendLimit,
)
from tests.e2e.conftest import no_full_reload, open_dialog, sign_in
from tests.e2e.conftest import shot as full_page_shot
from tests.factories import PASSWORD, WorkspaceFactory
from workspaces import services as workspace_services

SONNET = "Claude Sonnet 4.x"
SONNET_RPM = "sonnet-4:requests_per_minute"
TIER_1_SONNET_RPM = 50  # billing/migrations/0002_load_catalog.py


def shot(page: Page, name: str) -> None:
    """`conftest.shot` from the top of the page: these pages are long, and a full-page
    screenshot taken scrolled down repeats the sticky top bar halfway down."""
    page.evaluate("window.scrollTo(0, 0)")
    full_page_shot(page, name)


def _rate_row(page: Page, limit: str = SONNET_RPM):
    return page.get_by_test_id("rate-limits-table").locator(f'tr[data-limit="{limit}"]')


def _open_limits_tab(page: Page, workspace_name: str) -> None:
    """Settings > Workspaces > the workspace's name > Limits."""
    page.get_by_test_id("workspaces-table").get_by_role("link", name=workspace_name).click()
    page.get_by_role("navigation", name="Workspace sections").get_by_role(
        "link", name="Limits"
    ).click()
    page.wait_for_url("**/limits/")
    expect(page.get_by_test_id("rate-limits-table")).to_be_visible()


def _cells(row):
    """The row's Organization, Workspace and In force cells."""
    cells = row.locator("td")
    return cells.nth(1), cells.nth(2), cells.nth(3)


def _tier_2_with_spend_limit(organization, admin, cents: int) -> None:
    actor = Actor.for_user(admin)
    services.organization_limits_change(
        actor=actor, organization=organization, tier=UsageTier.objects.get(name="Tier 2")
    )
    services.organization_spend_limit_set(
        actor=actor, organization=organization, amount_cents=cents
    )


def _spend(workspace, user, output_tokens: int) -> None:
    """Usage in `workspace`: `output_tokens` of claude-sonnet-4-5 ($15 per million)."""
    key, _secret = workspace_services.api_key_create(
        actor=Actor.for_user(user), workspace=workspace, name="usage"
    )
    usage.record(
        api_key=key,
        model=Model.objects.get(api_name="claude-sonnet-4-5"),
        tokens={"output_tokens": output_tokens},
    )


def test_workspace_rate_limit_set_and_reset(transactional_db, personas, live_server, page: Page):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    _open_limits_tab(page, "Research")
    same_document = no_full_reload(page)
    row = _rate_row(page)
    organization, own, in_force = _cells(row)
    expect(organization).to_contain_text(str(TIER_1_SONNET_RPM))
    expect(own).to_have_text("—")
    expect(in_force).to_contain_text(str(TIER_1_SONNET_RPM))
    shot(page, "limits-tab")

    row.get_by_label(f"Edit {SONNET} requests per minute").click()
    value = row.get_by_label(f"{SONNET} Requests per minute", exact=True)
    expect(value).to_be_focused()
    expect(value).to_have_value(str(TIER_1_SONNET_RPM))

    # Above the organization's limit: refused, with the error in the row.
    value.fill(str(TIER_1_SONNET_RPM + 10))
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".errorlist")).to_have_text(
        f"A workspace limit can be at most the organization's ({TIER_1_SONNET_RPM})."
    )
    expect(row.get_by_label(f"{SONNET} Requests per minute", exact=True)).to_have_value(
        str(TIER_1_SONNET_RPM + 10)
    )
    shot(page, "above-organization-error")
    assert not WorkspaceRateLimit.objects.filter(workspace=workspace).exists()

    # A lower value is saved and is the one in force.
    row.get_by_label(f"{SONNET} Requests per minute", exact=True).fill("20")
    row.get_by_role("button", name="Save").click()
    expect(row.locator("form.inline-edit")).to_have_count(0)
    expect(own).to_have_text("20")
    expect(in_force).to_contain_text("20")
    expect(in_force).to_contain_text("workspace")
    expect(organization).to_contain_text(str(TIER_1_SONNET_RPM))
    shot(page, "workspace-limit-saved")
    assert WorkspaceRateLimit.objects.get(workspace=workspace).value == 20

    # The refresh icon: back to the organization's limit.
    row.get_by_label(f"Reset {SONNET} requests per minute to the organization's limit").click()
    expect(own).to_have_text("—")
    expect(in_force).to_contain_text(str(TIER_1_SONNET_RPM))
    expect(in_force).to_contain_text("organization tier")
    expect(row.get_by_role("button", name="Reset", exact=False)).to_have_count(0)
    same_document()
    shot(page, "workspace-limit-reset")
    assert not WorkspaceRateLimit.objects.filter(workspace=workspace).exists()


def test_workspace_spend_limit(transactional_db, personas, live_server, page: Page):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    _tier_2_with_spend_limit(personas.org, personas.admin, 400_00)
    _spend(workspace, personas.admin, 2_000_000)  # $30 of Sonnet output
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    _open_limits_tab(page, "Research")
    card = page.get_by_test_id("spend-card")
    expect(card.get_by_test_id("spend-limit")).to_have_text("$400.00")
    expect(card.locator(".spend-figures")).to_contain_text("$30.00 spent this month")
    expect(card).to_contain_text("Not set: the organization's applies")

    card.get_by_role("link", name="Change Limit").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Change spend limit")).to_be_visible()
    expect(dialog).to_contain_text("lower than the organization's ($400.00)")
    amount = dialog.get_by_label("Monthly spend limit (USD)")

    # Equal to the organization's: refused in the modal.
    amount.fill("400")
    dialog.get_by_role("button", name="Save").click()
    dialog = open_dialog(page)
    expect(dialog.locator(".errorlist")).to_have_text(
        "A workspace spend limit must be lower than the organization's ($400.00)."
    )
    shot(page, "spend-limit-error")
    assert not WorkspaceSpendLimit.objects.filter(workspace=workspace).exists()

    dialog.get_by_label("Monthly spend limit (USD)").fill("150")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(card.get_by_test_id("spend-limit")).to_have_text("$150.00")
    expect(card).to_contain_text("Workspace limit$150.00")
    expect(page.locator("#toasts")).to_contain_text(
        "The spend limit of Research is now $150.00 a month."
    )
    expect(card.locator("progress")).to_have_attribute("value", "3000")
    shot(page, "spend-limit-saved")
    assert WorkspaceSpendLimit.objects.get(workspace=workspace).amount_cents == 150_00

    # Emptied, the limit is removed and the organization's applies again.
    card.get_by_role("link", name="Change Limit").click()
    dialog = open_dialog(page)
    amount = dialog.get_by_label("Monthly spend limit (USD)")
    expect(amount).to_have_value(re.compile(r"^150(\.0+)?$"))
    amount.fill("")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(card.get_by_test_id("spend-limit")).to_have_text("$400.00")
    expect(card).to_contain_text("Not set: the organization's applies")
    assert not WorkspaceSpendLimit.objects.filter(workspace=workspace).exists()


def test_workspace_spend_notification_add_and_remove(
    transactional_db, personas, live_server, page: Page
):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    _open_limits_tab(page, "Research")
    card = page.get_by_test_id("notifications-card")
    expect(card).to_contain_text("No notifications.")

    card.get_by_role("link", name="Add notification").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Add notification")).to_be_visible()
    dialog.get_by_label("Notify when spend reaches (USD)").fill("50")
    shot(page, "add-notification-dialog")
    dialog.get_by_role("button", name="Add notification").click()
    expect(page.locator("dialog")).to_have_count(0)
    item = card.locator('li[data-notification="5000"]')
    expect(item).to_have_text("When spend reaches $50.00")
    shot(page, "notification-added")
    assert SpendNotification.objects.filter(workspace=workspace, amount_cents=50_00).exists()

    # The same amount twice: refused in the modal.
    card.get_by_role("link", name="Add notification").click()
    dialog = open_dialog(page)
    dialog.get_by_label("Notify when spend reaches (USD)").fill("50.00")
    dialog.get_by_role("button", name="Add notification").click()
    dialog = open_dialog(page)
    expect(dialog.locator(".errorlist")).to_have_text("There is already a notification at $50.00.")
    dialog.get_by_role("link", name="Cancel").click()
    expect(page.locator("dialog")).to_have_count(0)

    item.get_by_label("Remove the notification at $50.00").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Remove notification")).to_be_visible()
    expect(dialog).to_contain_text("$50.00")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(item).to_have_count(0)
    expect(card).to_contain_text("No notifications.")
    shot(page, "notification-removed")
    assert not SpendNotification.objects.filter(workspace=workspace).exists()


def test_default_workspace_limits_are_read_only(
    transactional_db, personas, live_server, page: Page
):
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    _open_limits_tab(page, "Default")

    expect(page.locator(".alert--info")).to_contain_text(
        "The Default workspace has no limits of its own: the organization's limits apply"
    )
    table = page.get_by_test_id("rate-limits-table")
    expect(_cells(_rate_row(page))[2]).to_contain_text(str(TIER_1_SONNET_RPM))
    expect(table.get_by_role("link", name="Edit", exact=False)).to_have_count(0)
    expect(table.locator("button")).to_have_count(0)
    expect(page.get_by_role("link", name="Change Limit")).to_have_count(0)
    expect(page.get_by_role("link", name="Add notification")).to_have_count(0)
    shot(page, "default-limits")


def test_organization_limits_page(transactional_db, personas, live_server, page: Page):
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.get_by_role("complementary", name="Settings").get_by_role("link", name="Limits").click()
    page.wait_for_url("**/settings/limits/")

    card = page.get_by_test_id("spend-card")
    expect(card).to_contain_text("Usage tierTier 1")
    expect(card).to_contain_text("Monthly cap$100.00")
    expect(card).to_contain_text("Not set: the cap applies")
    sonnet = page.get_by_test_id("org-rate-limits-table").locator('tr[data-group="sonnet-4"]')
    expect(sonnet.locator("th")).to_have_text(SONNET)
    expect(sonnet.locator("td")).to_have_text(["50", "30,000", "8,000"])
    shot(page, "organization-limits")

    same_document = no_full_reload(page)
    card.get_by_role("link", name="Change Limit").click()
    dialog = open_dialog(page)
    dialog.get_by_label("Monthly spend limit (USD)").fill("150")
    dialog.get_by_role("button", name="Save").click()
    dialog = open_dialog(page)
    expect(dialog.locator(".errorlist")).to_have_text(
        "The spend limit can be at most your usage tier's monthly cap ($100.00)."
    )
    shot(page, "organization-spend-limit-error")
    dialog.get_by_label("Monthly spend limit (USD)").fill("75")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(card.get_by_test_id("spend-limit")).to_have_text("$75.00")
    expect(card).to_contain_text("Your limit$75.00")
    same_document()
    shot(page, "organization-spend-limit-saved")


def test_billing_sees_limits_without_editing(transactional_db, personas, live_server, page: Page):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    services.workspace_rate_limit_set(
        actor=Actor.for_user(personas.admin),
        workspace=workspace,
        model_group=ModelGroup.objects.get(name=SONNET),
        limiter="requests_per_minute",
        value=30,
    )
    sign_in(page, live_server, personas.billing.email, PASSWORD)
    _open_limits_tab(page, "Research")

    row = _rate_row(page)
    organization, own, in_force = _cells(row)
    expect(organization).to_contain_text(str(TIER_1_SONNET_RPM))
    expect(own).to_have_text("30")
    expect(in_force).to_contain_text("30")
    table = page.get_by_test_id("rate-limits-table")
    expect(table.get_by_role("link", name="Edit", exact=False)).to_have_count(0)
    expect(table.locator("button")).to_have_count(0)
    expect(page.get_by_role("link", name="Change Limit")).to_have_count(0)
    expect(page.get_by_role("link", name="Add notification")).to_have_count(0)
    shot(page, "billing-view")

    # Settings > Limits: the organization's limits, also without "Change Limit".
    page.get_by_role("complementary", name="Settings").get_by_role("link", name="Limits").click()
    page.wait_for_url("**/settings/limits/")
    expect(page.get_by_test_id("org-rate-limits-table")).to_be_visible()
    expect(page.get_by_role("link", name="Change Limit")).to_have_count(0)
    expect(page.get_by_role("link", name="Add notification")).to_have_count(0)


def test_pencil_link_works_without_script(transactional_db, personas, live_server, page: Page):
    WorkspaceFactory(organization=personas.org, name="Research")
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    _open_limits_tab(page, "Research")
    href = _rate_row(page).get_by_label(f"Edit {SONNET} requests per minute").get_attribute("href")

    page.goto(f"{live_server.url}{href}")  # what a click does when script is off
    try:
        expect(page.get_by_role("navigation", name="Workspace sections")).to_be_visible(
            timeout=1_000
        )
        expect(page.get_by_label(f"{SONNET} Requests per minute", exact=True)).to_have_value(
            str(TIER_1_SONNET_RPM)
        )
    finally:
        shot(page, "pencil-without-script")


def _column_lefts(page: Page) -> list[float]:
    """Where each column of the rate limits table starts, from its header cells, once htmx
    has finished swapping."""
    expect(
        page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    ).to_have_count(0)
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid=rate-limits-table] thead th'))
            .map(th => th.getBoundingClientRect().left)"""
    )


def test_rate_limit_editor_escape_and_steady_columns(
    transactional_db, personas, live_server, page: Page
):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    services.workspace_rate_limit_set(
        actor=Actor.for_user(personas.admin),
        workspace=workspace,
        model_group=ModelGroup.objects.get(name=SONNET),
        limiter="requests_per_minute",
        value=30,
    )
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    _open_limits_tab(page, "Research")
    row = _rate_row(page)
    before = _column_lefts(page)

    pencil = row.get_by_label(f"Edit {SONNET} requests per minute")
    pencil.focus()
    page.keyboard.press("Enter")
    value = row.get_by_label(f"{SONNET} Requests per minute", exact=True)
    expect(value).to_be_focused()
    # Opening the editor moves no column.
    assert _column_lefts(page) == before
    shot(page, "editor-open")

    # Escape cancels: the saved value again, nothing saved, focus back on the pencil.
    value.fill("12")
    page.keyboard.press("Escape")
    expect(row.locator("form.inline-edit")).to_have_count(0)
    expect(_cells(row)[1]).to_have_text("30")
    expect(row.get_by_label(f"Edit {SONNET} requests per minute")).to_be_focused()
    assert WorkspaceRateLimit.objects.get(workspace=workspace).value == 30
    assert _column_lefts(page) == before

    # Saving says so in a toast, and focus returns to the pencil too.
    page.keyboard.press("Enter")
    row.get_by_label(f"{SONNET} Requests per minute", exact=True).fill("25")
    page.keyboard.press("Enter")
    expect(page.locator("#toasts")).to_contain_text(
        f"{SONNET} requests per minute set to 25 in Research."
    )
    expect(row.get_by_label(f"Edit {SONNET} requests per minute")).to_be_focused()
    row.get_by_label(f"Reset {SONNET} requests per minute to the organization's limit").click()
    expect(page.locator("#toasts")).to_contain_text(
        f"{SONNET} requests per minute reset to the organization's limit ({TIER_1_SONNET_RPM}) "
        "in Research."
    )


def test_workspace_spend_limit_refresh_icon(transactional_db, personas, live_server, page: Page):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    _tier_2_with_spend_limit(personas.org, personas.admin, 400_00)
    services.workspace_spend_limit_set(
        actor=Actor.for_user(personas.admin), workspace=workspace, amount_cents=150_00
    )
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    _open_limits_tab(page, "Research")
    card = page.get_by_test_id("spend-card")
    expect(card.get_by_test_id("workspace-spend-limit")).to_contain_text("$150.00")
    same_document = no_full_reload(page)
    card.get_by_label("Reset the spend limit of Research to the organization's limit").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_role("heading", name="Reset spend limit")).to_be_visible()
    expect(dialog).to_contain_text("Remove the monthly spend limit of Research ($150.00)?")
    shot(page, "spend-limit-reset-dialog")
    dialog.get_by_role("button", name="Reset to the organization's limit").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(card.get_by_test_id("spend-limit")).to_have_text("$400.00")
    expect(card).to_contain_text("Not set: the organization's applies")
    expect(page.locator("#toasts")).to_contain_text(
        "The spend limit of Research was reset: the organization's ($400.00) applies."
    )
    expect(card.get_by_label("Reset the spend limit of Research", exact=False)).to_have_count(0)
    same_document()
    assert not WorkspaceSpendLimit.objects.filter(workspace=workspace).exists()


def test_notification_above_the_spend_limit_is_warned_about(
    transactional_db, personas, live_server, page: Page
):
    workspace = WorkspaceFactory(organization=personas.org, name="Research")
    _tier_2_with_spend_limit(personas.org, personas.admin, 400_00)
    services.workspace_spend_limit_set(
        actor=Actor.for_user(personas.admin), workspace=workspace, amount_cents=150_00
    )
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    _open_limits_tab(page, "Research")
    card = page.get_by_test_id("notifications-card")
    card.get_by_role("link", name="Add notification").click()
    dialog = open_dialog(page)
    expect(dialog).to_contain_text("Its spend limit is $150.00 a month.")
    amount = dialog.get_by_label("Notify when spend reaches (USD)")
    expect(dialog.locator(".amount-input__symbol")).to_have_text("$")
    amount.fill("200")
    dialog.get_by_role("button", name="Add notification").click()
    dialog = open_dialog(page)
    expect(dialog.get_by_test_id("above-spend-limit")).to_contain_text(
        "$200.00 is above the spend limit of $150.00"
    )
    shot(page, "notification-above-limit")
    assert not SpendNotification.objects.exists()
    dialog.get_by_role("button", name="Add anyway").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(card.locator('li[data-notification="20000"]')).to_contain_text(
        "above the spend limit: not sent while it holds"
    )
    expect(page.locator("#toasts")).to_contain_text(
        "Notification added: an e-mail when Research's spend this month reaches $200.00."
    )
