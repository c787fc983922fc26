"""Usage records and their rollups.

Settling a request inserts one raw `UsageRecord`, or, with `USAGE_QUEUE` and Redis, queues it
in Redis in the settle's own round trip for `manage.py usage_worker` to store in batches
(`store_queued`). `rollup_pending` adds the records not yet counted to the per-minute,
per-hour and per-day tables that reports and spend read, in batches, under a lock on the
single `RollupCursor` row so that only one roller runs at a time. With `USAGE_ROLLUP_INLINE`
(the default) every recording rolls up at once; in production the worker does it every few
seconds, so reports lag by at most that.
"""

import json
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import DecimalField, F, Max, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Organization
from billing import pricing
from billing.models import (
    DIMENSION_FIELDS,
    InferenceGeo,
    Model,
    RefusalMinute,
    RollupCursor,
    ServiceTier,
    Speed,
    UsageDaily,
    UsageHour,
    UsageMinute,
    UsageRecord,
    UsageSums,
    UsageWorkspaceDay,
)
from workspaces.models import ApiKey, Workspace

TOKEN_FIELDS = pricing.TOKEN_KINDS
# Every count a record holds and its rollups sum: tokens by kind, server tool requests.
COUNTED_FIELDS = (*pricing.TOKEN_KINDS, *pricing.SERVER_TOOL_KINDS)
MAX_TOKENS_PER_KIND = 100_000_000
COST_FIELD = DecimalField(max_digits=24, decimal_places=8)
ZERO = Decimal(0)
# Anthropic's service tiers, kept as reported; any other is recorded as standard (vLLM, for
# one, says "default").
ANTHROPIC_SERVICE_TIERS = (ServiceTier.STANDARD, ServiceTier.PRIORITY, ServiceTier.BATCH)
KNOWN_GEOS = (InferenceGeo.GLOBAL, InferenceGeo.US)


def to_micro(cents: Decimal) -> int:
    """Cents as whole micro-cents, rounded up so counters never under-count spend."""
    return int((cents * 1_000_000).to_integral_value(rounding=ROUND_CEILING))


def clean_count(value: object, name: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < 0
        or value > MAX_TOKENS_PER_KIND
    ):
        raise ValidationError(f"{name} must be a whole number from 0 to {MAX_TOKENS_PER_KIND:,}.")
    return value


def served(
    *,
    tokens: dict[str, int],
    service_tier: str | None = None,
    inference_geo: str | None = None,
    speed: str | None = None,
) -> dict[str, str]:
    """How a request was served, as its record stores it, from what the upstream reported:
    Anthropic's service tiers as they are and any other as `standard`; `global` or `us` as
    the inference geo, anything else as not available; `fast` or `standard` speed. The
    context window is the one its input is billed in (`pricing.context_window`)."""
    return {
        "service_tier": service_tier
        if service_tier in ANTHROPIC_SERVICE_TIERS
        else ServiceTier.STANDARD,
        "inference_geo": inference_geo
        if inference_geo in KNOWN_GEOS
        else InferenceGeo.NOT_AVAILABLE,
        "speed": Speed.FAST if speed == Speed.FAST else Speed.STANDARD,
        "context_window": pricing.context_window(tokens),
    }


def clean_tokens(tokens: dict) -> dict[str, int]:
    unknown = set(tokens) - set(TOKEN_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown token kinds: {', '.join(sorted(unknown))}.")
    for kind, value in tokens.items():
        clean_count(value, kind)
    return {kind: tokens.get(kind, 0) for kind in TOKEN_FIELDS}


def record(
    *,
    api_key: ApiKey,
    model: Model,
    tokens: dict[str, int],
    at: datetime | None = None,
    request_id: str = "",
    service_tier: str | None = None,
    inference_geo: str | None = None,
    speed: str | None = None,
    web_search_requests: int = 0,
    web_fetch_requests: int = 0,
) -> UsageRecord:
    """Insert one request's usage, priced from the catalog; roll up now if configured to.
    How it was served is read as a settle reads it (`served`)."""
    tokens = clean_tokens(tokens)
    dimensions = served(
        tokens=tokens, service_tier=service_tier, inference_geo=inference_geo, speed=speed
    )
    web_search_requests = clean_count(web_search_requests, "web_search_requests")
    web_fetch_requests = clean_count(web_fetch_requests, "web_fetch_requests")
    with transaction.atomic():
        enter_write_gate(api_key.organization_id)
        usage = UsageRecord.objects.create(
            organization_id=api_key.organization_id,
            workspace_id=api_key.workspace_id,
            api_key_id=api_key.pk,
            model=model,
            cost_cents=pricing.cost_cents(
                model,
                tokens,
                service_tier=dimensions["service_tier"],
                web_search_requests=web_search_requests,
            ),
            created_at=at or timezone.now(),
            request_id=request_id,
            web_search_requests=web_search_requests,
            web_fetch_requests=web_fetch_requests,
            **dimensions,
            **tokens,
        )
    if settings.USAGE_ROLLUP_INLINE:
        rollup_pending()
    return usage


def insert_once(usage: UsageRecord) -> bool:
    """Insert a settled request's record unless one with its request id (and time) is
    stored already; whether it inserted. One statement. The caller holds the write gate."""
    meta = UsageRecord._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING"
    )
    values = [f.get_db_prep_save(f.pre_save(usage, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.rowcount == 1


def recorded_cost(request_id: str, at: datetime) -> Decimal | None:
    """The cost of the record a settle stored, if it is stored."""
    return (
        UsageRecord.objects.filter(request_id=request_id, created_at=at)
        .values_list("cost_cents", flat=True)
        .first()
    )


def stored_request_ids(request_ids: list[str]) -> list[str]:
    """Which of these settles' records are stored."""
    stored: list[str] = []
    for start in range(0, len(request_ids), 1_000):
        stored += UsageRecord.objects.filter(
            request_id__in=request_ids[start : start + 1_000]
        ).values_list("request_id", flat=True)
    return stored


def queued_record(usage: UsageRecord, *, month: str, micro_cents: int) -> str:
    """A record as text, to wait in a queue until `store_queued` inserts it. It names its
    month and its cost in micro-cents, so that a reconcile can count what is queued."""
    return json.dumps(
        {
            "id": usage.request_id,
            "organization": str(usage.organization_id),
            "workspace": usage.workspace_id,
            "api_key": usage.api_key_id,
            "model": usage.model_id,
            "at": usage.created_at.timestamp(),
            "month": month,
            "cost": str(usage.cost_cents),
            "micro": micro_cents,
            **{name: getattr(usage, name) for name in DIMENSION_FIELDS},
            "tokens": [getattr(usage, kind) for kind in TOKEN_FIELDS],
            "server_tools": [getattr(usage, kind) for kind in pricing.SERVER_TOOL_KINDS],
        },
        separators=(",", ":"),
    )


def _from_queue(text: str) -> UsageRecord:
    data = json.loads(text)
    if isinstance(data, list):  # as queued before records named their fields
        organization_id, workspace_id, api_key_id, model_id, at, cost, request_id, *counts = data
        data = {
            "id": request_id,
            "organization": organization_id,
            "workspace": workspace_id,
            "api_key": api_key_id,
            "model": model_id,
            "at": at,
            "cost": cost,
            "tokens": counts,
        }
    tokens = dict(zip(TOKEN_FIELDS, data["tokens"], strict=True))
    # Queued before the record kept how it was served: the defaults, its window from its input.
    dimensions = {
        "service_tier": ServiceTier.STANDARD,
        "inference_geo": InferenceGeo.NOT_AVAILABLE,
        "speed": Speed.STANDARD,
        "context_window": pricing.context_window(tokens),
    }
    dimensions.update((name, data[name]) for name in DIMENSION_FIELDS if name in data)
    server_tools = data.get("server_tools", [0] * len(pricing.SERVER_TOOL_KINDS))
    return UsageRecord(
        organization_id=data["organization"],
        workspace_id=data["workspace"],
        api_key_id=data["api_key"],
        model_id=data["model"],
        created_at=datetime.fromtimestamp(data["at"], UTC),
        cost_cents=Decimal(data["cost"]),
        request_id=data["id"],
        **dimensions,
        **tokens,
        **dict(zip(pricing.SERVER_TOOL_KINDS, server_tools, strict=True)),
    )


def store_queued(texts: list[str]) -> list[UsageRecord]:
    """Insert queued records (all of one organization) in one statement per thousand; a
    record already stored (same request and time: a batch handed out again after a worker
    stopped, or a settle that also wrote it itself) is skipped. Returns the records, stored
    now or before."""
    records = [_from_queue(text) for text in texts]
    if not records:
        return records
    with transaction.atomic():
        enter_write_gate(records[0].organization_id)
        UsageRecord.objects.bulk_create(records, batch_size=1_000, ignore_conflicts=True)
    return records


# Record ids are taken in one order and committed in another, so a rollup that moved its
# cursor past a committed id could skip a smaller one committed later. On PostgreSQL, writers
# of records hold this advisory lock (shared) until they commit, and a rollup takes it
# (exclusive) for a moment first: every id taken before then is final when it reads.
WRITE_GATE = 0x7573_6167  # any constant, the same in every process
# Writers of an organization's records also hold its own gate (shared), and a reconcile of
# its spend counters takes it (exclusive): no record is then half-way between the database
# and the counters while it reads both. The two-number form of advisory locks is a key space
# of its own.
ORGANIZATION_GATE = 0x6F72_6767


def _organization_key(organization_id) -> int:
    return int.from_bytes(uuid.UUID(str(organization_id)).bytes[:4], "big", signed=True)


def enter_write_gate(organization_id) -> None:
    """Taken by every writer of usage records, inside its transaction (see above)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s), pg_advisory_xact_lock_shared(%s, %s)",
                [WRITE_GATE, ORGANIZATION_GATE, _organization_key(organization_id)],
            )


def close_write_gate(organization_id) -> None:
    """Wait until no writer of the organization's records is half-way, and keep new ones
    out until the transaction ends. On SQLite the transaction itself does that: it holds the
    database's write lock from its start."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [ORGANIZATION_GATE, _organization_key(organization_id)],
            )


def _final_up_to() -> int | None:
    """The highest record id below which no record can still appear; None for no bound.

    Inside a transaction (a writer rolling up inline), waiting could deadlock with another
    writer doing the same, so it does not wait: with a writer mid-way, it answers 0 and that
    writer's own rollup, or the worker's, takes the records."""
    if connection.vendor != "postgresql":
        return None  # SQLite writes one transaction at a time
    waiting = not connection.in_atomic_block
    with connection.cursor() as cursor:
        if waiting:
            cursor.execute("SELECT pg_advisory_lock(%s)", [WRITE_GATE])
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [WRITE_GATE])
            if not cursor.fetchone()[0]:
                return 0
        try:
            cursor.execute(
                f"SELECT MAX(id) FROM {connection.ops.quote_name(UsageRecord._meta.db_table)}"
            )
            return cursor.fetchone()[0] or 0
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [WRITE_GATE])


def _bucket_starts(at: datetime) -> tuple[datetime, datetime, date]:
    at = at.astimezone(UTC)
    minute = at.replace(second=0, microsecond=0)
    return minute, minute.replace(minute=0), minute.date()


def rollup_pending(batch_size: int = 10_000) -> int:
    """Add every record not yet rolled up to the minute, hour and day tables. Returns how
    many records it added."""
    total = 0
    up_to = _final_up_to()
    while True:
        added = _rollup_batch(batch_size, up_to)
        total += added
        if added < batch_size:
            return total


@transaction.atomic
def _rollup_batch(batch_size: int, up_to: int | None) -> int:
    cursor = RollupCursor.objects.select_for_update().filter(pk=1).first()
    if cursor is None:
        try:
            with transaction.atomic():
                RollupCursor.objects.create(pk=1)
        except IntegrityError:
            pass
        cursor = RollupCursor.objects.select_for_update().get(pk=1)
    pending = UsageRecord.objects.filter(id__gt=cursor.last_record_id)
    if up_to is not None:
        pending = pending.filter(id__lte=up_to)
    records = list(
        pending.order_by("id").values(
            "id",
            "organization_id",
            "workspace_id",
            "api_key_id",
            "model_id",
            "created_at",
            "cost_cents",
            *DIMENSION_FIELDS,
            *COUNTED_FIELDS,
        )[:batch_size]
    )
    if not records:
        return 0
    sums: dict[tuple, dict] = defaultdict(
        lambda: dict.fromkeys((*COUNTED_FIELDS, "requests"), 0) | {"cost_cents": Decimal(0)}
    )
    for row in records:
        minute, hour, day = _bucket_starts(row["created_at"])
        periods: tuple[tuple[type[UsageSums], datetime | date], ...] = (
            (UsageMinute, minute),
            (UsageHour, hour),
            (UsageDaily, day),
            (UsageWorkspaceDay, day),
        )
        for table, start in periods:
            dims = tuple(row[name] for name in DIMENSIONS[table])
            totals = sums[(table, start, *dims)]
            totals["requests"] += 1
            totals["cost_cents"] += row["cost_cents"]
            for kind in COUNTED_FIELDS:
                totals[kind] += row[kind]
    by_table: dict[type[UsageSums], list[tuple]] = defaultdict(list)
    for (rollup, start, *values), totals in sums.items():
        by_table[rollup].append((start, *values, *(totals[name] for name in SUMMED)))
    for table, rows in by_table.items():
        _upsert_adding(table, rows)
    cursor.last_record_id = records[-1]["id"]
    cursor.updated_at = timezone.now()
    cursor.save(update_fields=["last_record_id", "updated_at"])
    return len(records)


SUMMED = ("requests", *COUNTED_FIELDS, "cost_cents")
PERIOD_FIELD: dict[type[UsageSums], str] = {
    UsageMinute: "minute",
    UsageHour: "hour",
    UsageDaily: "day",
    UsageWorkspaceDay: "day",
}
# What each rollup is kept per (its unique key, with the period; the organization first,
# which the workspace implies). The day by workspace keeps the service tier for its prices.
_BY_KEY = ("organization_id", "workspace_id", "api_key_id", "model_id", *DIMENSION_FIELDS)
DIMENSIONS: dict[type[UsageSums], tuple[str, ...]] = {
    UsageMinute: _BY_KEY,
    UsageHour: _BY_KEY,
    UsageDaily: _BY_KEY,
    UsageWorkspaceDay: ("organization_id", "workspace_id", "model_id", "service_tier"),
}


def _upsert_adding(table: type[UsageSums], rows: list[tuple]) -> None:
    """Insert rollup rows, or add their sums to the rows already there (one statement per
    batch; PostgreSQL and SQLite both speak ON CONFLICT ... DO UPDATE)."""
    meta = table._meta
    period = PERIOD_FIELD[table]
    dims = DIMENSIONS[table]
    columns = [period, *dims, *SUMMED]
    quote = connection.ops.quote_name
    updates = ", ".join(
        f"{quote(name)} = {quote(meta.db_table)}.{quote(name)} + excluded.{quote(name)}"
        for name in SUMMED
    )
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in (period, *dims[1:]))}) "
        f"DO UPDATE SET {updates}"
    )
    fields = [meta.get_field(name.removesuffix("_id")) for name in columns]
    prepared = [
        tuple(
            field.get_db_prep_value(value, connection)  # type: ignore[union-attr]
            for field, value in zip(fields, row, strict=True)
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, prepared)


def month_to_date_spend(
    organization: Organization, workspace: Workspace | None = None, now=None
) -> Decimal:
    """Spend this calendar month (UTC), exact: the daily rollups plus the records not rolled
    up yet. One query."""
    now = (now or timezone.now()).astimezone(UTC)
    start_day = now.date().replace(day=1)
    cursor = RollupCursor.objects.filter(pk=1).values("last_record_id")
    rolled = UsageDaily.objects.filter(
        organization=organization, day__gte=start_day, day__lte=now.date()
    )
    pending = UsageRecord.objects.filter(
        organization=organization,
        id__gt=Coalesce(Subquery(cursor), 0),
        created_at__gte=datetime.combine(start_day, datetime.min.time(), tzinfo=UTC),
        created_at__lte=now,
    )
    if workspace is not None:
        rolled = rolled.filter(workspace=workspace)
        pending = pending.filter(workspace=workspace)

    def total(rows):
        return Subquery(
            rows.order_by().values("organization").annotate(sum=Sum("cost_cents")).values("sum")
        )

    sums = Organization.objects.filter(pk=organization.pk).aggregate(
        rolled=Coalesce(Max(total(rolled)), Value(Decimal(0)), output_field=COST_FIELD),
        pending=Coalesce(Max(total(pending)), Value(Decimal(0)), output_field=COST_FIELD),
    )
    return Decimal(sums["rolled"]) + Decimal(sums["pending"])


def month_spend_by_workspace(organization_id, month_start: datetime) -> dict[int, Decimal]:
    """Each workspace's spend in the calendar month starting at `month_start`, exact: the
    daily rollups plus the records not rolled up yet, in one statement (one snapshot)."""
    next_start = (month_start + timedelta(days=32)).replace(day=1)
    quote = connection.ops.quote_name
    day_table = quote(UsageWorkspaceDay._meta.db_table)
    record_table = quote(UsageRecord._meta.db_table)
    cursor_table = quote(RollupCursor._meta.db_table)
    sql = (
        "SELECT workspace_id, SUM(cost) FROM ("
        f" SELECT workspace_id, cost_cents AS cost FROM {day_table}"
        " WHERE organization_id = %s AND day >= %s AND day < %s"
        " UNION ALL"
        f" SELECT workspace_id, cost_cents AS cost FROM {record_table}"
        f" WHERE organization_id = %s AND id > (SELECT COALESCE(MAX(last_record_id), 0) FROM {cursor_table})"
        " AND created_at >= %s AND created_at < %s"
        ") AS spend GROUP BY workspace_id"
    )
    organization = UsageRecord._meta.get_field("organization").get_db_prep_value(
        organization_id, connection
    )
    day_field = UsageWorkspaceDay._meta.get_field("day")
    moment_field = UsageRecord._meta.get_field("created_at")
    params = [
        organization,
        day_field.get_db_prep_value(month_start.date(), connection),
        day_field.get_db_prep_value(next_start.date(), connection),
        organization,
        moment_field.get_db_prep_value(month_start, connection),
        moment_field.get_db_prep_value(next_start, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # SQLite sums decimals as floats: back to the cost's own eight places.
    places = Decimal(1).scaleb(-UsageRecord._meta.get_field("cost_cents").decimal_places)
    return {
        workspace_id: Decimal(str(total)).quantize(places)
        for workspace_id, total in rows
        if total is not None
    }


def organizations_with_usage_since(start: datetime) -> set:
    """The organizations with usage records since `start` (rolled up or not yet)."""
    cursor = RollupCursor.objects.filter(pk=1).values("last_record_id")
    rolled = UsageWorkspaceDay.objects.filter(day__gte=start.date()).values_list(
        "organization_id", flat=True
    )
    pending = UsageRecord.objects.filter(
        id__gt=Coalesce(Subquery(cursor), 0), created_at__gte=start
    ).values_list("organization_id", flat=True)
    return set(rolled.distinct()) | set(pending.distinct())


def count_refusal(
    *,
    api_key_id: int,
    organization_id,
    workspace_id: int,
    model_id: int,
    limiter: str,
    at: datetime,
    count: int = 1,
) -> None:
    """Add `count` refused requests (one, unless a caller counted them first) to their minute."""
    minute = at.astimezone(UTC).replace(second=0, microsecond=0)
    where = {
        "minute": minute,
        "workspace_id": workspace_id,
        "api_key_id": api_key_id,
        "model_id": model_id,
        "limiter": limiter,
    }
    if not RefusalMinute.objects.filter(**where).update(count=F("count") + count):
        try:
            with transaction.atomic():
                RefusalMinute.objects.create(organization_id=organization_id, count=count, **where)
        except IntegrityError:
            RefusalMinute.objects.filter(**where).update(count=F("count") + count)


def ensure_partitions(*, months_back: int = 3, months_ahead: int = 3, now=None) -> list[str]:
    """On PostgreSQL, create the monthly partitions of usage records around now that do not
    exist yet (past months too, for backfills). Returns the names created."""
    if connection.vendor != "postgresql":
        return []
    now = (now or timezone.now()).astimezone(UTC)
    first = now.date().replace(day=1)
    months = []
    year, month = first.year, first.month - months_back
    for _ in range(months_back + months_ahead + 1):
        while month < 1:
            year, month = year - 1, month + 12
        while month > 12:
            year, month = year + 1, month - 12
        months.append((year, month))
        month += 1
    table = UsageRecord._meta.db_table
    created = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [table],
        )
        existing = {row[0] for row in cursor.fetchall()}
        for year, month in months:
            name = f"{table}_{year:04d}_{month:02d}"
            if name in existing:
                continue
            start = date(year, month, 1)
            end = date(year + (month == 12), month % 12 + 1, 1)
            # Rows of that month already in the default partition would block it; leave it.
            cursor.execute(
                f'SELECT 1 FROM "{table}_default" WHERE created_at >= %s AND created_at < %s LIMIT 1',
                [start, end],
            )
            if cursor.fetchone():
                continue
            cursor.execute(
                f'CREATE TABLE "{name}" PARTITION OF "{table}" FOR VALUES FROM (%s) TO (%s)',
                [start.isoformat(), end.isoformat()],
            )
            created.append(name)
    return created
