"""What every page shares, walked in the browser: the theme switch, the time zone, the skip
link, keyboard use of menus and modals, the phone layout, and htmx under the CSP."""

from playwright.sync_api import Page, expect

from accounts.models import Theme, User
from tests.e2e.conftest import no_full_reload, open_dialog, path_of, shot, sign_in
from tests.factories import PASSWORD, WorkspaceFactory

LIGHT_BACKGROUND = "rgb(250, 249, 245)"
DARK_BACKGROUND = "rgb(28, 27, 24)"


def _background(page: Page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def _account_menu(page: Page):
    menu = page.get_by_test_id("user-menu")
    menu.locator("summary").click()
    return menu


def _focused(page: Page) -> str:
    """The focused element's accessible label or text, for asserting where focus is."""
    return page.evaluate(
        "(el => el.getAttribute('aria-label') || el.textContent.trim())(document.activeElement)"
    )


def test_theme_switch_applies_at_once_and_is_remembered(
    transactional_db, personas, live_server, page: Page
):
    page.emulate_media(color_scheme="light")
    sign_in(page, live_server, personas.developer.email, PASSWORD)
    expect(page.locator("html")).to_have_attribute("data-theme", Theme.SYSTEM)
    assert _background(page) == LIGHT_BACKGROUND
    same_document = no_full_reload(page)

    menu = _account_menu(page)
    menu.get_by_role("group", name="Theme").get_by_role("button", name="Dark").click()
    dark = menu.locator('button[name="theme"][value="dark"]')
    expect(page.locator("html")).to_have_attribute("data-theme", Theme.DARK)
    expect(dark).to_have_attribute("aria-pressed", "true")
    assert _background(page) == DARK_BACKGROUND
    same_document()
    shot(page, "dark")
    assert User.objects.get(pk=personas.developer.pk).theme == Theme.DARK

    # Remembered: the next page is dark from its first paint.
    page.goto(f"{live_server.url}/settings/members/")
    expect(page.locator("html")).to_have_attribute("data-theme", Theme.DARK)
    assert _background(page) == DARK_BACKGROUND

    # "Light" holds on a device that prefers dark; "System" follows the device.
    page.emulate_media(color_scheme="dark")
    _account_menu(page).get_by_role("button", name="Light").click()
    expect(page.locator("html")).to_have_attribute("data-theme", Theme.LIGHT)
    assert _background(page) == LIGHT_BACKGROUND
    _account_menu(page).get_by_role("button", name="System").click()
    expect(page.locator("html")).to_have_attribute("data-theme", Theme.SYSTEM)
    assert _background(page) == DARK_BACKGROUND
    page.emulate_media(color_scheme="light")
    assert _background(page) == LIGHT_BACKGROUND


def test_time_zone_from_the_browser_then_chosen(transactional_db, personas, live_server, new_page):
    page = new_page(timezone_id="America/Los_Angeles")
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    assert User.objects.get(pk=personas.admin.pk).time_zone == "America/Los_Angeles"
    menu = _account_menu(page)
    expect(menu.get_by_test_id("current-time-zone")).to_have_text("Times in America/Los_Angeles")

    menu.get_by_role("link", name="Account settings").click()
    expect(page.get_by_role("heading", name="Account settings", level=1)).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("America/Los_Angeles")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    shot(page, "account-settings")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#toasts")).to_contain_text("Account settings saved.")
    expect(page.get_by_test_id("time-zone-now")).to_contain_text("in Europe/Paris.")
    expect(page.get_by_test_id("time-zone-now")).to_contain_text(
        "Your browser is set to America/Los_Angeles."
    )

    page.goto(f"{live_server.url}/settings/cost/")
    expect(page.get_by_test_id("report-zone")).to_have_text(
        "Days are in UTC, not in your time zone (Europe/Paris)."
    )


def test_skip_link_leads_to_the_content(transactional_db, personas, live_server, page: Page):
    sign_in(page, live_server, personas.user.email, PASSWORD)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0, "the focused skip link is on screen"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_arrow_keys_move_through_a_menu(transactional_db, personas, live_server, page: Page):
    sign_in(page, live_server, personas.user.email, PASSWORD)
    menu = page.get_by_test_id("user-menu")
    menu.locator("summary").focus()

    page.keyboard.press("ArrowDown")
    expect(menu).to_have_attribute("open", "")
    assert _focused(page) == "Account settings"
    page.keyboard.press("ArrowDown")
    assert _focused(page) == "System"
    page.keyboard.press("End")
    assert _focused(page) == "Sign out"
    page.keyboard.press("ArrowDown")
    assert _focused(page) == "Account settings"
    page.keyboard.press("ArrowUp")
    assert _focused(page) == "Sign out"
    page.keyboard.press("Home")
    assert _focused(page) == "Account settings"

    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(menu.locator("summary")).to_be_focused()
    page.keyboard.press("ArrowUp")
    assert _focused(page) == "Sign out"


def test_focus_returns_where_it_was_after_a_modal(
    transactional_db, personas, live_server, page: Page
):
    WorkspaceFactory(organization=personas.org, name="Research")
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    # From a button: back on the button.
    add = page.get_by_role("link", name="Add Workspace")
    add.click()
    open_dialog(page)
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)
    expect(add).to_be_focused()

    # From a row's menu, closed with Escape: back on the menu's button.
    kebab = page.get_by_label("Actions for Research", exact=True)
    actions = page.locator("details", has=kebab)
    kebab.click()
    actions.get_by_role("link", name="Edit details").click()
    open_dialog(page)
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)
    expect(kebab).to_be_focused()

    # Saved, with the list drawn again meanwhile: on the new row's menu button.
    kebab.click()
    actions.get_by_role("link", name="Edit details").click()
    dialog = open_dialog(page)
    dialog.get_by_label("Name").fill("Research 2")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(page.get_by_label("Actions for Research 2")).to_be_focused()


def test_phone_layout(transactional_db, personas, live_server, new_page):
    WorkspaceFactory(organization=personas.org, name="A workspace with a long name")
    page = new_page(viewport={"width": 390, "height": 844})
    sign_in(page, live_server, personas.admin.email, PASSWORD)

    def within_screen(locator) -> None:
        box = locator.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box

    assert page.evaluate("document.documentElement.scrollWidth") == 390
    # The sidebar is a strip scrolled to the current page.
    within_screen(
        page.get_by_role("complementary", name="Settings").get_by_role("link", name="Workspaces")
    )
    # Rows are cards; their menus open as sheets on the screen.
    page.get_by_label("Actions for A workspace with a long name").click()
    within_screen(page.locator("details[open] .menu__panel"))
    shot(page, "row-menu")
    page.keyboard.press("Escape")

    # The workspace switcher stays in the top bar.
    switcher = page.get_by_test_id("workspace-switcher")
    within_screen(switcher.locator("summary"))
    switcher.locator("summary").click()
    within_screen(switcher.locator(".menu__panel"))
    switcher.get_by_role("link", name="A workspace with a long name").click()
    expect(page.get_by_test_id("workspace-name")).to_contain_text("A workspace with a long name")
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    shot(page, "workspace")

    # A modal fits the screen.
    page.get_by_role("link", name="Edit details").click()
    within_screen(open_dialog(page))
    shot(page, "modal")


def test_htmx_swaps_and_history_pass_the_csp(transactional_db, personas, live_server, page: Page):
    """A screenshot (like some browser extensions) leaves style="" on the inputs; neither a
    swap nor going back may re-apply it, which the CSP would refuse and log."""
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/usage/")
    same_document = no_full_reload(page)
    shot(page, "before")
    assert page.locator("#report input[style]").count() > 0

    page.get_by_label("Date range").select_option(label="Last 7 days")
    page.wait_for_url("**range=7d**")
    expect(page.get_by_label("Date range")).to_have_value("7d")
    same_document()
    shot(page, "swapped")

    page.go_back()
    page.wait_for_url(lambda url: "range=" not in url)
    expect(page.get_by_label("Date range")).to_have_value("this_month")
    expect(page.get_by_role("heading", name="Usage", level=1)).to_be_visible()
    assert path_of(page) == "/settings/usage/"
    page.go_forward()
    expect(page.get_by_label("Date range")).to_have_value("7d")


def test_the_workspace_switcher_with_100_workspaces(
    transactional_db, personas, live_server, new_page
):
    for number in range(1, 100):
        WorkspaceFactory(organization=personas.org, name=f"Team {number:03d}")
    for width, height in ((1400, 900), (390, 844)):
        page = new_page(viewport={"width": width, "height": height})
        sign_in(page, live_server, personas.admin.email, PASSWORD)
        switcher = page.get_by_test_id("workspace-switcher")
        switcher.locator("summary").click()
        panel = switcher.locator(".menu__panel")
        box = panel.bounding_box()
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        shot(page, f"switcher-{width}")

        # Typing filters the list; Enter opens the first workspace shown.
        search = switcher.get_by_label("Find a workspace")
        search.fill("team 07")
        expect(switcher.locator("a.menu__item:visible")).to_have_count(11)  # 10 + All workspaces
        search.fill("no such team")
        expect(switcher.get_by_text("No workspace matches.")).to_be_visible()
        search.fill("TEAM 042")
        search.press("Enter")
        expect(page.get_by_test_id("workspace-name")).to_contain_text("Team 042")

        # The last workspace is reached by keyboard, and scrolled into sight.
        switcher.locator("summary").focus()
        page.keyboard.press("ArrowDown")
        expect(switcher.get_by_label("Find a workspace")).to_be_focused()
        page.keyboard.press("ArrowUp")
        assert _focused(page) == "All workspaces"
        page.keyboard.press("ArrowUp")
        assert _focused(page) == "Team 099"
        last = switcher.get_by_role("link", name="Team 099")
        assert last.evaluate(
            """el => {
                const r = el.getBoundingClientRect();
                return el.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
            }"""
        )
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("workspace-name")).to_contain_text("Team 099")
