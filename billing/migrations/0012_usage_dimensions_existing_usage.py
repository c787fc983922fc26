"""Usage recorded before the rollups kept how requests were served, brought into the new shape.

- Web search is priced for the catalog's models: $10 per 1,000 searches, as Anthropic charges.
- Records stored before the context window was recorded get theirs from their own tokens.
- The rollups counted every record as served in the standard tier and context window (they had
  no such columns): the sums of the records that were not are moved to rows of their own.
  Records not rolled up yet need nothing: the rollup reads their columns.
"""

from collections import defaultdict
from datetime import UTC

from django.db import migrations
from django.db.models import F

STANDARD_CONTEXT_TOKENS = 200_000
TOKENS = (
    "uncached_input_tokens",
    "cache_creation_5m_tokens",
    "cache_creation_1h_tokens",
    "cache_read_tokens",
    "output_tokens",
)
SUMMED = ("requests", *TOKENS, "cost_cents")
STANDARD = {
    "service_tier": "standard",
    "inference_geo": "",
    "speed": "standard",
    "context_window": "0-200k",
}


def price_web_search(apps, schema_editor):
    from billing.catalog import set_web_search_prices

    set_web_search_prices(apps)


def context_window_of_records(apps, schema_editor):
    # One statement, which PostgreSQL runs over every monthly partition.
    record = apps.get_model("billing", "UsageRecord")
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(record._meta.db_table)} SET context_window = %s WHERE "
            + " + ".join(quote(kind) for kind in TOKENS[:4])
            + " > %s",
            ["200k-1M", STANDARD_CONTEXT_TOKENS],
        )


def move_rolled_up_sums(apps, schema_editor):
    record = apps.get_model("billing", "UsageRecord")
    rollup_cursor = apps.get_model("billing", "RollupCursor")
    tables = {
        name: apps.get_model("billing", name)
        for name in ("UsageMinute", "UsageHour", "UsageDaily", "UsageWorkspaceDay")
    }
    rolled_up_to = rollup_cursor.objects.filter(pk=1).values_list("last_record_id", flat=True)
    last = rolled_up_to.first() or 0
    served_otherwise = (
        record.objects.filter(id__lte=last)
        .exclude(service_tier="standard", context_window="0-200k")
        .values(
            "created_at",
            "organization_id",
            "workspace_id",
            "api_key_id",
            "model_id",
            "service_tier",
            "context_window",
            *TOKENS,
            "cost_cents",
        )
    )
    moves: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(SUMMED, 0))
    for row in served_otherwise.iterator():
        minute = row["created_at"].astimezone(UTC).replace(second=0, microsecond=0)
        served = {**STANDARD, "service_tier": row["service_tier"], "context_window": row["context_window"]}
        places = [
            ("UsageMinute", "minute", minute, row["api_key_id"], served),
            ("UsageHour", "hour", minute.replace(minute=0), row["api_key_id"], served),
            ("UsageDaily", "day", minute.date(), row["api_key_id"], served),
        ]
        if row["service_tier"] != "standard":  # by workspace and day: the tier only
            places.append(
                ("UsageWorkspaceDay", "day", minute.date(), None, {"service_tier": row["service_tier"]})
            )
        for name, period, start, api_key_id, dimensions in places:
            key = (
                name,
                period,
                start,
                row["organization_id"],
                row["workspace_id"],
                row["model_id"],
                api_key_id,
                tuple(sorted(dimensions.items())),
            )
            sums = moves[key]
            sums["requests"] += 1
            for field in (*TOKENS, "cost_cents"):
                sums[field] += row[field]
    for (name, period, start, organization_id, workspace_id, model_id, api_key_id, dimensions), sums in moves.items():
        table = tables[name]
        where = {period: start, "workspace_id": workspace_id, "model_id": model_id}
        if api_key_id is not None:
            where["api_key_id"] = api_key_id
        target = dict(dimensions)
        source = {field: STANDARD[field] for field in target}
        counted = table.objects.filter(**where, **source)
        counted.update(**{field: F(field) - value for field, value in sums.items()})
        counted.filter(requests=0).delete()
        if not table.objects.filter(**where, **target).update(
            **{field: F(field) + value for field, value in sums.items()}
        ):
            table.objects.create(organization_id=organization_id, **where, **target, **sums)


class Migration(migrations.Migration):
    dependencies = [("billing", "0011_usage_dimensions_server_tools")]
    operations = [
        migrations.RunPython(price_web_search, migrations.RunPython.noop),
        migrations.RunPython(context_window_of_records, migrations.RunPython.noop),
        migrations.RunPython(move_rolled_up_sums, migrations.RunPython.noop),
    ]
