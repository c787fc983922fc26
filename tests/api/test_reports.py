"""The usage and cost reports of the Admin API agree with the pages, to the cent."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import Actor
from billing import usage
from billing.models import Model
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services


@pytest.fixture
def recorded(personas):
    actor = Actor.for_user(personas.admin)
    production = WorkspaceFactory(organization=personas.org, name="Production")
    keys = [
        workspace_services.api_key_create(actor=actor, workspace=production, name="p")[0],
        workspace_services.api_key_create(
            actor=actor, workspace=personas.default_workspace, name="d"
        )[0],
    ]
    models = list(Model.objects.filter(api_name__in=["claude-sonnet-4-5", "claude-haiku-4-5"]))
    for i in range(24):
        usage.record(
            api_key=keys[i % 2],
            model=models[i % 2],
            tokens={
                "uncached_input_tokens": 1_000 + i,
                "cache_read_tokens": 100 * i,
                "output_tokens": 37 * i,
                "cache_creation_5m_tokens": 10 * (i % 3),
            },
            at=datetime(2026, 10, 30 + i // 12, (i * 2) % 24, 7, tzinfo=UTC) if i < 24 else None,
        )
    return {"production": production, "keys": keys}


def test_usage_report_daily_grouped(api, recorded):
    body = api.client.get(
        "/v1/organizations/usage_report/messages?starting_at=2026-10-30T00:00:00Z&ending_at=2026-11-02T00:00:00Z"
        "&group_by[]=workspace_id&group_by[]=model"
    ).json()
    assert [b["starting_at"] for b in body["data"]] == [
        "2026-10-30T00:00:00Z",
        "2026-10-31T00:00:00Z",
        "2026-11-01T00:00:00Z",
    ]
    assert body["has_more"] is False and body["next_page"] is None
    assert body["data"][2]["results"] == []  # empty buckets are listed too
    first = body["data"][0]["results"]
    assert {r["workspace_id"] for r in first} == {
        recorded["production"].public_id,
        None,
    }  # None: Default
    assert all(r["api_key_id"] is None and r["service_tier"] is None for r in first)
    total_output = sum(r["output_tokens"] for b in body["data"] for r in b["results"])
    assert total_output == sum(37 * i for i in range(24))


def test_usage_report_paging_and_errors(api, recorded):
    first = api.client.get(
        "/v1/organizations/usage_report/messages?starting_at=2026-10-30T00:00:00Z"
        "&ending_at=2026-10-31T00:00:00Z&bucket_width=1h&limit=10"
    ).json()
    assert len(first["data"]) == 10 and first["has_more"] is True
    second = api.client.get(
        "/v1/organizations/usage_report/messages?starting_at=2026-10-30T00:00:00Z"
        f"&ending_at=2026-10-31T00:00:00Z&bucket_width=1h&limit=10&page={first['next_page']}"
    ).json()
    assert second["data"][0]["starting_at"] == "2026-10-30T10:00:00Z"
    for query, status in [
        ("", 400),
        ("starting_at=yesterday", 400),
        ("starting_at=2026-10-30T00:00:00Z&bucket_width=2d", 400),
        ("starting_at=2026-10-30T00:00:00Z&limit=32", 400),
        ("starting_at=2026-10-30T00:00:00Z&group_by[]=colour", 400),
        ("starting_at=2026-10-30T00:00:00Z&ending_at=2026-10-29T00:00:00Z", 400),
        ("starting_at=2026-10-30T00:00:00Z&page=%%%", 400),
    ]:
        response = api.client.get(f"/v1/organizations/usage_report/messages?{query}")
        assert response.status_code == status, query
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_cost_report_agrees_with_the_cost_page(api, personas, recorded):
    body = api.client.get(
        "/v1/organizations/cost_report?starting_at=2026-10-30T00:00:00Z"
        "&ending_at=2026-11-01T00:00:00Z&group_by[]=workspace_id"
    ).json()
    api_total = sum(Decimal(r["amount"]) for b in body["data"] for r in b["results"])
    page = Client()
    page.force_login(personas.admin)
    report = page.get(
        reverse("billing:cost"), {"range": "custom", "start": "2026-10-30", "end": "2026-10-31"}
    ).context["report"]
    assert api_total == report.total_cents
    assert round(api_total / 100, 2) == round(report.total_cents / 100, 2)
    by_workspace = {}
    for bucket in body["data"]:
        for result in bucket["results"]:
            by_workspace[result["workspace_id"]] = by_workspace.get(
                result["workspace_id"], 0
            ) + Decimal(result["amount"])
    assert set(by_workspace) == {recorded["production"].public_id, None}
    described = api.client.get(
        "/v1/organizations/cost_report?starting_at=2026-10-30T00:00:00Z"
        "&ending_at=2026-11-01T00:00:00Z&group_by[]=description"
    ).json()
    items = [r for b in described["data"] for r in b["results"]]
    assert {r["token_type"] for r in items} >= {
        "uncached_input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
    }
    assert {r["cost_type"] for r in items} == {"tokens"}
    assert "Claude Sonnet 4.5 Usage - Input Tokens" in {r["description"] for r in items}
    assert "Claude Haiku 4.5 Usage - Output Tokens" in {r["description"] for r in items}
    assert "Claude Sonnet 4.5 Usage - Input Tokens, Cache Read" in {r["description"] for r in items}
    assert sum(Decimal(r["amount"]) for r in items) == report.total_cents
    assert (
        api.client.get(
            "/v1/organizations/cost_report?starting_at=2026-10-30T00:00:00Z&bucket_width=1h"
        ).status_code
        == 400
    )


@pytest.fixture
def served(personas):
    """Requests served each way (tiers, geos, speeds, context windows), recorded and rolled
    up as the settle records them: the reports read what the rollups kept."""
    actor = Actor.for_user(personas.admin)
    workspace = WorkspaceFactory(organization=personas.org, name="Served")
    model = Model.objects.get(api_name="claude-sonnet-4-5")
    ways = [
        {"service_tier": "standard", "inference_geo": None, "speed": "standard"},
        # Beyond 200k input tokens (cache reads count): the long context window.
        {"service_tier": "priority", "inference_geo": "us", "speed": "fast"},
        {"service_tier": "batch", "inference_geo": "global", "speed": "standard"},
    ]
    keys = []
    moment = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    for i, way in enumerate(ways):
        key = workspace_services.api_key_create(actor=actor, workspace=workspace, name=f"w{i}")[0]
        keys.append(key)
        usage.record(
            api_key=key,
            model=model,
            tokens={
                "uncached_input_tokens": 10 ** (i + 1),
                "cache_read_tokens": 300_000 if i == 1 else 0,
                "output_tokens": i + 1,
            },
            at=moment,
            **way,
        )
    return {"workspace": workspace, "keys": keys}


def _usage(api, **params):
    start = "2026-11-02T10:00:00Z" if params.get("bucket_width") == "1m" else "2026-11-02T00:00:00Z"
    query = {"starting_at": start, "ending_at": "2026-11-03T00:00:00Z"}
    response = api.client.get("/v1/organizations/usage_report/messages", {**query, **params})
    assert response.status_code == 200, response.content
    return [r for bucket in response.json()["data"] for r in bucket["results"]]


@pytest.mark.parametrize("width", ["1d", "1h", "1m"])
def test_every_group_by_reads_its_column(api, served, width):
    for name, values in (
        ("service_tier", {"standard", "priority", "batch"}),
        ("inference_geo", {None, "us", "global"}),
        ("speed", {"standard", "fast"}),
        ("context_window", {"0-200k", "200k-1M"}),
        ("api_key_id", {key.public_id for key in served["keys"]}),
        ("workspace_id", {served["workspace"].public_id}),
        ("model", {"claude-sonnet-4-5"}),
    ):
        results = _usage(api, bucket_width=width, **{"group_by[]": name})
        assert {r[name] for r in results} == values, name
        others = set(results[0]) - {name}
        assert all(
            r[key] is None
            for r in results
            for key in others
            if key
            in (
                "service_tier",
                "inference_geo",
                "speed",
                "context_window",
                "api_key_id",
                "workspace_id",
                "model",
            )
        )


@pytest.mark.parametrize(
    ("params", "uncached"),
    [
        ({"service_tiers[]": ["priority", "batch"]}, 1100),
        ({"inference_geos[]": ["not_available"]}, 10),
        ({"inference_geos[]": ["us", "global"]}, 1100),
        ({"speeds[]": ["fast"]}, 100),
        ({"context_window[]": ["200k-1M"]}, 100),
        ({"api_key_ids[]": []}, 1110),
        ({"models[]": ["claude-haiku-4-5"]}, 0),
        ({"service_account_ids[]": ["svac_x"]}, 0),
    ],
)
def test_every_filter_reads_its_column(api, served, params, uncached):
    for width in ("1d", "1h", "1m"):
        results = _usage(api, bucket_width=width, **params)
        assert sum(r["uncached_input_tokens"] for r in results) == uncached, (params, width)


def test_account_ids_filter_by_who_made_the_keys(api, personas, served):
    assert (
        sum(
            r["uncached_input_tokens"]
            for r in _usage(api, **{"account_ids[]": [personas.admin.public_id]})
        )
        == 1110
    )
    assert _usage(api, **{"account_ids[]": [personas.developer.public_id]}) == []


def test_without_ending_at_no_future_buckets(api):
    import time_machine

    with time_machine.travel(datetime(2026, 11, 3, 15, 30, tzinfo=UTC), tick=False):
        body = api.client.get(
            "/v1/organizations/usage_report/messages",
            {"starting_at": "2026-11-01T00:00:00Z", "bucket_width": "1d"},
        ).json()
        assert [b["starting_at"] for b in body["data"]] == [
            "2026-11-01T00:00:00Z",
            "2026-11-02T00:00:00Z",
            "2026-11-03T00:00:00Z",
        ]
        assert body["has_more"] is False
        hours = api.client.get(
            "/v1/organizations/usage_report/messages",
            {"starting_at": "2026-11-03T12:00:00Z", "bucket_width": "1h"},
        ).json()
        assert [b["starting_at"][11:13] for b in hours["data"]] == ["12", "13", "14", "15"]


def test_cost_report_by_description_names_how_usage_was_served(api, served):
    body = api.client.get(
        "/v1/organizations/cost_report",
        {
            "starting_at": "2026-11-02T00:00:00Z",
            "ending_at": "2026-11-03T00:00:00Z",
            "group_by[]": "description",
        },
    ).json()
    results = body["data"][0]["results"]
    assert {(r["service_tier"], r["inference_geo"], r["context_window"]) for r in results} == {
        ("standard", None, "0-200k"),
        ("priority", "us", "200k-1M"),
        ("batch", "global", "0-200k"),
    }
    assert all(r["amount"] == r["list_amount"] and r["currency"] == "USD" for r in results)


def test_claude_code_report(api, personas, recorded):
    body = api.get(
        "organizations/usage_report/claude_code", {"starting_at": "2026-10-30", "limit": 1}
    ).json()
    assert len(body["data"]) == 1 and body["has_more"] is True
    record = body["data"][0]
    assert record["actor"]["type"] == "api_actor" and record["date"] == "2026-10-30T00:00:00Z"
    assert record["organization_id"] == str(personas.org.pk)
    assert record["core_metrics"]["num_sessions"] == 0
    breakdown = record["model_breakdown"]
    assert breakdown and all(b["estimated_cost"]["currency"] == "USD" for b in breakdown)
    rest = api.get(
        "organizations/usage_report/claude_code",
        {"starting_at": "2026-10-30", "limit": 1, "page": body["next_page"]},
    ).json()
    assert rest["has_more"] is False and rest["data"][0]["actor"] != record["actor"]
    tokens = sum(
        b["tokens"]["input"] for r in (record, rest["data"][0]) for b in r["model_breakdown"]
    )
    assert tokens == sum(1_000 + i for i in range(12))
    assert api.get(
        "organizations/usage_report/claude_code", {"starting_at": "2026-10-29"}
    ).json() == {"data": [], "has_more": False, "next_page": None}
