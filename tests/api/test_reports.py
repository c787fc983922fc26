"""The usage and cost reports of the Admin API agree with the pages, to the cent."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import Actor
from billing import services
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
        services.usage_record(
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
    assert sum(Decimal(r["amount"]) for r in items) == report.total_cents
    assert (
        api.client.get(
            "/v1/organizations/cost_report?starting_at=2026-10-30T00:00:00Z&bucket_width=1h"
        ).status_code
        == 400
    )
