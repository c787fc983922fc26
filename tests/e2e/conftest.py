"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Every test here is marked `e2e`. Each test gets fresh browser contexts (1280x800) from the
`new_page` factory (or the `page` fixture, its first page); every page's console errors
are collected and a test fails when any is left over, so a CSP violation or a script
error fails the test that caused it. `shot(page, name)` saves a full-page screenshot to
test-results/<test name>/<name>.png. `axe_violations(page)` runs axe-core (vendored in
vendor/, injected through the browser's debugging protocol, which the page's CSP does not
govern) on the page as it is.

Tests request `transactional_db` before `personas`: the live server answers from another
thread, which only sees committed data.
"""

import contextlib
import functools
import re
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1280, "height": 800}
REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO_ROOT / "test-results"
E2E_DIR = Path(__file__).resolve().parent
AXE_SOURCE = E2E_DIR / "vendor" / "axe.min.js"
# axe-core's default rules (WCAG 2.0 to 2.2 A and AA, and best practices), and one it keeps
# experimental: a control's accessible name must contain the text it shows (WCAG 2.5.3).
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {"label-content-name-mismatch": {"enabled": True}},
}

expect.set_options(timeout=5_000)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.path)).resolve().is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@dataclass
class PageRecord:
    """What a test's page logged, and where its screenshots go."""

    test_name: str
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        return [error for error in self.errors if not any(p.search(error) for p in self.allowed)]


_records: "weakref.WeakKeyDictionary[Page, PageRecord]" = weakref.WeakKeyDictionary()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM}; install it with "
            "`apt-get install chromium` (or run `make browser`).",
            pytrace=False,
        )
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture(autouse=True)
def _allow_orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API keeps an event loop running in this thread, which makes Django
    refuse ORM calls from the test (factories, mail checks) unless this is set."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _test_dir_name(item: pytest.Item) -> str:
    return re.sub(r"[^\w.-]+", "_", item.name)


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Factory: each call opens a page in a new browser context (its own cookies), so a
    test can be two people at once. Keyword arguments go to the context (`timezone_id`,
    `color_scheme`, ...)."""
    contexts = []
    pages: list[Page] = []
    request.node.e2e_pages = pages

    def make(**options) -> Page:
        context = browser.new_context(**{"viewport": VIEWPORT, **options})
        contexts.append(context)
        page = context.new_page()
        record = PageRecord(test_name=_test_dir_name(request.node))
        _records[page] = record

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                source = message.location.get("url") or "?"
                record.errors.append(f"{message.text} [{source}] (on {page.url})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: record.errors.append(f"Uncaught: {error}"))
        pages.append(page)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """After a test passes, fail it if any of its pages logged a console error."""
    result = yield
    errors = []
    for page in getattr(item, "e2e_pages", []):
        if not page.is_closed():
            with contextlib.suppress(PlaywrightError):
                page.evaluate("0")  # a round trip, so pending console events are delivered
        errors += _records[page].unexpected()
    if errors:
        pytest.fail("Browser console errors:\n" + "\n".join(errors), pytrace=False)
    return result


def allow_console_error(page: Page, pattern: str) -> None:
    """Expect a console error matching `pattern` on `page` (e.g. a deliberate 410 page)."""
    _records[page].allowed.append(re.compile(pattern))


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-results/<test name>/<name>.png.

    Playwright hides the caret by leaving style="" on every input; the console's htmx
    settings keep later swaps from copying it, which the CSP would refuse."""
    path = RESULTS_DIR / _records[page].test_name / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


@functools.cache
def _axe_source() -> str:
    return AXE_SOURCE.read_text()


def start_axe(page: Page, *, only: Sequence[str] = (), within: str | None = None) -> None:
    """Start axe-core on `page` as it is now (of the rules `only` names, else of them all;
    inside the element `within` selects, else in the whole document), without waiting:
    `axe_result` waits for it. Meanwhile the test may work in another tab."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source() + "\n;true")
    options = {**AXE_OPTIONS, "runOnly": list(only)} if only else AXE_OPTIONS
    page.evaluate(
        """([options, within]) => {
            window.__axeRun = axe.run(within ? document.querySelector(within) : document, options)
                .then(results => results.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    elements: v.nodes.map(n => ({target: n.target.join(" "), html: n.html})),
                })));
        }""",
        [options, within],
    )


def axe_result(page: Page) -> list[dict]:
    """The violations the axe run `start_axe` began finds: each with its rule `id`, `impact`,
    `help` and the offending `elements`, each a CSS `target` and the start of its `html`."""
    return page.evaluate("() => window.__axeRun")


def axe_violations(
    page: Page, *, only: Sequence[str] = (), within: str | None = None
) -> list[dict]:
    """axe-core's violations on `page` now (see `start_axe` and `axe_result`)."""
    start_axe(page, only=only, within=within)
    return axe_result(page)


def sign_in(page: Page, live_server, email: str, password: str) -> None:
    """Sign in with the real form at /login/ and wait to leave it."""
    page.goto(f"{live_server.url}/login/")
    page.locator('input[name="username"]').fill(email)
    page.locator('input[name="password"]').fill(password)
    page.locator('button[type="submit"]').click()
    page.wait_for_url(lambda url: "/login/" not in url)


def live_path(live_server, url: str) -> str:
    """`url` (absolute, on any host) moved onto the live server."""
    return re.sub(r"^https?://[^/]+", live_server.url, url)


def path_of(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def no_full_reload(page: Page) -> Callable[[], None]:
    """Mark the current document; the returned check fails if the page was reloaded since."""
    page.evaluate("window.__e2eSameDocument = true")

    def check() -> None:
        assert page.evaluate("window.__e2eSameDocument === true"), "the page was reloaded"

    return check


def open_dialog(page: Page):
    """The open modal <dialog> (there is one at a time)."""
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    return dialog


@pytest.fixture(autouse=True)
def _catalog(transactional_db, catalog) -> None:
    """Every browser test has the model catalog (see `tests.conftest.catalog`)."""
