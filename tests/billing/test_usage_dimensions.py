"""How each request was served (service tier, inference geo, speed, context window) and its
server tool use, carried from the settle (the gateway's endpoint, the engine with and without
the Redis queue) or a direct record, through the rollups into the Usage and Cost reports of
the Admin API and the pages; and web searches priced as Anthropic prices them."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.audit import Actor
from billing import enforcement, limiter, services, usage
from billing.messages_api.metering import UsageMeter
from billing.models import (
    Model,
    UsageDaily,
    UsageHour,
    UsageMinute,
    UsageRecord,
    UsageWorkspaceDay,
)
from tests.billing.conftest import T0, auth, redis_backend

MOMENT = datetime.fromtimestamp(T0, UTC)
DAY = MOMENT.date().isoformat()
# Sonnet 4.5 at list prices: 1,000 input 0.3¢, 250,000 cache reads 7.5¢, 500 output 0.75¢,
# and 3 web searches at $10 per 1,000: 3¢.
SERVED = {
    "input_tokens": 1_000,
    "cache_read_input_tokens": 250_000,
    "output_tokens": 500,
    "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 2},
    "service_tier": "priority",
    "inference_geo": "us",
    "speed": "fast",
}
SERVED_COST = Decimal("11.55")
PLAIN = {"input_tokens": 2_000, "output_tokens": 100}  # 0.6¢ + 0.15¢
PLAIN_COST = Decimal("0.75")
EXPECTED = {
    "service_tier": "priority",
    "inference_geo": "us",
    "speed": "fast",
    "context_window": "200k-1M",
    "web_search_requests": 3,
    "web_fetch_requests": 2,
}
DEFAULTS = {
    "service_tier": "standard",
    "inference_geo": "",
    "speed": "standard",
    "context_window": "0-200k",
    "web_search_requests": 0,
    "web_fetch_requests": 0,
}


@pytest.fixture
def local(settings):
    settings.LIMITER_CACHE_SECONDS = 60
    enforcement.use_backend(limiter.LocalBackend())
    yield
    enforcement.use_backend(None)


@pytest.fixture
def queued(settings):
    settings.LIMITER_CACHE_SECONDS = 60
    settings.USAGE_QUEUE = True
    settings.USAGE_ROLLUP_INLINE = False
    backend = redis_backend()
    backend.reset()
    enforcement.use_backend(backend)
    yield backend
    backend.reset()
    enforcement.use_backend(None)


@pytest.fixture
def admin_api(personas):
    _key, secret = account_services.admin_key_create(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="ops"
    )
    return Client(HTTP_X_API_KEY=secret)


def _settle_by_endpoint(world, usage_body) -> None:
    _token, secret = services.gateway_token_create(name="edge")
    gateway = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def post(name, body):
        return gateway.post(
            reverse(f"billing:gateway_{name}"), json.dumps(body), content_type="application/json"
        )

    decision = post(
        "authorize",
        {
            "api_key": world["secret"],
            "model": "claude-sonnet-4-5",
            "input_tokens": 100,
            "max_tokens": 100,
        },
    ).json()
    answer = post("settle", {"reservation_id": decision["reservation_id"], "usage": usage_body})
    assert answer.status_code == 200, answer.content


def _settle_by_endpoint_at_the_moment(world, usage_body) -> None:
    with time_machine.travel(MOMENT, tick=False):
        _settle_by_endpoint(world, usage_body)


def _settle_by_engine(world, usage_body) -> None:
    decision = auth(world, now=T0)
    enforcement.settle(decision.reservation_id, usage_body, now=T0)


def _settle_through_the_queue(world, usage_body) -> None:
    stored = UsageRecord.objects.count()
    _settle_by_engine(world, usage_body)
    assert UsageRecord.objects.count() == stored  # waiting in Redis
    assert enforcement.store_queued_usage() == 1
    usage.rollup_pending()


def _record_directly(world, usage_body) -> None:
    parsed = enforcement.usage_from_messages_api(usage_body)
    usage.record(
        api_key=world["key"],
        model=Model.objects.get(api_name="claude-sonnet-4-5"),
        tokens=parsed.tokens,
        at=MOMENT,
        service_tier=usage_body.get("service_tier"),
        inference_geo=usage_body.get("inference_geo"),
        speed=usage_body.get("speed"),
        **parsed.server_tools,
    )


PATHS = {
    "gateway endpoint": ("local", _settle_by_endpoint_at_the_moment),
    "engine": ("local", _settle_by_engine),
    "redis queue and worker": ("queued", _settle_through_the_queue),
    "direct record": ("local", _record_directly),
}


@pytest.fixture(params=list(PATHS))
def recorded(request, world):
    """One request served every way but the default, and one plain request, recorded along
    one of the paths usage takes; rolled up."""
    backend, record = PATHS[request.param]
    request.getfixturevalue(backend)
    record(world, SERVED)
    record(world, PLAIN)
    return world


def _fields(row, names) -> dict:
    return {name: getattr(row, name) for name in names}


def test_the_record_and_every_rollup_keep_how_it_was_served(recorded):
    records = sorted(UsageRecord.objects.all(), key=lambda r: r.cost_cents)
    assert [_fields(r, EXPECTED) for r in records] == [DEFAULTS, EXPECTED]
    assert [r.cost_cents for r in records] == [PLAIN_COST, SERVED_COST]
    for table in (UsageMinute, UsageHour, UsageDaily):
        rows = sorted(table.objects.all(), key=lambda r: r.cost_cents)
        assert [_fields(r, EXPECTED) for r in rows] == [DEFAULTS, EXPECTED], table
        assert [r.requests for r in rows] == [1, 1]
    by_tier = {r.service_tier: r for r in UsageWorkspaceDay.objects.all()}
    assert set(by_tier) == {"standard", "priority"}
    assert by_tier["priority"].web_search_requests == 3
    assert by_tier["priority"].cost_cents == SERVED_COST


def _usage_report(admin_api, **params) -> list[dict]:
    width = params.pop("bucket_width", "1d")
    start = {"1d": f"{DAY}T00:00:00Z", "1h": f"{DAY}T12:00:00Z", "1m": f"{DAY}T12:00:00Z"}
    response = admin_api.get(
        "/v1/organizations/usage_report/messages",
        {"starting_at": start[width], "bucket_width": width, "limit": 1, **params},
    )
    assert response.status_code == 200, response.content
    return [result for bucket in response.json()["data"] for result in bucket["results"]]


@pytest.mark.parametrize("width", ["1d", "1h", "1m"])
def test_usage_report_groups_and_filters_by_the_real_columns(recorded, admin_api, width):
    for name, values in (
        ("service_tier", {"standard", "priority"}),
        ("inference_geo", {None, "us"}),
        ("speed", {"standard", "fast"}),
        ("context_window", {"0-200k", "200k-1M"}),
    ):
        results = _usage_report(admin_api, bucket_width=width, **{"group_by[]": name})
        assert {r[name] for r in results} == values, name
        served = next(r for r in results if r[name] == EXPECTED[name])
        assert served["server_tool_use"] == {"web_search_requests": 3}
        assert served["cache_read_input_tokens"] == 250_000
    for params in (
        {"service_tiers[]": "priority"},
        {"inference_geos[]": "us"},
        {"speeds[]": "fast"},
        {"context_window[]": "200k-1M"},
    ):
        (only,) = _usage_report(admin_api, bucket_width=width, **params)
        assert only["uncached_input_tokens"] == 1_000, params
    for params in (
        {"service_tiers[]": "standard"},
        {"inference_geos[]": "not_available"},
        {"speeds[]": "standard"},
        {"context_window[]": "0-200k"},
    ):
        (only,) = _usage_report(admin_api, bucket_width=width, **params)
        assert only["uncached_input_tokens"] == 2_000, params
        assert only["server_tool_use"] == {"web_search_requests": 0}
    assert _usage_report(admin_api, bucket_width=width, **{"service_tiers[]": "batch"}) == []
    (total,) = _usage_report(admin_api, bucket_width=width)
    assert total["server_tool_use"] == {"web_search_requests": 3}


def _cost_report(admin_api, **params) -> list[dict]:
    response = admin_api.get(
        "/v1/organizations/cost_report", {"starting_at": f"{DAY}T00:00:00Z", "limit": 1, **params}
    )
    assert response.status_code == 200, response.content
    return [result for bucket in response.json()["data"] for result in bucket["results"]]


def test_cost_report_has_web_search_and_the_served_dimensions(recorded, admin_api):
    (total,) = _cost_report(admin_api)
    assert Decimal(total["amount"]) == SERVED_COST + PLAIN_COST
    described = _cost_report(admin_api, **{"group_by[]": "description"})
    assert sum(Decimal(r["amount"]) for r in described) == SERVED_COST + PLAIN_COST
    (search,) = [r for r in described if r["cost_type"] == "web_search"]
    assert search == {
        "currency": "USD",
        "amount": "3",
        "list_amount": "3",
        "workspace_id": None,
        "description": "Web Search Usage",
        "cost_type": "web_search",
        "model": None,
        "token_type": None,
        "service_tier": None,
        "context_window": None,
        "inference_geo": None,
    }
    reads = next(r for r in described if r["token_type"] == "cache_read_input_tokens")
    assert (reads["service_tier"], reads["context_window"], reads["inference_geo"]) == (
        "priority",
        "200k-1M",
        "us",
    )
    assert reads["description"] == "Claude Sonnet 4.5 Usage - Input Tokens, Cache Read"
    assert reads["amount"] == "7.5" and reads["cost_type"] == "tokens"
    plain_input = next(
        r
        for r in described
        if r["token_type"] == "uncached_input_tokens" and r["service_tier"] == "standard"
    )
    assert (plain_input["context_window"], plain_input["inference_geo"]) == ("0-200k", None)


def test_cost_and_usage_pages_count_web_searches(recorded, client, personas):
    dates = {"range": "custom", "start": DAY, "end": DAY}
    page = client(personas.admin)
    report = page.get(reverse("billing:cost"), dates).context["report"]
    assert report.total_cents == SERVED_COST + PLAIN_COST
    assert sum(line.cost_cents for line in report.lines) == report.total_cents
    (searches,) = [line for line in report.lines if line.token_type == "web_search_requests"]
    assert (searches.token_label, searches.tokens, searches.cost_cents) == ("Web searches", 3, 3)
    usage_page = page.get(reverse("billing:usage"), dates)
    assert usage_page.context["totals"].web_search_requests == 3
    exported = page.get(reverse("billing:usage"), {**dates, "format": "csv"}).content.decode()
    header, row = exported.splitlines()[:2]
    assert header.endswith(",output_tokens,web_search_requests")
    assert row.endswith(",600,3")


@pytest.mark.usefixtures("local")
@pytest.mark.parametrize(
    ("reported", "stored"),
    [
        ({"service_tier": "default"}, "standard"),  # vLLM
        ({"service_tier": "flex"}, "standard"),
        ({"service_tier": "x" * 500}, "standard"),
        ({"service_tier": "priority\n"}, "standard"),
        ({"service_tier": "batch"}, "batch"),
        ({"service_tier": None}, "standard"),
        ({}, "standard"),
    ],
)
def test_any_service_tier_is_settled(world, reported, stored):
    decision = auth(world, now=T0)
    settlement = enforcement.settle(decision.reservation_id, {**PLAIN, **reported}, now=T0)
    record = UsageRecord.objects.get()
    assert record.service_tier == stored
    # Batch pays half the list price of every token kind.
    assert settlement.cost_cents == (PLAIN_COST / 2 if stored == "batch" else PLAIN_COST)


@pytest.mark.usefixtures("local")
def test_an_unknown_geo_or_speed_is_recorded_as_not_available_and_standard(world):
    decision = auth(world, now=T0)
    enforcement.settle(
        decision.reservation_id, {**PLAIN, "inference_geo": "eu\x00", "speed": "w" * 300}, now=T0
    )
    record = UsageRecord.objects.get()
    assert (record.inference_geo, record.speed) == ("", "standard")


@pytest.mark.usefixtures("local", "tier_2")
def test_the_context_window_counts_every_input_token(world):
    at_the_edge = {
        "input_tokens": 100_000,
        "cache_creation": {"ephemeral_5m_input_tokens": 50_000, "ephemeral_1h_input_tokens": 0},
        "cache_creation_input_tokens": 50_000,
        "cache_read_input_tokens": 50_000,
        "output_tokens": 1,
    }
    for n, body in enumerate(
        (at_the_edge, {**at_the_edge, "input_tokens": 100_001}, {"output_tokens": 300_000})
    ):
        decision = auth(world, now=T0 + n)
        enforcement.settle(decision.reservation_id, body, now=T0 + n)
    windows = list(UsageRecord.objects.order_by("created_at").values_list("context_window"))
    assert windows == [("0-200k",), ("200k-1M",), ("0-200k",)]


def test_queued_records_of_before_get_defaults_and_their_window(world):
    """Records queued by a release that did not send how they were served are stored with
    the defaults, and with the context window of their own tokens."""
    model = Model.objects.get(api_name="claude-sonnet-4-5")
    common = {
        "organization": str(world["org"].pk),
        "workspace": world["workspace"].pk,
        "api_key": world["key"].pk,
        "model": model.pk,
        "at": T0,
        "cost": "1",
    }
    old = json.dumps(
        {**common, "id": "res_old", "service_tier": "batch", "tokens": [300_000, 0, 0, 0, 1]}
    )
    oldest = json.dumps(
        [
            *(common["organization"], world["workspace"].pk, world["key"].pk, model.pk, T0),
            *("2", "res_oldest", 10, 0, 0, 0, 1),
        ]
    )
    usage.store_queued([old, oldest])
    stored = {r.request_id: r for r in UsageRecord.objects.all()}
    assert _fields(stored["res_old"], EXPECTED) == {
        **DEFAULTS,
        "service_tier": "batch",
        "context_window": "200k-1M",
    }
    assert _fields(stored["res_oldest"], EXPECTED) == DEFAULTS


def test_a_direct_record_checks_its_counts(world):
    model = Model.objects.get(api_name="claude-sonnet-4-5")
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValidationError):
            usage.record(api_key=world["key"], model=model, tokens={}, web_search_requests=bad)
    assert not UsageRecord.objects.exists()


def test_the_built_in_gateway_keeps_geo_and_speed_for_the_settle():
    meter = UsageMeter(client_model="claude-sonnet-4-5", upstream_model="claude-sonnet-4-5")
    meter.read_message(
        json.dumps(
            {"model": "claude-sonnet-4-5", "usage": {**SERVED, "server_tool_use": {"x": 1}}}
        ).encode()
    )
    parsed = enforcement.usage_from_messages_api(meter.usage)
    assert parsed.served == {
        "service_tier": "priority",
        "inference_geo": "us",
        "speed": "fast",
        "context_window": "200k-1M",
    }
