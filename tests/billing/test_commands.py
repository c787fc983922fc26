import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Sum

from billing import enforcement, limiter, usage
from billing.models import RefusalMinute, UsageDaily, UsageMinute, UsageRecord


@pytest.fixture
def local_engine(settings):
    settings.LIMITER_CACHE_SECONDS = 60
    enforcement.use_backend(limiter.LocalBackend())
    yield
    enforcement.use_backend(None)


def test_simulate_traffic(personas, local_engine):
    out = io.StringIO()
    call_command(
        "simulate_traffic",
        "--organization",
        "acme test",
        "--minutes",
        "2",
        "--rps",
        "2",
        "--seed",
        "1",
        stdout=out,
    )
    text = out.getvalue()
    assert "Sent 240 requests over 2 simulated minutes" in text
    admitted = int(text.split("admitted")[1].split()[0].replace(",", ""))
    refused = RefusalMinute.objects.aggregate(n=Sum("count"))["n"] or 0
    assert admitted == UsageRecord.objects.count() and admitted + refused == 240
    assert refused > 0  # Tier 1's output tokens per minute are tight for this mix
    assert UsageMinute.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--organization", "Nobody"], "No organization"),
        (["--organization", "Acme Test", "--minutes", "0"], "--minutes"),
        (["--organization", "Acme Test", "--rps", "1000"], "--rps"),
    ],
)
def test_simulate_traffic_errors(personas, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate_traffic", *args)


def test_usage_worker_once_rolls_up(personas, settings):
    from accounts.audit import Actor
    from billing.models import Model
    from workspaces.services import api_key_create

    settings.USAGE_ROLLUP_INLINE = False
    key, _ = api_key_create(
        actor=Actor.for_user(personas.admin), workspace=personas.default_workspace, name="k"
    )
    usage.record(
        api_key=key,
        model=Model.objects.first(),
        tokens={"output_tokens": 10},
        at=datetime(2026, 11, 3, tzinfo=UTC),
    )
    assert not UsageDaily.objects.exists()
    out = io.StringIO()
    call_command("usage_worker", "--once", stdout=out)
    assert "Rolled up 1 usage records." in out.getvalue()
    assert UsageDaily.objects.get().output_tokens == 10


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")
def test_usage_records_are_partitioned_by_month(db):
    created = usage.ensure_partitions(
        now=datetime(2031, 5, 10, tzinfo=UTC), months_back=0, months_ahead=1
    )
    assert created == ["billing_usagerecord_2031_05", "billing_usagerecord_2031_06"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'billing_usagerecord'")
        assert cursor.fetchone()[0] == "p"


def test_rollups_agree_with_each_other(db):
    """The day rollup without keys holds the same sums as the one with keys, per service
    tier (the demo has batch usage and web searches)."""
    from billing.models import UsageWorkspaceDay

    call_command("seed_demo", stdout=io.StringIO())
    by_key = {}
    for row in UsageDaily.objects.all():
        key = (row.day, row.workspace_id, row.model_id, row.service_tier)
        cell = by_key.setdefault(key, [0, 0, 0, 0])
        cell[0] += row.requests
        cell[1] += row.output_tokens
        cell[2] += row.web_search_requests
        cell[3] += row.cost_cents
    without = {
        (r.day, r.workspace_id, r.model_id, r.service_tier): [
            r.requests,
            r.output_tokens,
            r.web_search_requests,
            r.cost_cents,
        ]
        for r in UsageWorkspaceDay.objects.all()
    }
    assert without == by_key
    assert {tier for _d, _w, _m, tier in without} == {"standard", "batch"}
    assert sum(cell[2] for cell in without.values()) > 0
