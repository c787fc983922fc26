"""Every page of the console, as each demo persona who can open it, on a phone (390 px) and a
desktop (1400 px), in the light and the dark theme: the page is no wider than a phone's
screen, axe-core finds no violation, and nothing is logged to the console (a CSP refusal
included).

The demo organization is loaded once (`billing.demo`, as `make run` shows it) and each
persona signs in once, in a browser set to Los Angeles time; every page is loaded once and
looked at in all four settings.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from billing import demo
from tests.e2e.conftest import allow_console_error, axe_violations, sign_in
from workspaces.access import SIDEBAR
from workspaces.models import Workspace

PHONE, DESKTOP = 390, 1400
# The dark theme changes colours only, so there axe runs the rules about colour; every rule
# runs in the light theme at both widths (the layout differs).
COLOUR_RULES = ("color-contrast", "link-in-text-block")
MODES = [
    (DESKTOP, "light", ()),
    (DESKTOP, "dark", COLOUR_RULES),
    (PHONE, "light", ()),
    (PHONE, "dark", COLOUR_RULES),
]
BROWSER_ZONE = "America/Los_Angeles"

ADMIN, BILLING, DEVELOPER, USER = "admin", "billing", "developer", "user"
EVERYONE = (ADMIN, BILLING, DEVELOPER, USER)


@dataclass(frozen=True)
class Screen:
    name: str
    path: str  # {production} and {default} stand for those workspaces' ids
    personas: tuple[str, ...]


SCREENS = [
    Screen("Organization", "/settings/organization/", EVERYONE),
    Screen("Members", "/settings/members/", EVERYONE),
    Screen("Workspaces", "/settings/workspaces/", EVERYONE),
    Screen(
        "Workspace members",
        "/settings/workspaces/{production}/members/",
        (ADMIN, BILLING, DEVELOPER),
    ),
    Screen("Workspace API keys", "/settings/workspaces/{production}/keys/", (ADMIN, DEVELOPER)),
    Screen(
        "Workspace limits", "/settings/workspaces/{production}/limits/", (ADMIN, BILLING, DEVELOPER)
    ),
    Screen("Default workspace", "/settings/workspaces/{default}/", EVERYONE),
    Screen("API Keys", "/settings/api-keys/", (ADMIN, BILLING, DEVELOPER)),
    Screen("Admin Keys", "/settings/admin-keys/", (ADMIN,)),
    Screen("Limits", "/settings/limits/", (ADMIN, BILLING, DEVELOPER)),
    Screen("Usage", "/settings/usage/", (ADMIN, BILLING, DEVELOPER)),
    Screen("Cost", "/settings/cost/", (ADMIN, BILLING, DEVELOPER)),
    Screen("Audit log", "/settings/audit-log/", (ADMIN,)),
    Screen("Account settings", "/account/", EVERYONE),
]

# Violations in page templates, left for those templates' own rework: (screen, axe rule) and a
# pattern each offending element's HTML matches. Anything else is reported, and the run fails
# if one of these no longer happens, so the entry is removed with its fix.
EXPECTED_VIOLATIONS = {
    # "Show archived" is a link carrying aria-pressed, which links may not have.
    ("Workspaces", "aria-allowed-attr"): r"^<a [^>]*aria-pressed[^>]*>(✓ )?Show archived",
    # "Show deleted", likewise (the Default workspace opens on its API Keys tab).
    ("Workspace API keys", "aria-allowed-attr"): r"^<a [^>]*aria-pressed[^>]*>(✓ )?Show deleted",
    ("Default workspace", "aria-allowed-attr"): r"^<a [^>]*aria-pressed[^>]*>(✓ )?Show deleted",
}


def _sweep(page: Page, screen: str, found: set, problems: list[str], who: str) -> None:
    """Look at the loaded page in every mode."""
    for width, scheme, rules in MODES:
        page.set_viewport_size({"width": width, "height": 900})
        page.emulate_media(color_scheme=scheme)
        # Two frames: the script lays tables out again on resize, before the next paint.
        page.evaluate(
            "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
        )
        where = f"{screen} as {who} at {width} px, {scheme}"
        if width == PHONE:
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"{where}: the page scrolls sideways by {overflow} px")
        for violation in axe_violations(page, only=rules):
            expected = EXPECTED_VIOLATIONS.get((screen, violation["id"]))
            elements = violation["elements"]
            if expected is not None:
                found.add((screen, violation["id"]))
                elements = [e for e in elements if not re.search(expected, e["html"])]
            if elements:
                problems.append(
                    f"{where}: {violation['id']} ({violation['impact']}) {violation['help']}: "
                    + ", ".join(e["target"] for e in elements[:5])
                )


@pytest.mark.urls("tests.e2e.urls")
def test_every_page_in_every_mode(transactional_db, live_server, new_page: Callable[..., Page]):
    demo.seed()
    ids = {
        "production": Workspace.objects.get(name="Production").public_id,
        "default": Workspace.objects.get(is_default=True).public_id,
    }
    found: set[tuple[str, str]] = set()
    problems: list[str] = []

    for who in EVERYONE:
        page = new_page(timezone_id=BROWSER_ZONE)
        sign_in(page, live_server, f"{who}@example.com", demo.PASSWORD)
        for screen in SCREENS:
            if who not in screen.personas:
                continue
            response = page.goto(live_server.url + screen.path.format(**ids))
            assert response is not None and response.status == 200, (screen.name, who)
            _sweep(page, screen.name, found, problems, who)
        # The top bar's menus, open.
        page.goto(f"{live_server.url}/settings/organization/")
        for menu in ("user-menu", "workspace-switcher"):
            page.get_by_test_id(menu).locator("summary").click()
            _sweep(page, f"{menu} open", found, problems, who)
            page.keyboard.press("Escape")

    # Pages of their own: signing in, and the error pages.
    visitor = new_page(timezone_id=BROWSER_ZONE)
    allow_console_error(visitor, r"status of (404|500)")
    visitor.goto(f"{live_server.url}/login/")
    _sweep(visitor, "Sign in", found, problems, "a visitor")
    assert visitor.goto(f"{live_server.url}/no-such-page/").status == 404
    _sweep(visitor, "Not found", found, problems, "a visitor")
    assert visitor.goto(f"{live_server.url}/e2e/fail/").status == 500
    expect(visitor.get_by_role("heading", name="Something went wrong")).to_be_visible()
    _sweep(visitor, "Server error", found, problems, "a visitor")

    member = new_page(timezone_id=BROWSER_ZONE)
    allow_console_error(member, r"status of 403")
    sign_in(member, live_server, "user@example.com", demo.PASSWORD)
    assert member.goto(f"{live_server.url}/settings/audit-log/").status == 403
    _sweep(member, "Not allowed", found, problems, USER)

    gone = sorted(EXPECTED_VIOLATIONS.keys() - found)
    assert not gone, f"Expected violations that no longer happen (remove them): {gone}"
    assert not problems, "\n".join(problems)


def test_the_sweep_has_every_settings_page():
    """A page added to the Settings sidebar must be added to `SCREENS` too."""
    swept = {screen.path for screen in SCREENS}
    missing = [item.label for item in SIDEBAR if reverse(item.url_name) not in swept]
    assert not missing, missing
