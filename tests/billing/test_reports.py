"""Usage and Cost pages: every number equals a direct computation over the raw records."""

import csv
import html
import io
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.audit import Actor
from accounts.roles import OrgRole, WorkspaceRole
from billing import selectors, usage
from billing.models import Model, UsageRecord
from tests.factories import MemberFactory, WorkspaceFactory, WorkspaceMemberFactory
from tests.helpers import bulk_api_keys
from workspaces import services as workspace_services

MOMENTS = [
    datetime(2026, 10, 30, 12, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 0, 0, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 0, 59, 59, tzinfo=UTC),
    datetime(2026, 11, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 23, 30, tzinfo=UTC),
    datetime(2026, 11, 2, 8, 15, tzinfo=UTC),
]


RANGE = {"range": "custom", "start": "2026-10-30", "end": "2026-11-02"}


@pytest.fixture
def data(personas):
    """Two workspaces (one later archived) and the Default one, keys in each, three models,
    every token kind, web searches, the three service tiers (batch at half price), and times
    on both sides of day and month boundaries."""
    actor = Actor.for_user(personas.admin)
    production = WorkspaceFactory(organization=personas.org, name="Production")
    research = WorkspaceFactory(organization=personas.org, name="Research")
    keys = [
        workspace_services.api_key_create(actor=actor, workspace=workspace, name=f"k{i}")[0]
        for i, workspace in enumerate(
            [production, production, research, personas.default_workspace]
        )
    ]
    models = list(
        Model.objects.filter(
            api_name__in=["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5"]
        )
    )
    for index, moment in enumerate(MOMENTS * 3):
        usage.record(
            api_key=keys[index % len(keys)],
            model=models[index % len(models)],
            tokens={
                "uncached_input_tokens": 1_000 + index * 37,
                "cache_creation_5m_tokens": (index % 3) * 500,
                "cache_creation_1h_tokens": (index % 2) * 250,
                "cache_read_tokens": (index % 4) * 1_000,
                "output_tokens": 100 + index * 11,
            },
            at=moment + timedelta(seconds=index % 7),
            service_tier=("standard", "batch", "priority")[index % 3],
            web_search_requests=index % 4,
        )
    usage.count_refusal(
        api_key_id=keys[0].pk,
        organization_id=personas.org.pk,
        workspace_id=production.pk,
        model_id=models[0].pk,
        limiter="requests_per_minute",
        at=MOMENTS[2],
    )
    workspace_services.workspace_archive(actor=actor, workspace=research)
    other = WorkspaceFactory(organization=personas.other_org)
    other_key, _ = workspace_services.api_key_create(actor=actor, workspace=other, name="o")
    usage.record(api_key=other_key, model=models[0], tokens={"output_tokens": 999}, at=MOMENTS[3])
    return {
        "production": production,
        "research": research,
        "keys": keys,
        "models": models,
        "other": other,
    }


def raw(personas, **filters):
    return list(
        UsageRecord.objects.filter(organization=personas.org, **filters).select_related("model")
    )


def test_usage_days_totals_table_and_csv_match_raw(client, personas, data):
    c = client(personas.admin)
    response = c.get(reverse("billing:usage"), RANGE)
    report = response.context["report"]
    expected = defaultdict(lambda: defaultdict(int))
    for record in raw(personas):
        cell = expected[(record.created_at.date(), record.model.api_name)]
        cell["requests"] += 1
        for kind in usage.TOKEN_FIELDS:
            cell[kind] += getattr(record, kind)
    got = {(row.bucket, row.model): row for row in report.rows}
    assert set(got) == set(expected)
    for key, cell in expected.items():
        for name, value in cell.items():
            assert getattr(got[key], name) == value, (key, name)
    totals = report.totals
    assert totals.requests == len(MOMENTS) * 3
    assert totals.output_tokens == sum(r.output_tokens for r in raw(personas))
    assert f"{totals.requests:,}".encode() in response.content
    lines = list(
        csv.reader(
            io.StringIO(
                c.get(reverse("billing:usage"), {**RANGE, "format": "csv"}).content.decode()
            )
        )
    )
    assert lines[0] == [
        "period_start",
        "model",
        "requests",
        *usage.TOKEN_FIELDS,
        "web_search_requests",
    ]
    assert len(lines) - 1 == len(report.rows)
    for line in lines[1:]:
        row = got[(datetime.fromisoformat(line[0]).date(), line[1])]
        assert [int(v) for v in line[2:]] == [
            row.requests,
            *(getattr(row, k) for k in usage.TOKEN_FIELDS),
            row.web_search_requests,
        ]


def test_drill_down_sums_to_parents(client, personas, data):
    c = client(personas.admin)
    days = {
        (r.bucket, r.model): r
        for r in c.get(reverse("billing:usage"), RANGE).context["report"].rows
    }
    hours = c.get(reverse("billing:usage"), {**RANGE, "day": "2026-11-01"}).context["report"]
    assert hours.scope.granularity == "hour" and len(hours.scope.buckets()) == 24
    for model in {m for (_d, m) in days}:
        day_row = days.get((datetime(2026, 11, 1).date(), model))
        hour_sum = sum(r.output_tokens for r in hours.rows if r.model == model)
        assert hour_sum == (day_row.output_tokens if day_row else 0)
    minutes = c.get(reverse("billing:usage"), {**RANGE, "hour": "2026-11-01T00"}).context["report"]
    assert len(minutes.scope.buckets()) == 60
    first_hour = sum(
        r.requests for r in hours.rows if r.bucket == datetime(2026, 11, 1, 0, tzinfo=UTC)
    )
    assert sum(r.requests for r in minutes.rows) == first_hour > 0


def test_usage_filters_by_workspace_model_and_key(client, personas, data):
    c = client(personas.admin)
    model = data["models"][0]
    only = c.get(
        reverse("billing:usage"),
        {**RANGE, "workspace": data["production"].public_id, "model": model.api_name},
    )
    expected = raw(personas, workspace=data["production"], model=model)
    assert only.context["report"].totals.requests == len(expected)
    by_key = c.get(reverse("billing:usage"), {**RANGE, "key": data["keys"][2].public_id})
    assert by_key.context["report"].totals.requests == len(raw(personas, api_key=data["keys"][2]))


def test_refusals_chart(client, personas, data):
    report = client(personas.admin).get(reverse("billing:usage"), RANGE).context["report"]
    assert report.refusals == [(datetime(2026, 11, 1).date(), "requests_per_minute", 1)]


def test_cost_matches_raw(client, personas, data):
    c = client(personas.admin)
    response = c.get(reverse("billing:cost"), RANGE)
    report = response.context["report"]
    records = raw(personas)
    assert report.total_cents == sum(r.cost_cents for r in records)
    expected_daily = defaultdict(Decimal)
    for record in records:
        workspace = record.workspace
        name = f"{workspace.name} (archived)" if workspace.is_archived else workspace.name
        expected_daily[(record.created_at.date(), name)] += record.cost_cents
    assert report.daily == dict(expected_daily)
    assert "Research (archived)" in report.series and "Default" in report.series
    tokens = defaultdict(int)
    for record in records:
        for kind in (*usage.TOKEN_FIELDS, "web_search_requests"):
            tokens[(record.workspace_id, record.model.api_name, kind)] += getattr(record, kind)
    lines = {
        (line.workspace.pk, line.model.api_name, line.token_type): line for line in report.lines
    }
    assert {k: line.tokens for k, line in lines.items()} == {k: v for k, v in tokens.items() if v}
    assert sum(line.cost_cents for line in report.lines) == report.total_cents
    daily_csv = list(
        csv.reader(
            io.StringIO(c.get(reverse("billing:cost"), {**RANGE, "format": "csv"}).content.decode())
        )
    )
    assert daily_csv[0] == ["date", "workspace", "cost_usd"]
    assert sum(Decimal(line[2]) for line in daily_csv[1:]) == sum(
        (v / 100).quantize(Decimal("0.01")) for v in expected_daily.values()
    )
    breakdown = list(
        csv.reader(
            io.StringIO(
                c.get(
                    reverse("billing:cost"), {**RANGE, "format": "csv", "table": "breakdown"}
                ).content.decode()
            )
        )
    )
    assert len(breakdown) - 1 == len(report.lines)
    assert b"Archived" in response.content


def test_cost_for_one_workspace_is_stacked_by_model(client, personas, data):
    report = (
        client(personas.admin)
        .get(reverse("billing:cost"), {**RANGE, "workspace": data["production"].public_id})
        .context["report"]
    )
    assert set(report.series) <= {m.api_name for m in data["models"]}
    assert report.total_cents == sum(
        r.cost_cents for r in raw(personas, workspace=data["production"])
    )


def test_cost_for_one_api_key(client, personas, data):
    """The key filter narrows the Cost page, its breakdown and its CSV as it does Usage."""
    key = data["keys"][2]
    c = client(personas.admin)
    response = c.get(reverse("billing:cost"), {**RANGE, "key": key.public_id})
    assert response.status_code == 200
    assert re.search(
        f'<option value="{key.public_id}" data-name="k2"[^>]* selected>k2 \\(',
        response.content.decode(),
    )
    report = response.context["report"]
    records = raw(personas, api_key=key)
    assert records and report.total_cents == sum(r.cost_cents for r in records)
    assert sum(line.tokens for line in report.lines) == sum(
        getattr(r, kind) for r in records for kind in (*usage.TOKEN_FIELDS, "web_search_requests")
    )
    assert sum(line.cost_cents for line in report.lines) == report.total_cents
    exported = c.get(reverse("billing:cost"), {**RANGE, "key": key.public_id, "format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.content.decode())))[1:]
    assert [(row[0], row[1]) for row in rows] == [
        (day.isoformat(), series) for day, series in sorted(report.daily)
    ]


@pytest.mark.parametrize("page", ["billing:usage", "billing:cost"])
@pytest.mark.parametrize(
    ("who", "status"), [("admin", 200), ("billing", 200), ("developer", 200), ("user", 403)]
)
def test_access_by_role(client, personas, data, page, who, status):
    c = client(getattr(personas, who))
    assert c.get(reverse(page), RANGE).status_code == status
    assert c.get(reverse(page), {**RANGE, "format": "csv"}).status_code == status


@pytest.mark.parametrize("page", ["billing:usage", "billing:cost"])
def test_workspace_admins_see_only_their_workspaces(client, personas, data, page):
    ws_admin = MemberFactory(organization=personas.org, role=OrgRole.USER).user
    WorkspaceMemberFactory(workspace=data["production"], user=ws_admin, role=WorkspaceRole.ADMIN)
    c = client(ws_admin)
    response = c.get(reverse(page), RANGE)
    assert response.status_code == 200
    assert [w.name for w in response.context["filters"].workspaces] == ["Production"]
    total = response.context["report"].total_cents if page == "billing:cost" else None
    if total is not None:
        assert total == sum(r.cost_cents for r in raw(personas, workspace=data["production"]))
    assert (
        c.get(reverse(page), {**RANGE, "workspace": data["research"].public_id}).status_code == 404
    )


@pytest.mark.parametrize("page", ["billing:usage", "billing:cost"])
def test_another_organizations_workspace_is_404(client, personas, data, page):
    c = client(personas.admin)
    assert c.get(reverse(page), {**RANGE, "workspace": data["other"].public_id}).status_code == 404
    assert (
        c.get(
            reverse(page), {**RANGE, "workspace": data["other"].public_id, "format": "csv"}
        ).status_code
        == 404
    )
    # Another organization's API key in the key filter is as unknown as its workspace.
    other_key, _ = workspace_services.api_key_create(
        actor=Actor.for_user(personas.outsider), workspace=data["other"], name="theirs"
    )
    assert c.get(reverse(page), {**RANGE, "key": other_key.public_id}).status_code == 404
    anonymous = Client().get(reverse(page))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


@pytest.mark.parametrize("page", ["billing:usage", "billing:cost"])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"workspace": "wrkspc_doesnotexist"}, "No workspace has that ID"),
        (
            {"range": "custom", "start": "2026-11-05", "end": "2026-11-01"},
            "end of the range is before its start",
        ),
        ({"range": "custom", "start": "2025-01-01", "end": "2026-11-01"}, "at most 13 months"),
        (
            {"range": "custom", "start": "2026-13-45", "end": "2026-11-01"},
            "From: Expected a date such as 2026-11-01, within years 2000 to 2999.",
        ),
        ({"range": "custom", "start": "2026-11-01"}, "both the start and the end"),
        ({"model": "gpt-9"}, "is not a model in the catalog"),
        ({"range": "forever"}, "Choose one of the ranges listed"),
        ({"day": "yesterday"}, "Day: Expected a date such as"),
        ({"key": "apikey_doesnotexist"}, "No API key has that ID"),
    ],
)
def test_bad_filters_show_a_message(client, personas, data, page, params, message):
    response = client(personas.admin).get(reverse(page), params)
    assert response.status_code == 200
    assert message in response.content.decode()


def _insert_raw_records(personas, data, count: int) -> None:
    """`count` more raw records, straight into the table (the pages must not read them)."""
    key = data["keys"][0]
    model = data["models"][0]
    table = UsageRecord._meta.db_table
    org = personas.org.pk.hex if connection.vendor == "sqlite" else str(personas.org.pk)
    columns = (
        "organization_id, workspace_id, api_key_id, model_id, service_tier, uncached_input_tokens, "
        "cache_creation_5m_tokens, cache_creation_1h_tokens, cache_read_tokens, output_tokens, cost_cents, "
        "created_at, request_id"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, %s, %s, %s, 'standard', 1, 0, 0, 0, 1, 0.1, "
                "%s::timestamptz + (n || ' seconds')::interval, '' FROM generate_series(1, %s) AS n",
                [org, key.workspace_id, key.pk, model.pk, "2026-11-01T00:00:00Z", count],
            )
        else:
            cursor.execute(
                f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
                f"INSERT INTO {table} ({columns}) SELECT %s, %s, %s, %s, 'standard', 1, 0, 0, 0, 1, '0.1', "
                "'2026-11-01 00:00:00', '' FROM n",
                [count, org, key.workspace_id, key.pk, model.pk],
            )


def test_queries_do_not_grow_with_records(client, personas, data, django_assert_num_queries):
    """Both pages read rollups only: as many queries with a hundred thousand raw records as
    with a few."""
    c = client(personas.admin)
    expected = {"billing:usage": 10, "billing:cost": 12}
    for page, count in expected.items():
        c.get(reverse(page), RANGE)
        with django_assert_num_queries(count):
            c.get(reverse(page), RANGE)
    _insert_raw_records(personas, data, 100_000 - UsageRecord.objects.count())
    assert UsageRecord.objects.count() == 100_000
    for page, count in expected.items():
        with django_assert_num_queries(count):
            c.get(reverse(page), {**RANGE, "range": "90d"})


# -- Drilling down through the charts -------------------------------------------------------


def _svgs(page: str) -> list[str]:
    return re.findall(r"<svg viewBox.*?</svg>", page, re.S)


@pytest.mark.parametrize("page", ["billing:usage", "billing:cost"])
def test_only_buckets_with_data_link_to_their_detail(client, personas, data, page):
    """Oct 28, 29 and 31 have no usage (the last seconds of Oct 31 plus a few land on Nov 1):
    their columns and rows lead nowhere ("No data")."""
    wider = {**RANGE, "start": "2026-10-28"}
    html = client(personas.admin).get(reverse(page), wider).content.decode()
    for day in ("2026-10-30", "2026-11-01", "2026-11-02"):
        assert f"day={day}" in html, day
    for day in ("2026-10-28", "2026-10-29", "2026-10-31"):
        assert f"day={day}" not in html, day


@pytest.mark.parametrize("page", ["billing:usage", "billing:cost"])
def test_charts_with_links_are_groups_of_named_links_not_images(client, personas, data, page):
    c = client(personas.admin)
    days = c.get(reverse(page), RANGE).content.decode()
    linked = [svg for svg in _svgs(days) if "<a " in svg]
    assert linked
    for svg in linked[:1] if page == "billing:cost" else linked[:2]:  # tokens or cost
        assert 'role="group"' in svg and 'role="img"' not in svg
        names = re.findall(r'<a [^>]*aria-label="([^"]*)"', svg)
        assert len(names) == svg.count("<a ") == 3  # the three days with data
        assert all(name.endswith(". Show its hours") for name in names), names
        assert names[1].startswith("Nov 1: ")
    refusals = linked[2:]  # one refused request, on Nov 1
    assert all(re.findall(r'aria-label="(Nov 1: 1 in all[^"]*)"', svg) for svg in refusals)
    hours = c.get(reverse(page), {**RANGE, "day": "2026-11-01"}).content.decode()
    assert all("Show its minutes" in svg for svg in _svgs(hours) if "<a " in svg)
    # Minutes lead nowhere: each chart is one image, with no link inside.
    minutes = c.get(reverse(page), {**RANGE, "hour": "2026-11-01T00"}).content.decode()
    assert _svgs(minutes)
    for svg in _svgs(minutes):
        assert 'role="img"' in svg and "<a " not in svg


def test_cost_drills_into_hours_and_minutes(client, personas, data):
    c = client(personas.admin)
    days = c.get(reverse("billing:cost"), RANGE).context["report"]
    day_one = sum(cents for (day, _s), cents in days.daily.items() if str(day) == "2026-11-01")
    hours_page = c.get(reverse("billing:cost"), {**RANGE, "day": "2026-11-01"})
    hours = hours_page.context["report"]
    assert hours.scope.granularity == "hour" and hours.total_cents == day_one > 0
    assert {bucket.date() for bucket, _s in hours.daily} == {datetime(2026, 11, 1).date()}
    assert hours_page.context["chart"].title == "Cost per hour by workspace"
    assert "← Back to days" in hours_page.content.decode()
    first_hour = sum(
        cents
        for (bucket, _s), cents in hours.daily.items()
        if bucket == datetime(2026, 11, 1, 0, tzinfo=UTC)
    )
    minutes = c.get(reverse("billing:cost"), {**RANGE, "hour": "2026-11-01T00"}).context["report"]
    assert minutes.total_cents == first_hour > 0
    assert minutes.total_cents == sum(
        r.cost_cents
        for r in raw(personas)
        if datetime(2026, 11, 1, 0, tzinfo=UTC)
        <= r.created_at
        < datetime(2026, 11, 1, 1, tzinfo=UTC)
    )
    exported = c.get(reverse("billing:cost"), {**RANGE, "day": "2026-11-01", "format": "csv"})
    assert exported["Content-Disposition"].endswith('cost-2026-11-01.csv"')
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0] == ["period_start", "workspace", "cost_usd"]
    assert {row[0][:13] for row in rows[1:]} <= {f"2026-11-01T{h:02d}" for h in range(24)}


# -- The API key filter ---------------------------------------------------------------------


def _key_options(page: str) -> list[str]:
    """The key filter's choices, as their texts ("All API keys" first)."""
    select = re.search(r'<select name="key" id="filter-key"[^>]*>(.*?)</select>', page, re.S)
    return re.findall(r"<option [^>]*>([^<]*)</option>", select.group(1))


@pytest.mark.parametrize("page", ["billing:usage", "billing:cost"])
def test_key_filter_offers_key_names_with_hints_and_workspaces(client, personas, data, page):
    c = client(personas.admin)
    keys = data["keys"]
    every = c.get(reverse(page), RANGE).content.decode()
    assert 'placeholder="apikey_' not in every
    assert _key_options(every) == [
        "All API keys",
        f"k0 ({keys[0].hint}, Production)",
        f"k1 ({keys[1].hint}, Production)",
        f"k2 ({keys[2].hint}, Research, deleted)",  # archived with its workspace
        f"k3 ({keys[3].hint}, Default)",
    ]
    assert 'name="key_search"' not in every  # all of them are listed
    # One workspace: only its keys.
    one = c.get(reverse(page), {**RANGE, "workspace": data["production"].public_id})
    assert _key_options(one.content.decode())[1:] == [
        f"k0 ({keys[0].hint}, Production)",
        f"k1 ({keys[1].hint}, Production)",
    ]
    # The address carries the key's id, and the select shows it chosen.
    chosen = c.get(reverse(page), {**RANGE, "key": keys[3].public_id}).content.decode()
    assert f'<option value="{keys[3].public_id}"' in chosen
    assert re.search(f'<option value="{keys[3].public_id}"[^>]* selected>', chosen)


def test_key_filter_lists_what_the_viewer_may_report_on(client, personas, data):
    ws_admin = MemberFactory(organization=personas.org, role=OrgRole.USER).user
    WorkspaceMemberFactory(workspace=data["production"], user=ws_admin, role=WorkspaceRole.ADMIN)
    page = client(ws_admin).get(reverse("billing:usage"), RANGE).content.decode()
    assert [text.split(" (")[0] for text in _key_options(page)[1:]] == ["k0", "k1"]


def test_deleted_keys_stay_in_the_filter_marked(client, personas, data):
    workspace_services.api_key_delete(actor=Actor.for_user(personas.admin), key=data["keys"][0])
    page = client(personas.admin).get(reverse("billing:usage"), RANGE).content.decode()
    assert f"k0 ({data['keys'][0].hint}, Production, deleted)" in _key_options(page)


@pytest.mark.parametrize("page", ["billing:usage", "billing:cost"])
def test_key_of_another_workspace_than_the_chosen_one_is_a_message(client, personas, data, page):
    response = client(personas.admin).get(
        reverse(page),
        {**RANGE, "workspace": data["production"].public_id, "key": data["keys"][2].public_id},
    )
    text = html.unescape(response.content.decode())
    assert response.status_code == 200 and "report" not in response.context
    assert "The API key “k2” is in Research, not in Production." in text
    # The key stays chosen in the filter, so the person sees what they asked for.
    assert re.search(f'<option value="{data["keys"][2].public_id}"[^>]* selected>', text)


def test_past_its_length_the_key_filter_searches(client, personas, data, monkeypatch):
    monkeypatch.setattr(selectors, "REPORT_KEY_CHOICES", 3)
    monkeypatch.setattr(selectors.report_key_choices, "__kwdefaults__", {"search": "", "limit": 3})
    c = client(personas.admin)
    page = c.get(reverse("billing:usage"), RANGE).content.decode()
    assert len(_key_options(page)) == 1 + 3
    assert 'name="key_search"' in page and "The first 3 keys are listed" in page
    found = c.get(reverse("billing:usage"), {**RANGE, "key_search": "k3"}).content.decode()
    assert _key_options(found)[1:] == [f"k3 ({data['keys'][3].hint}, Default)"]
    # A chosen key the list would leave out is still listed, chosen.
    chosen = c.get(reverse("billing:usage"), {**RANGE, "key": data["keys"][3].public_id})
    assert re.search(
        f'<option value="{data["keys"][3].public_id}"[^>]* selected>', chosen.content.decode()
    )
    assert len(_key_options(chosen.content.decode())) == 1 + 4


@pytest.mark.parametrize("page", ["billing:usage", "billing:cost"])
def test_key_filter_queries_do_not_grow_with_keys(
    client, personas, data, page, django_assert_num_queries
):
    c = client(personas.admin)
    c.get(reverse(page), RANGE)
    with django_assert_num_queries(10 if page == "billing:usage" else 12):
        few = c.get(reverse(page), RANGE)
    bulk_api_keys(data["production"], 400, personas.admin)
    with django_assert_num_queries(10 if page == "billing:usage" else 12):
        many = c.get(reverse(page), RANGE)
    assert len(_key_options(few.content.decode())) == 1 + 4
    assert len(_key_options(many.content.decode())) == 1 + selectors.REPORT_KEY_CHOICES
    assert "data-more" in many.content.decode()


def test_key_search_endpoint(client, personas, data, django_assert_num_queries):
    bulk_api_keys(data["production"], 150, personas.admin)
    c = client(personas.admin)
    url = reverse("billing:usage_key_choices")
    c.get(url)
    # The session, the user and their membership, the workspaces they may see, the keys.
    with django_assert_num_queries(5):
        found = c.get(url, {"q": "key 14"}).json()
    assert [k["name"] for k in found["keys"]] == ["key 14", *(f"key {n}" for n in range(140, 150))]
    assert found["keys"][0] == {
        "id": found["keys"][0]["id"],
        "name": "key 14",
        "hint": "sk-ant-api03-abc...0014",
        "workspace": "Production",
        "status": "",
    }
    assert not found["more"]
    by_hint = c.get(url, {"q": "...0003"}).json()["keys"]
    assert [k["name"] for k in by_hint] == ["key 3"]
    # Scoped to the chosen workspace; another organization's is a 404.
    research = c.get(url, {"q": "k", "workspace": data["research"].public_id}).json()
    assert [k["name"] for k in research["keys"]] == ["k2"]
    assert c.get(url, {"workspace": data["other"].public_id}).status_code == 404
    assert len(c.get(url).json()["keys"]) == selectors.REPORT_KEY_CHOICES
    assert c.get(url).json()["more"]
    # As it is for the pages: the cost picker needs cost.view, no role, none.
    assert client(personas.user).get(url).status_code == 403
    assert client(personas.user).get(reverse("billing:cost_key_choices")).status_code == 403
