"""Every page and every dialog of the console, as each demo persona who may open it, on a
phone (390 px) and a desktop (1400 px), in the light and the dark theme: the page is no wider
than a phone's screen, axe-core finds no violation (every rule, in both themes), and nothing
is logged to the console (a CSP refusal included). A screenshot of each page and dialog, at
both widths in both themes, is saved under test-results/test_every_page_and_dialog/.

What is swept comes from the URL resolver: every named URL is a page (`PAGES`, some in
several states), a dialog (`DIALOGS`, opened with htmx over the page it belongs to), a public
page (`PUBLIC_PAGES`) or excluded with its reason (`EXCLUDED`); a guard test fails when a URL
is none of these, so a new page or dialog cannot be missed. Which persona may open which is
asked of the server first (a plain GET, as the browser would make it), so the sweep follows
the permissions as they are; every page and dialog must be open to at least one persona.

To stay fast (about three minutes on two cores) it uses one browser and one signed-in tab
per persona; each page is loaded once and each dialog opened once, in place, and looked at in
both widths, then in the other theme, switched as the account menu does (the persona's stored
preference, applied without a reload or a new sign-in). Two tabs run side by side (axe works
in one while the other moves on), and a page shown exactly alike to two personas is checked
once.
"""

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Page, expect

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.audit import Actor
from accounts.models import AdminApiKey, Invite, User
from billing import demo
from billing import services as billing_services
from console.pagination import cursor_page
from tests.e2e.conftest import RESULTS_DIR, allow_console_error, axe_result, sign_in, start_axe
from workspaces import services as workspace_services
from workspaces.models import ApiKey, Workspace

PHONE, DESKTOP = 390, 1400
WIDTHS = (DESKTOP, PHONE)
BROWSER_ZONE = "America/Los_Angeles"
PERSONAS = ("admin", "billing", "developer", "user")
SHOTS = RESULTS_DIR / "test_every_page_and_dialog"


@dataclass(frozen=True)
class View:
    """A page or dialog to look at: the URL `url_name` with the demo's objects named in
    `args`, and `query` for a state of it (`state` names that state)."""

    url_name: str
    args: tuple[str, ...] = ()
    query: str = ""
    state: str = ""
    # A dialog: the page it is opened over.
    over: "View | None" = None

    def path(self, ids: dict[str, str]) -> str:
        return reverse(self.url_name, args=[ids[name] for name in self.args]) + self.query

    @property
    def label(self) -> str:
        name = self.url_name.split(":")[-1]
        subject = "-".join(self.args)
        return "_".join(part for part in (name, subject, self.state) if part)


def _page(url_name: str, *args: str, query: str = "", state: str = "") -> View:
    return View(url_name, args, query, state)


# The pages signed-in members see, and the states of them worth looking at.
WORKSPACES = _page("workspaces:workspace_list")
PRODUCTION_MEMBERS = _page("workspaces:workspace_members", "production")
PRODUCTION_KEYS = _page("workspaces:workspace_keys", "production")
PRODUCTION_LIMITS = _page("billing:workspace_limits", "production")
STAGING_LIMITS = _page("billing:workspace_limits", "staging", state="spend-limit")
MEMBERS = _page("workspaces:organization_members")
ADMIN_KEYS = _page("workspaces:admin_key_list")
ORGANIZATION = _page("billing:organization")
LIMITS = _page("billing:organization_limits")
INCREASE_REQUESTS = _page("billing:spend_limit_increase_request_list")
PAGES = [
    ORGANIZATION,
    MEMBERS,
    WORKSPACES,
    _page("workspaces:workspace_list", query="?archived=1", state="archived-shown"),
    _page("workspaces:workspace_list", query="?q=prod&sort=-members", state="searched-sorted"),
    _page("workspaces:workspace_detail", "default"),
    PRODUCTION_MEMBERS,
    PRODUCTION_KEYS,
    _page("workspaces:workspace_keys", "production", query="?deleted=1", state="deleted-shown"),
    PRODUCTION_LIMITS,
    STAGING_LIMITS,
    _page(
        "billing:workspace_rate_limit_set",
        "production",
        query="?model_group=sonnet-4&limiter=output_tokens_per_minute",
        state="editing",
    ),
    _page("workspaces:workspace_members", "research", state="archived"),
    _page("workspaces:workspace_keys", "research", state="archived"),
    _page("billing:workspace_limits", "research", state="archived"),
    _page("workspaces:api_key_list"),
    _page("workspaces:api_key_list", query="?q=bot&status=active", state="filtered"),
    ADMIN_KEYS,
    LIMITS,
    INCREASE_REQUESTS,
    _page("billing:usage"),
    _page("billing:usage", query="?day={yesterday}", state="day"),
    _page("billing:usage", query="?hour={yesterday}T15", state="hour"),
    _page("billing:cost"),
    _page("workspaces:audit_log"),
    _page(
        "workspaces:audit_log",
        query="?q=production&start={month_ago}",
        state="filtered",
    ),
    _page("workspaces:audit_log", query="?cursor={audit_cursor}", state="page-2"),
    _page("accounts:account_settings"),
]


def _dialog(url_name: str, *args: str, over: View, query: str = "") -> View:
    return View(url_name, args, query, over=over)


# Every dialog, over the page it belongs to.
DIALOGS = [
    _dialog("workspaces:workspace_create", over=WORKSPACES),
    _dialog("workspaces:workspace_edit", "production", over=WORKSPACES),
    _dialog("workspaces:workspace_archive", "production", over=WORKSPACES),
    _dialog("workspaces:workspace_member_add", "production", over=PRODUCTION_MEMBERS),
    _dialog("workspaces:workspace_member_remove", "production", "user_id", over=PRODUCTION_MEMBERS),
    _dialog("workspaces:api_key_create", "production", over=PRODUCTION_KEYS),
    _dialog("workspaces:api_key_rename", "active_key", over=PRODUCTION_KEYS),
    _dialog("workspaces:api_key_disable", "active_key", over=PRODUCTION_KEYS),
    _dialog("workspaces:api_key_enable", "inactive_key", over=PRODUCTION_KEYS),
    _dialog("workspaces:api_key_delete", "active_key", over=PRODUCTION_KEYS),
    _dialog("workspaces:invite_create", over=MEMBERS),
    _dialog("workspaces:member_remove", "linus", over=MEMBERS),
    _dialog("workspaces:invite_revoke", "invite", over=MEMBERS),
    _dialog("workspaces:invite_resend", "invite", over=MEMBERS),
    _dialog("workspaces:member_change_role", "linus", over=MEMBERS, query="?role=admin"),
    _dialog("workspaces:admin_key_create", over=ADMIN_KEYS),
    _dialog("workspaces:admin_key_disable", "admin_key", over=ADMIN_KEYS),
    _dialog("workspaces:admin_key_enable", "admin_key", over=ADMIN_KEYS),
    _dialog("workspaces:admin_key_delete", "admin_key", over=ADMIN_KEYS),
    _dialog("billing:organization_rename", over=ORGANIZATION),
    _dialog("billing:workspace_spend_limit_set", "production", over=PRODUCTION_LIMITS),
    _dialog("billing:workspace_spend_limit_reset", "staging", over=STAGING_LIMITS),
    _dialog("billing:workspace_spend_notification_add", "production", over=PRODUCTION_LIMITS),
    _dialog(
        "billing:workspace_spend_notification_remove",
        "production",
        "production_notification",
        over=PRODUCTION_LIMITS,
    ),
    _dialog("billing:spend_limit_increase_request_create", "production", over=PRODUCTION_LIMITS),
    _dialog("billing:spend_limit_increase_request_approve", "increase", over=INCREASE_REQUESTS),
    _dialog("billing:spend_limit_increase_request_deny", "increase", over=INCREASE_REQUESTS),
    _dialog("billing:organization_spend_limit_set", over=LIMITS),
    _dialog("billing:organization_spend_notification_add", over=LIMITS),
    _dialog(
        "billing:organization_spend_notification_remove", "organization_notification", over=LIMITS
    ),
]

# Pages for people who are not signed in, or not in an organization, and the error pages;
# looked at by the `PublicSweep` below.
PUBLIC_PAGES = {
    "accounts:login",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "accounts:invite_accept",
    "accounts:home",  # a signed-in person in no organization
}

# URLs that are neither a page nor a dialog, with the reason.
EXCLUDED = {
    "favicon": "a redirect to the icon",
    "accounts:logout": "POST only: the account menu's Sign out",
    "accounts:account_theme_set": "POST only: the account menu's theme buttons",
    "accounts:organization_switch": "POST only: the organization switcher",
    "billing:usage_key_choices": "the API key picker's search answers, a list inside the "
    "Usage page's filter bar (tests/e2e/test_reports_flow.py)",
    "billing:cost_key_choices": "the same on the Cost page",
    "workspaces:workspace_member_change_role": "POST only: the role select saves in place",
    "billing:workspace_rate_limit_reset": "POST only: the refresh icon of a rate limit",
    "billing:gateway_authorize": "the gateway's JSON API",
    "billing:gateway_settle": "the gateway's JSON API",
}
# Namespaces that are not console pages: the staff admin (Django's own) and the Admin API.
OTHER_NAMESPACES = {"admin", "admin_api"}

# Violations left for their own rework, by (URL name, axe rule), with a pattern each offending
# element's HTML matches. The run fails if one no longer happens, so it is removed with its fix.
EXPECTED_VIOLATIONS = {}


def console_url_names() -> set[str]:
    """Every named URL of the console, outside the staff admin and the Admin API."""
    names: set[str] = set()

    def walk(patterns: list, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or namespace
                if inner not in OTHER_NAMESPACES:
                    walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, None)
    return names


def test_the_sweep_covers_every_url():
    """A new URL must be swept as a page or dialog, or excluded here with its reason."""
    swept = {view.url_name for view in [*PAGES, *DIALOGS]} | PUBLIC_PAGES
    assert not swept & set(EXCLUDED), swept & set(EXCLUDED)
    assert console_url_names() - swept - set(EXCLUDED) == set(), "URLs the sweep misses"
    assert swept | set(EXCLUDED) <= console_url_names(), "names that are no URL"


# -- The demo, with one of everything ----------------------------------------------------------


def _demo() -> dict[str, str]:
    """The demo organization (as `make run` shows it) with what its dialogs need: a pending
    invite, an open increase request, and a second page of audit events. Returns the ids
    and values the views' paths are built from."""
    demo.seed()
    org = Workspace.objects.get(is_default=True).organization
    admin = Actor.for_user(User.objects.get(email="admin@example.com"))
    staging = Workspace.objects.get(name="Staging")
    invite, _ = account_services.invite_create(
        actor=admin, organization=org, email="newhire@example.com", role="developer"
    )
    increase = billing_services.spend_limit_increase_request_create(
        actor=Actor.for_user(User.objects.get(email="developer@example.com")),
        workspace=staging,
        amount_cents=80_00,
    )
    for color in ["#2A9D8F", "#3B82F6"] * 30:  # a log longer than a page
        workspace_services.workspace_edit(actor=admin, workspace=staging, display_color=color)
    audit_page = cursor_page(
        account_selectors.audit_events(org, account_selectors.AuditFilters()), cursor=None
    )
    today = datetime.now(UTC).date()
    production = Workspace.objects.get(name="Production")
    return {
        "production": production.public_id,
        "staging": staging.public_id,
        "research": Workspace.objects.get(name="Research").public_id,
        "default": Workspace.objects.get(is_default=True).public_id,
        "active_key": ApiKey.objects.get(name="support-bot production").public_id,
        "inactive_key": ApiKey.objects.get(name="nightly batch (old)").public_id,
        "admin_key": AdminApiKey.objects.get(name="Provisioning script").public_id,
        "user_id": User.objects.get(email="user@example.com").public_id,
        "linus": User.objects.get(email="linus@example.com").public_id,
        "invite": invite.public_id,
        "increase": increase.public_id,
        "production_notification": "10000",
        "organization_notification": "30000",
        "yesterday": (today - timedelta(days=1)).isoformat(),
        "month_ago": (today - timedelta(days=30)).isoformat(),
        "audit_cursor": audit_page.next_cursor or "",
    }


def _resolved(view: View, ids: dict[str, str]) -> str:
    return view.path(ids).format(**ids)


def _may_open(client: Client, view: View, ids: dict[str, str]) -> bool:
    """Whether the server lets the signed-in `client` open `view` (a dialog as htmx asks)."""
    headers = {"HX-Request": "true"} if view.over else {}
    response = client.get(_resolved(view, ids), headers=headers)
    if view.over:
        return response.status_code == 200 and b"<dialog" in response.content
    return response.status_code in (200, 302)


# -- Looking at a page -------------------------------------------------------------------------


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    expected_seen: set[tuple[str, str]] = field(default_factory=set)
    shot: set[tuple[str, int, str]] = field(default_factory=set)
    looked_at: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Whose screenshots each page and dialog gets: the first persona who may open it.
    photographer: dict[str, str] = field(default_factory=dict)
    # What has been checked, by a digest of the page as shown (see `_digest`), theme and width.
    checked: set[tuple[str, str, int]] = field(default_factory=set)


@dataclass
class Screen:
    """One persona's browser tab, and how it is set now."""

    page: Page
    who: str
    names: list[str]  # what only names the persona (left out of `_digest`)
    theme: str = "light"
    width: int = DESKTOP
    # Signed in: the theme is the persona's stored preference; else the device's.
    stored_theme: bool = True

    def resize(self, width: int) -> None:
        if width != self.width:
            self.page.set_viewport_size({"width": width, "height": 900})
            self.width = width
        # htmx done (a list that refreshes itself after a change, say), and the script's
        # layout after a resize painted.
        self.page.wait_for_function(
            "() => !document.querySelector("
            "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
        )
        self.page.evaluate(
            "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
        )

    def switch_theme(self) -> None:
        """The other theme: chosen in the account menu's way (htmx saves the preference and
        the page takes it at once), or, for someone not signed in, by the device."""
        theme = "dark" if self.theme == "light" else "light"
        if self.stored_theme:
            self.page.evaluate(
                "theme => htmx.ajax('POST', '/account/theme/',"
                " {source: document.body, swap: 'none', values: {theme}})",
                theme,
            )
            expect(self.page.locator("html")).to_have_attribute("data-theme", theme)
        else:
            self.page.emulate_media(color_scheme=theme)
        self.theme = theme


def _digest(screen: Screen) -> str:
    """The page as it is now, minus what only names the person looking and the request's own
    tokens: two personas shown the same page get the same digest, and the second is not
    checked again (axe would find exactly the same)."""
    html = screen.page.evaluate(
        """names => {
            let html = document.documentElement.outerHTML;
            for (const name of names) html = html.split(name).join("\u2063");
            return html.replace(/[A-Za-z0-9]{64}/g, "").replace(/data-initial="[^"]*"/g, "");
        }""",
        screen.names,
    )
    return hashlib.sha256(html.encode()).hexdigest()


def _look(
    screen: Screen, view_name: str, label: str, found: Findings, *, dialog: bool = False
) -> Iterator[None]:
    """Look at what `screen` shows in both themes at both widths: no sideways scroll on a
    phone, no axe violation; a screenshot the first time this page or dialog is seen so.

    Yields while axe runs, so the sweep can move another persona's tab meanwhile."""
    page = screen.page
    found.looked_at[label].add(screen.who)
    for round_ in range(2):
        if round_:
            screen.switch_theme()
        first = screen.width
        for width in (first, PHONE if first == DESKTOP else DESKTOP):
            screen.resize(width)
            theme = screen.theme
            digest = (_digest(screen), theme, width)
            if digest in found.checked:
                continue  # shown to another persona exactly so, and checked then
            found.checked.add(digest)
            where = f"{label} as {screen.who} at {width} px, {theme}"
            # A control that opens a dialog says so (the script marks them: without it they
            # are links to a page showing the dialog).
            unmarked = page.evaluate(
                """() => Array.from(document.querySelectorAll('[hx-target="#modal"]'))
                    .filter(el => el.getAttribute("aria-haspopup") !== "dialog")
                    .map(el => el.textContent.trim() || el.getAttribute("aria-label"))"""
            )
            if unmarked:
                found.problems.append(f"{where}: opens a dialog unannounced: {unmarked[:5]}")
            if width == PHONE:
                overflow = page.evaluate(
                    """() => {
                        const root = document.documentElement;
                        const open = document.querySelector("dialog[open]");
                        return Math.max(root.scrollWidth - root.clientWidth,
                                        open ? open.scrollWidth - open.clientWidth : 0);
                    }"""
                )
                if overflow > 0:
                    found.problems.append(f"{where}: scrolls sideways by {overflow} px")
            if (
                found.photographer.setdefault(label, screen.who) == screen.who
                and (label, width, theme) not in found.shot
            ):
                found.shot.add((label, width, theme))
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(
                    path=str(SHOTS / f"{label}--{width}-{theme}.png"),
                    full_page=not dialog,
                    animations="disabled",
                )
            start_axe(page, within="dialog[open]" if dialog else None)
            yield
            for violation in axe_result(page):
                elements = violation["elements"]
                expected = EXPECTED_VIOLATIONS.get((view_name, violation["id"]))
                if expected is not None:
                    found.expected_seen.add((view_name, violation["id"]))
                    elements = [e for e in elements if not re.search(expected, e["html"])]
                if elements:
                    found.problems.append(
                        f"{where}: {violation['id']} ({violation['impact']}) "
                        f"{violation['help']}: " + ", ".join(e["target"] for e in elements[:5])
                    )


def _open_dialog(page: Page, path: str) -> None:
    """Open the dialog at `path` as its opener does: htmx GETs it into #modal."""
    page.evaluate("path => htmx.ajax('GET', path, {target: '#modal', swap: 'innerHTML'})", path)
    expect(page.locator("dialog[open]")).to_have_count(1)


def _close_dialog(page: Page) -> None:
    page.evaluate(
        """() => document.querySelectorAll('dialog[open]').forEach(dialog => {
            dialog.dataset.forceClose = '1';
            dialog.close();
        })"""
    )
    expect(page.locator("dialog")).to_have_count(0)


def _secret_dialogs(screen: Screen, live_server, ids: dict[str, str]) -> Iterator[str]:
    """The show-once secrets: create an API key and an Admin key as a person would."""
    page = screen.page
    for page_path, opener, heading in (
        (PRODUCTION_KEYS.path(ids), "Create Key", "Save your key"),
        (ADMIN_KEYS.path(ids), "Create Admin key", "Save your Admin key"),
    ):
        page.goto(live_server.url + page_path)
        page.get_by_role("link", name=opener).click()
        dialog = page.locator("dialog[open]")
        dialog.get_by_label("Name").fill(f"swept {heading}")
        dialog.locator("button[type=submit]").click()
        expect(dialog.get_by_role("heading", name=heading)).to_be_visible()
        yield "secret_" + heading.lower().replace(" ", "-")
        dialog.get_by_label("I have copied the key and stored it somewhere safe").check()
        dialog.get_by_role("link", name="Done").click()
        expect(page.locator("dialog")).to_have_count(0)


@dataclass(frozen=True)
class Openable:
    """What a persona may open: pages, and the dialogs over each."""

    pages: list[View]
    dialogs: dict[View, list[View]]


def _openable(who: str, ids: dict[str, str]) -> Openable:
    client = Client()
    client.force_login(User.objects.get(email=f"{who}@example.com"))
    pages = [view for view in PAGES if _may_open(client, view, ids)]
    dialogs: dict[View, list[View]] = defaultdict(list)
    for view in DIALOGS:
        if _may_open(client, view, ids):
            dialogs[view.over].append(view)
    for view in dialogs:
        assert view in pages, f"{who} may open dialogs over {view.label} but not the page"
    return Openable(pages, dialogs)


def _sweep_persona(
    page: Page, live_server, who: str, openable: Openable, ids: dict[str, str], found: Findings
) -> Iterator[None]:
    """Every page and dialog `who` may open, each in both themes at both widths."""
    user = User.objects.get(email=f"{who}@example.com")
    pages, dialogs = openable.pages, openable.dialogs
    User.objects.filter(pk=user.pk).update(theme="light")
    sign_in(page, live_server, user.email, demo.PASSWORD)
    screen = Screen(page, who, names=[user.email, user.display_name])
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    for view in pages:
        response = page.goto(live_server.url + _resolved(view, ids))
        assert response is not None and response.ok, (view.label, who)
        expect(page.locator("html")).to_have_attribute("data-theme", screen.theme)
        yield from _look(screen, view.url_name, view.label, found)
        for over in dialogs.get(view, []):
            _open_dialog(page, _resolved(over, ids))
            yield from _look(screen, over.url_name, over.label, found, dialog=True)
            _close_dialog(page)
    # The top bar's menus, open.
    page.goto(live_server.url + WORKSPACES.path(ids))
    for menu in ("workspace-switcher", "user-menu"):
        page.get_by_test_id(menu).locator("summary").click()
        yield from _look(screen, "menu", f"{menu}-open", found)
        page.keyboard.press("Escape")
    if who == "admin":
        for label in _secret_dialogs(screen, live_server, ids):
            yield from _look(screen, "secret", label, found, dialog=True)


@dataclass(frozen=True)
class PublicPage:
    name: str
    path: str
    status: int = 200


def _public_pages(ids: dict[str, str]) -> list[PublicPage]:
    user = User.objects.get(email="user@example.com")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    _invite, invite_token = account_services.invite_create(
        actor=Actor.for_user(User.objects.get(email="admin@example.com")),
        organization=Invite.objects.get(public_id=ids["invite"]).organization,
        email="joiner@example.com",
        role="user",
    )
    return [
        PublicPage("login", reverse("accounts:login")),
        PublicPage("password-reset", reverse("accounts:password_reset")),
        PublicPage("password-reset-sent", reverse("accounts:password_reset_done")),
        PublicPage(
            "password-reset-choose", reverse("accounts:password_reset_confirm", args=[uid, token])
        ),
        PublicPage(
            "password-reset-expired",
            reverse("accounts:password_reset_confirm", args=[uid, "bad-token"]),
        ),
        PublicPage("password-reset-complete", reverse("accounts:password_reset_complete")),
        PublicPage("invite-accept", reverse("accounts:invite_accept", args=[invite_token])),
        PublicPage(
            "invite-problem", reverse("accounts:invite_accept", args=["no-such-token"]), 410
        ),
        PublicPage("not-found", "/no-such-page/", 404),
        PublicPage("bad-request", "/settings/workspaces/?q=%00", 400),
        PublicPage("server-error", "/e2e/fail/", 500),
    ]


def _sweep_public(
    new_page: Callable[..., Page], live_server, ids: dict[str, str], found: Findings
) -> Iterator[None]:
    """The public pages and the error pages, as a visitor (whose device picks the theme);
    the page of someone in no organization; and a member refused a page (403)."""
    visitor = new_page(timezone_id=BROWSER_ZONE, viewport={"width": DESKTOP, "height": 900})
    allow_console_error(visitor, r"status of (400|404|410|500)")
    screen = Screen(visitor, "a visitor", names=[], stored_theme=False)
    visitor.emulate_media(color_scheme="light")
    for public in _public_pages(ids):
        response = visitor.goto(live_server.url + public.path)
        assert response is not None and response.status == public.status, public.name
        yield from _look(screen, "public", public.name, found)

    orphan = User.objects.create_user("orphan@example.com", demo.PASSWORD, name="Olive Orphan")
    lonely = new_page(timezone_id=BROWSER_ZONE, viewport={"width": DESKTOP, "height": 900})
    sign_in(lonely, live_server, orphan.email, demo.PASSWORD)
    assert lonely.url.rstrip("/") == live_server.url  # accounts:home
    screen = Screen(lonely, "someone in no organization", names=[orphan.email, "Olive Orphan"])
    yield from _look(screen, "accounts:home", "no-organization", found)

    member = new_page(timezone_id=BROWSER_ZONE, viewport={"width": DESKTOP, "height": 900})
    allow_console_error(member, r"status of 403")
    User.objects.filter(email="user@example.com").update(theme="light")
    sign_in(member, live_server, "user@example.com", demo.PASSWORD)
    assert member.goto(f"{live_server.url}/settings/audit-log/").status == 403
    screen = Screen(member, "user", names=["user@example.com", "Uma User"])
    yield from _look(screen, "forbidden", "not-allowed", found)


def _interleave(sweeps: list[Iterator[None]], at_once: int = 2) -> None:
    """Run the sweeps `at_once` at a time, turn about: while axe runs in one tab, the next
    tab is moved on (each tab's page has its own renderer, so they run side by side)."""
    waiting = list(sweeps)
    running: list[Iterator[None]] = []
    while waiting or running:
        while waiting and len(running) < at_once:
            running.append(waiting.pop(0))
        for sweep in list(running):
            try:
                next(sweep)
            except StopIteration:
                running.remove(sweep)


@pytest.mark.urls("tests.e2e.urls")
def test_every_page_and_dialog(transactional_db, live_server, new_page: Callable[..., Page]):
    ids = _demo()
    found = Findings()
    openable = {who: _openable(who, ids) for who in PERSONAS}
    for who in PERSONAS:  # screenshots are taken as the first persona who may open each
        dialogs = [view for over in openable[who].dialogs.values() for view in over]
        for view in [*openable[who].pages, *dialogs]:
            found.photographer.setdefault(view.label, who)
    sweeps = [
        _sweep_persona(
            new_page(timezone_id=BROWSER_ZONE), live_server, who, openable[who], ids, found
        )
        for who in PERSONAS
    ]
    _interleave([*sweeps, _sweep_public(new_page, live_server, ids, found)])

    never = [v.label for v in [*PAGES, *DIALOGS] if not found.looked_at.get(v.label)]
    assert not never, f"Pages or dialogs no persona could open: {never}"
    gone = sorted(EXPECTED_VIOLATIONS.keys() - found.expected_seen)
    assert not gone, f"Expected violations that no longer happen (remove them): {gone}"
    assert not found.problems, "\n".join(found.problems)
