"""Settings > Usage and Settings > Cost, walked in the browser: the filters (which submit on
change and land in the URL), drilling from days into hours and minutes through the chart, the
numbers as a table, CSV exports, an archived workspace in the cost breakdown; and a member
whose role gives no access to reports."""

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect

from accounts.audit import Actor
from billing import pricing
from billing import usage as billing_usage
from billing.models import Model
from billing.money import dollars, usd
from tests.e2e.conftest import allow_console_error, axe_violations, no_full_reload, sign_in
from tests.e2e.conftest import shot as full_page_shot
from tests.factories import PASSWORD, WorkspaceFactory
from workspaces import services as workspace_services
from workspaces.models import ApiKey, Workspace

SONNET = "claude-sonnet-4-5"
HAIKU = "claude-haiku-4-5"
OPUS = "claude-opus-4-5"
USAGE_CSV_HEADER = (
    "period_start,model,requests,uncached_input_tokens,cache_creation_5m_tokens,"
    "cache_creation_1h_tokens,cache_read_tokens,output_tokens,web_search_requests"
)


def shot(page: Page, name: str) -> None:
    """`conftest.shot` from the top of the page (the sticky top bar repeats otherwise)."""
    page.evaluate("window.scrollTo(0, 0)")
    full_page_shot(page, name)


@dataclass
class Recorded:
    workspace: Workspace
    model: str
    at: datetime
    tokens: dict

    @property
    def input(self) -> int:
        return sum(v for k, v in self.tokens.items() if k != "output_tokens")

    @property
    def output(self) -> int:
        return self.tokens.get("output_tokens", 0)


@dataclass
class Usage:
    research: Workspace
    first: date  # the first day of this month (UTC): every record but one is on it
    today: date
    records: list[Recorded]

    def on(self, day: date) -> list[Recorded]:
        return [r for r in self.records if r.at.date() == day]


def _record_usage(personas, extra: list[tuple[Workspace, str, datetime, dict]] = ()) -> Usage:
    """Usage in the Default workspace and "Research", of two models, at known times of the
    current UTC month (so "This month" shows all of it): three requests on the 1st, in two
    hours, and one today just after midnight."""
    actor = Actor.for_user(personas.admin)
    default = personas.default_workspace
    research = WorkspaceFactory(organization=personas.org, name="Research")
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    day_one = datetime.combine(first, time.min, tzinfo=UTC)
    plan = [
        (
            default,
            SONNET,
            day_one + timedelta(hours=9, minutes=5),
            {"uncached_input_tokens": 1_200, "output_tokens": 300},
        ),
        (
            research,
            HAIKU,
            day_one + timedelta(hours=9, minutes=40),
            {"uncached_input_tokens": 800, "cache_read_tokens": 400, "output_tokens": 200},
        ),
        (
            research,
            SONNET,
            day_one + timedelta(hours=14, minutes=10),
            {"uncached_input_tokens": 500, "output_tokens": 100},
        ),
        (
            default,
            HAIKU,
            datetime.combine(today, time(0, 30), tzinfo=UTC),
            {"uncached_input_tokens": 2_000, "output_tokens": 700},
        ),
        *extra,
    ]
    keys = {}
    records = []
    for workspace, model, at, tokens in plan:
        if workspace.pk not in keys:
            keys[workspace.pk], _secret = workspace_services.api_key_create(
                actor=actor, workspace=workspace, name=f"{workspace.name} key"
            )
        billing_usage.record(
            api_key=keys[workspace.pk],
            model=Model.objects.get(api_name=model),
            tokens=tokens,
            at=at,
        )
        records.append(Recorded(workspace, model, at, tokens))
    return Usage(research=research, first=first, today=today, records=records)


def _sidebar_link(page: Page, name: str):
    return page.get_by_role("complementary", name="Settings").get_by_role(
        "link", name=name, exact=True
    )


def _filter(page: Page, label: str):
    """A filter of the report's form, once htmx has finished the last swap: the form is
    swapped with the report, and a change made while htmx still settles it can be lost."""
    busy = page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    expect(busy).to_have_count(0)
    return page.locator("form.report-filters").get_by_label(label, exact=True)


def _heading(page: Page):
    return page.locator(".report-head h2")


def _total(page: Page, name: str):
    totals = page.get_by_test_id("usage-totals")
    return totals.locator("div", has=page.locator("dt", has_text=re.compile(f"^{name}$"))).locator(
        "dd"
    )


def _period(start: date, end: date) -> str:
    return f"{start:%d %b %Y} to {end:%d %b %Y} (UTC)"


def _day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def _download(page: Page, link_name: str) -> tuple[str, list[list[str]]]:
    """Click an export link (it has `download`); the file's name and its rows, header first."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name, exact=True).click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    return download.suggested_filename, list(csv.reader(io.StringIO(text)))


def _assert_chart_axes(page: Page, x_title: str, y_titles: list[str]) -> None:
    """Every chart has its axis titles and numbered y ticks."""
    charts = page.locator("#report figure.chart svg.chart__svg")
    expect(charts).to_have_count(len(y_titles))
    for index, y_title in enumerate(y_titles):
        chart = charts.nth(index)
        expect(chart.locator("text", has_text=x_title)).to_have_count(1)
        expect(chart.locator("text", has_text=y_title)).to_have_count(1)
        expect(chart.locator("text[text-anchor=end][dominant-baseline=middle]")).to_have_count(5)


def test_usage_report_filters_drill_down_and_export(
    transactional_db, personas, live_server, page: Page
):
    usage = _record_usage(personas)
    first, today = usage.first, usage.today
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    _sidebar_link(page, "Usage").click()
    page.wait_for_url("**/settings/usage/")
    expect(_sidebar_link(page, "Usage")).to_have_attribute("aria-current", "page")
    expect(_heading(page)).to_have_text(_period(first, today))
    expect(_total(page, "Requests")).to_have_text("4")
    expect(_total(page, "Output")).to_have_text(f"{sum(r.output for r in usage.records):,}")
    charts = page.locator("#report figure.chart")
    expect(charts.locator("figcaption")).to_have_text(
        ["Input tokens by model", "Output tokens by model", "Rate-limited requests by limiter"]
    )
    expect(charts.nth(2)).to_contain_text("No data for this period.")
    _assert_chart_axes(page, "Day (UTC)", ["Input tokens", "Output tokens"])
    expect(charts.nth(0).locator(".legend li")).to_have_text([HAIKU, SONNET])
    same_document = no_full_reload(page)
    shot(page, "usage-this-month")

    # One workspace: the form submits on change, and the filter lands in the URL.
    _filter(page, "Workspace").select_option(label="Research")
    expect(page).to_have_url(re.compile(f"workspace={usage.research.public_id}"))
    research = [r for r in usage.records if r.workspace == usage.research]
    expect(_total(page, "Requests")).to_have_text(str(len(research)))
    expect(_total(page, "Output")).to_have_text(f"{sum(r.output for r in research):,}")
    expect(_filter(page, "Workspace")).to_have_value(usage.research.public_id)
    shot(page, "usage-research-workspace")

    _filter(page, "Workspace").select_option(label="All Workspaces")
    expect(page).to_have_url(re.compile(r"[?&]workspace=(&|$)"))
    expect(_total(page, "Requests")).to_have_text("4")

    # Another range: the period heading follows.
    _filter(page, "Date range").select_option(label="Last 7 days")
    expect(page).to_have_url(re.compile(r"[?&]range=7d(&|$)"))
    expect(_heading(page)).to_have_text(_period(today - timedelta(days=6), today))
    _filter(page, "Date range").select_option(label="This month")
    expect(_heading(page)).to_have_text(_period(first, today))

    # A day's column in the chart opens its hours...
    day_one = usage.on(first)
    page.locator(f'figure.chart svg.chart__svg a[href*="day={first.isoformat()}"]').first.click()
    expect(page).to_have_url(re.compile(f"[?&]day={first.isoformat()}(&|$)"))
    expect(_heading(page)).to_have_text(f"{first:%A %d %B %Y} (UTC)")
    expect(_total(page, "Requests")).to_have_text(str(len(day_one)))
    _assert_chart_axes(page, "Hour (UTC)", ["Input tokens", "Output tokens"])
    shot(page, "usage-hours-of-day")

    # ... and an hour's column its minutes.
    page.locator(
        f'figure.chart svg.chart__svg a[href*="hour={first.isoformat()}T09"]'
    ).first.click()
    expect(page).to_have_url(re.compile(f"[?&]hour={first.isoformat()}T09(&|$)"))
    expect(_heading(page)).to_have_text(f"{first:%A %d %B %Y}, 09:00 to 10:00 UTC")
    nine = [r for r in day_one if r.at.hour == 9]
    expect(_total(page, "Requests")).to_have_text(str(len(nine)))
    expect(_total(page, "Output")).to_have_text(f"{sum(r.output for r in nine):,}")
    _assert_chart_axes(page, "Minute (UTC)", ["Input tokens", "Output tokens"])
    expect(page.locator("figure.chart svg a")).to_have_count(0)  # minutes are the finest
    shot(page, "usage-minutes-of-hour")

    page.get_by_role("link", name=f"← Back to the hours of {_day_label(first)}").click()
    expect(_heading(page)).to_have_text(f"{first:%A %d %B %Y} (UTC)")
    expect(page).not_to_have_url(re.compile(r"[?&]hour="))
    page.get_by_role("link", name="← Back to days").click()
    expect(_heading(page)).to_have_text(_period(first, today))
    expect(page).not_to_have_url(re.compile(r"[?&]day="))
    same_document()

    # The numbers behind the charts, as a table.
    page.get_by_text("Show the numbers as a table").click()
    table = page.get_by_test_id("usage-table")
    expect(table).to_be_visible()
    row = table.locator(
        "tbody tr", has=page.get_by_role("rowheader", name=_day_label(first), exact=True)
    )
    cells = row.locator("td")  # one per model (in / out), then Input, Output, Refused
    expect(cells).to_have_count(2 + 3)
    expect(cells.nth(2)).to_have_text(f"{sum(r.input for r in day_one):,}")
    expect(cells.nth(3)).to_have_text(f"{sum(r.output for r in day_one):,}")
    sonnet_day_one = [r for r in day_one if r.model == SONNET]
    expect(cells.nth(1)).to_have_text(
        f"{sum(r.input for r in sonnet_day_one):,} / {sum(r.output for r in sonnet_day_one):,}"
    )
    shot(page, "usage-table")

    # CSV: one row per day and model with usage.
    filename, rows = _download(page, "Export CSV")
    assert filename == f"usage-{first.isoformat()}-{today.isoformat()}.csv"
    assert ",".join(rows[0]) == USAGE_CSV_HEADER
    assert len(rows) - 1 == len({(r.at.date(), r.model) for r in usage.records})
    first_sonnet = next(row for row in rows[1:] if row[:2] == [first.isoformat(), SONNET])
    assert first_sonnet[2] == str(len(sonnet_day_one))
    assert first_sonnet[-2:] == [str(sum(r.output for r in sonnet_day_one)), "0"]


def test_cost_report_with_an_archived_workspace(
    transactional_db, personas, live_server, page: Page
):
    legacy = WorkspaceFactory(organization=personas.org, name="Legacy")
    today = datetime.now(UTC).date()
    legacy_at = datetime.combine(today.replace(day=1), time(10, 0), tzinfo=UTC)
    usage = _record_usage(
        personas, extra=[(legacy, OPUS, legacy_at, {"uncached_input_tokens": 100_000})]
    )
    workspace_services.workspace_archive(actor=Actor.for_user(personas.admin), workspace=legacy)
    prices = {m.api_name: m for m in Model.objects.filter(api_name__in=[SONNET, HAIKU, OPUS])}
    total = sum((pricing.cost_cents(prices[r.model], r.tokens) for r in usage.records), Decimal(0))

    sign_in(page, live_server, personas.admin.email, PASSWORD)
    _sidebar_link(page, "Cost").click()
    page.wait_for_url("**/settings/cost/")
    expect(_heading(page)).to_have_text(_period(usage.first, today))
    expect(page.get_by_test_id("cost-total")).to_have_text(usd(total))
    chart = page.locator("#report figure.chart")
    expect(chart.locator("figcaption")).to_have_text("Cost per day by workspace")
    _assert_chart_axes(page, "Day (UTC)", ["Cost (USD)"])
    expect(chart.locator(".legend li")).to_have_text(["Default", "Legacy (archived)", "Research"])
    breakdown = page.get_by_test_id("cost-breakdown")
    legacy_row = breakdown.locator("tbody tr", has_text="Legacy")
    expect(legacy_row).to_have_count(1)
    expect(legacy_row.locator(".badge")).to_have_text("Archived")
    expect(legacy_row.locator("td").nth(1)).to_have_text(OPUS)
    expect(legacy_row.locator("td").nth(3)).to_have_text("100,000")
    expect(legacy_row.locator("td").nth(4)).to_have_text(
        usd(pricing.cost_cents(prices[OPUS], {"uncached_input_tokens": 100_000}))
    )
    expect(_filter(page, "Workspace").locator("option", has_text="Legacy")).to_have_text(
        "Legacy (archived)"
    )
    shot(page, "cost-this-month")

    # Daily CSV: one row per day and workspace with cost.
    filename, rows = _download(page, "Export CSV")
    assert filename == f"cost-{usage.first.isoformat()}-{today.isoformat()}.csv"
    assert rows[0] == ["date", "workspace", "cost_usd"]
    by_day: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in usage.records:
        name = f"{r.workspace.name} (archived)" if r.workspace == legacy else r.workspace.name
        by_day[(r.at.date().isoformat(), name)] += pricing.cost_cents(prices[r.model], r.tokens)
    assert rows[1:] == [[d, name, str(dollars(c))] for (d, name), c in sorted(by_day.items())]
    assert [usage.first.isoformat(), "Legacy (archived)", "0.50"] in rows

    # Breakdown CSV: the archived workspace says so.
    _filename, rows = _download(page, "Export breakdown CSV")
    assert rows[0] == [
        "workspace",
        "workspace_id",
        "archived",
        "model",
        "token_type",
        "tokens",
        "cost_usd",
    ]
    assert [row for row in rows[1:] if row[0] == "Legacy"] == [
        ["Legacy", legacy.public_id, "yes", OPUS, "uncached_input_tokens", "100000", "0.50"]
    ]
    assert {row[2] for row in rows[1:] if row[0] != "Legacy"} == {"no"}

    # One workspace: stacked by model instead.
    _filter(page, "Workspace").select_option(label="Research")
    expect(page).to_have_url(re.compile(f"workspace={usage.research.public_id}"))
    expect(chart.locator("figcaption")).to_have_text("Cost per day by model")
    research_total = sum(
        (
            pricing.cost_cents(prices[r.model], r.tokens)
            for r in usage.records
            if r.workspace == usage.research
        ),
        Decimal(0),
    )
    expect(page.get_by_test_id("cost-total")).to_have_text(usd(research_total))
    expect(page.get_by_test_id("cost-breakdown")).not_to_contain_text("Legacy")
    shot(page, "cost-research-workspace")


def test_user_role_has_no_reports(transactional_db, personas, live_server, page: Page):
    _record_usage(personas)
    sign_in(page, live_server, personas.user.email, PASSWORD)
    sidebar = page.get_by_role("complementary", name="Settings")
    expect(sidebar.get_by_role("link").first).to_be_visible()
    expect(sidebar.get_by_role("link", name="Usage", exact=True)).to_have_count(0)
    expect(sidebar.get_by_role("link", name="Cost", exact=True)).to_have_count(0)

    allow_console_error(page, r"status of 403")
    for path in ("/settings/usage/", "/settings/cost/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", name="You can't open this page")).to_be_visible()
        expect(page.locator("body")).not_to_contain_text("Input tokens")
    shot(page, "user-forbidden")


def test_key_picker_filters_as_one_types(transactional_db, personas, live_server, page: Page):
    usage = _record_usage(personas)
    research_key = ApiKey.objects.get(name="Research key")
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/usage/")
    same_document = no_full_reload(page)
    picker = _filter(page, "API key")
    expect(picker).to_have_attribute("role", "combobox")
    expect(picker).to_have_attribute("placeholder", "All API keys")
    expect(page.locator("select#filter-key")).to_be_hidden()

    picker.click()
    picker.fill("resea")
    expect(picker).to_have_attribute("aria-expanded", "true")
    options = page.get_by_role("listbox", name="API keys").get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Research key")
    expect(options.first).to_contain_text(f"{research_key.hint} · Research")
    assert not axe_violations(page)
    shot(page, "key-picker-open")
    picker.press("ArrowDown")
    expect(picker).to_have_attribute("aria-activedescendant", re.compile(r"-option-0$"))
    picker.press("Enter")

    expect(page).to_have_url(re.compile(f"[?&]key={research_key.public_id}(&|$)"))
    research = [r for r in usage.records if r.workspace == usage.research]
    expect(_total(page, "Requests")).to_have_text(str(len(research)))
    picker = _filter(page, "API key")
    expect(picker).to_have_value(f"Research key · {research_key.hint}")
    expect(picker).to_be_focused()  # the filters were swapped; focus stayed in the picker
    shot(page, "key-picker-chosen")

    # Escape closes the list and puts back the key chosen.
    picker.fill("nothing like this")
    expect(page.locator(".combobox__empty")).to_have_text("No API key matches “nothing like this”.")
    picker.press("Escape")
    expect(picker).to_have_attribute("aria-expanded", "false")
    expect(picker).to_have_value(f"Research key · {research_key.hint}")

    # Another workspace has other keys: choosing one clears the key.
    _filter(page, "Workspace").select_option(label="Default")
    expect(page).to_have_url(re.compile(r"[?&]key=(&|$)"))
    expect(page.locator(".alert--error")).to_have_count(0)
    picker = _filter(page, "API key")
    expect(picker).to_have_value("")
    picker.press("ArrowDown")
    expect(page.get_by_role("listbox", name="API keys").get_by_role("option")).to_have_text(
        ["All API keys", re.compile(r"^Default key")]
    )
    picker.press("Escape")
    same_document()


def test_key_picker_without_script_is_a_select(transactional_db, personas, live_server, new_page):
    _record_usage(personas)
    research_key = ApiKey.objects.get(name="Research key")
    page = new_page(java_script_enabled=False)
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/usage/")
    key = page.get_by_label("API key", exact=True)
    expect(key.locator("option")).to_have_text(
        [
            "All API keys",
            f"Default key ({personas.default_workspace.api_keys.get().hint}, Default)",
            f"Research key ({research_key.hint}, Research)",
        ]
    )
    key.select_option(label=f"Research key ({research_key.hint}, Research)")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(f"[?&]key={research_key.public_id}(&|$)"))
    expect(page.get_by_label("API key", exact=True)).to_have_value(research_key.public_id)
    shot(page, "key-filter-without-script")


def test_chart_drill_down_by_keyboard_and_on_cost(
    transactional_db, personas, live_server, page: Page
):
    usage = _record_usage(personas)
    first = usage.first
    sign_in(page, live_server, personas.admin.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/usage/")
    same_document = no_full_reload(page)
    chart = page.get_by_role("group", name=re.compile("^Input tokens by model"))
    links = chart.get_by_role("link")
    # One link per day with usage, named with its day and total; none for empty days.
    days_with_usage = sorted({r.at.date() for r in usage.records})
    expect(links).to_have_count(len(days_with_usage))
    day_one_input = sum(r.input for r in usage.on(first))
    link = chart.get_by_role(
        "link", name=f"{_day_label(first)}: {day_one_input:,} in all. Show its hours"
    )
    link.focus()
    shot(page, "bar-focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"[?&]day={first.isoformat()}(&|$)"))
    expect(_heading(page)).to_have_text(f"{first:%A %d %B %Y} (UTC)")
    hours = page.get_by_role("group", name=re.compile("^Input tokens by model")).get_by_role("link")
    expect(hours).to_have_count(len({r.at.hour for r in usage.on(first)}))
    same_document()
    assert not axe_violations(page, only=("nested-interactive", "link-name", "svg-img-alt"))

    # Cost bars drill down the same way: a day into its hours, an hour into its minutes.
    _sidebar_link(page, "Cost").click()
    page.wait_for_url("**/settings/cost/")
    cost_chart = page.get_by_role("group", name=re.compile("^Cost per day by workspace"))
    cost_chart.get_by_role("link", name=re.compile(f"^{_day_label(first)}: ")).click()
    expect(page).to_have_url(re.compile(f"[?&]day={first.isoformat()}(&|$)"))
    expect(page.locator("#report figcaption")).to_have_text("Cost per hour by workspace")
    page.get_by_role("group", name=re.compile("^Cost per hour")).get_by_role(
        "link", name=re.compile("^09:00: ")
    ).click()
    expect(page).to_have_url(re.compile(f"[?&]hour={first.isoformat()}T09(&|$)"))
    expect(page.locator("#report figcaption")).to_have_text("Cost per minute by workspace")
    expect(page.get_by_role("img", name="Cost per minute by workspace")).to_be_visible()
    shot(page, "cost-minutes")
    page.get_by_role("link", name=f"← Back to the hours of {_day_label(first)}").click()
    expect(page.locator("#report figcaption")).to_have_text("Cost per hour by workspace")
