"""The data migration that brings usage rolled up before the rollups kept how requests were
served into the new shape: afterwards the rollups are what rolling up today gives."""

import importlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from django.apps import apps
from django.db import connection

from billing import usage
from billing.models import (
    Model,
    RollupCursor,
    UsageDaily,
    UsageHour,
    UsageMinute,
    UsageRecord,
    UsageWorkspaceDay,
)

migration = importlib.import_module("billing.migrations.0012_usage_dimensions_existing_usage")
TABLES = (UsageMinute, UsageHour, UsageDaily, UsageWorkspaceDay)
SUMMED = ("requests", *usage.TOKEN_FIELDS, "cost_cents")


def _snapshot() -> dict:
    return {
        table.__name__: sorted(
            tuple(str(v) for v in row)
            for row in table.objects.values_list(
                *(f.attname for f in table._meta.concrete_fields if f.name != "id")
            )
        )
        for table in TABLES
    }


def _as_rolled_up_before() -> None:
    """What the rollups held before: every record counted as standard in the standard
    context window, and records with no window of their own."""
    for table in TABLES:
        period = usage.PERIOD_FIELD[table]
        keys = ("organization_id", "workspace_id", "model_id")
        if table is not UsageWorkspaceDay:
            keys += ("api_key_id",)
        rows = defaultdict(lambda: dict.fromkeys(SUMMED, 0))
        for row in table.objects.values(period, *keys, *SUMMED):
            sums = rows[tuple(row[k] for k in (period, *keys))]
            for name in SUMMED:
                sums[name] += row[name]
        table.objects.all().delete()
        for key, sums in rows.items():
            table.objects.create(**dict(zip((period, *keys), key, strict=True)), **sums)
    UsageRecord.objects.update(context_window="0-200k")


def test_rollups_of_before_are_moved_to_the_rows_of_their_tier_and_window(world, settings):
    model = Model.objects.get(api_name="claude-sonnet-4-5")
    moment = datetime(2026, 11, 10, 12, 30, tzinfo=UTC)
    served = [
        ({"uncached_input_tokens": 10, "output_tokens": 1}, "standard"),
        ({"uncached_input_tokens": 20, "output_tokens": 2}, "standard"),
        ({"uncached_input_tokens": 30, "output_tokens": 3}, "priority"),
        ({"uncached_input_tokens": 250_000, "output_tokens": 4}, "batch"),
        ({"cache_read_tokens": 300_000, "output_tokens": 5}, "standard"),
    ]
    for n, (tokens, tier) in enumerate(served):
        usage.record(
            api_key=world["key"],
            model=model,
            tokens=tokens,
            service_tier=tier,
            at=moment + timedelta(seconds=n),
        )
    settings.USAGE_ROLLUP_INLINE = False
    usage.record(  # not rolled up yet: the rollup reads its columns, nothing to move
        api_key=world["key"], model=model, tokens={"uncached_input_tokens": 1}, at=moment
    )
    expected = _snapshot()
    windows = dict(UsageRecord.objects.values_list("id", "context_window"))
    _as_rolled_up_before()
    assert _snapshot() != expected

    editor = SimpleNamespace(connection=connection)
    migration.context_window_of_records(apps, editor)
    migration.move_rolled_up_sums(apps, editor)

    assert dict(UsageRecord.objects.values_list("id", "context_window")) == windows
    assert _snapshot() == expected
    usage.rollup_pending()
    assert UsageDaily.objects.get(service_tier="standard", context_window="0-200k").requests == 3
    assert RollupCursor.objects.get().last_record_id == UsageRecord.objects.latest("id").id
