"""Usage and cost reports, read from the rollups only: the one engine behind the Usage and
Cost pages and the Admin API's reports, so both agree to the cent.

Every report is a fixed number of queries, whatever the number of usage records, days or
workspaces in range: one grouped query over the day, hour or minute rollups for the chart
and its table (totals are summed from those rows), and one for refused requests. Prices come
from `billing.pricing`.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, OuterRef, Sum
from django.db.models.functions import TruncDate, TruncHour

from accounts.models import Organization, OrganizationMember, User
from billing.models import (
    DIMENSION_FIELDS,
    Model,
    RefusalMinute,
    UsageDaily,
    UsageHour,
    UsageMinute,
    UsageWorkspaceDay,
)
from billing.pricing import TOKEN_KINDS as TOKEN_FIELDS
from billing.pricing import tokens_cost_cents, web_search_cost_cents
from workspaces.models import ApiKey, Workspace

MAX_RANGE_DAYS = 397  # 13 months
TOKEN_LABELS = {
    "uncached_input_tokens": "Input (uncached)",
    "cache_creation_5m_tokens": "Cache write (5 min)",
    "cache_creation_1h_tokens": "Cache write (1 h)",
    "cache_read_tokens": "Cache read",
    "output_tokens": "Output",
}
WEB_SEARCHES = "web_search_requests"
# What the pages count, in their order: tokens by kind, then web searches.
COUNT_LABELS = {**TOKEN_LABELS, WEB_SEARCHES: "Web searches"}


@dataclass(frozen=True)
class ReportScope:
    """What a report covers: the organization, the workspaces the viewer may report on
    (None: all of them), and the filters chosen."""

    organization: Organization
    workspaces: list[Workspace] | None
    workspace: Workspace | None = None
    start: date = field(default_factory=lambda: datetime.now(UTC).date().replace(day=1))
    end: date = field(default_factory=lambda: datetime.now(UTC).date())
    model: Model | None = None
    api_key: ApiKey | None = None
    day: date | None = None  # drilled into this day: hours
    hour: datetime | None = None  # drilled into this hour: minutes

    @property
    def granularity(self) -> str:
        return "minute" if self.hour else "hour" if self.day else "day"

    def buckets(self) -> list:
        """Every bucket of the chart, empty ones included, oldest first."""
        if self.hour:
            return [self.hour + timedelta(minutes=m) for m in range(60)]
        if self.day:
            midnight = datetime.combine(self.day, time.min, tzinfo=UTC)
            return [midnight + timedelta(hours=h) for h in range(24)]
        return [self.start + timedelta(days=d) for d in range((self.end - self.start).days + 1)]

    def filter(self, rows, *, period: str):
        rows = rows.filter(organization=self.organization)
        if self.workspace is not None:
            rows = rows.filter(workspace=self.workspace)
        elif self.workspaces is not None:
            rows = rows.filter(workspace__in=[w.pk for w in self.workspaces])
        if self.model is not None:
            rows = rows.filter(model=self.model)
        if self.api_key is not None:
            rows = rows.filter(api_key=self.api_key)
        if self.hour:
            return rows.filter(
                **{f"{period}__gte": self.hour, f"{period}__lt": self.hour + timedelta(hours=1)}
            )
        if self.day:
            midnight = datetime.combine(self.day, time.min, tzinfo=UTC)
            return rows.filter(
                **{f"{period}__gte": midnight, f"{period}__lt": midnight + timedelta(days=1)}
            )
        if period == "day":
            return rows.filter(day__gte=self.start, day__lte=self.end)
        return rows.filter(
            **{
                f"{period}__gte": datetime.combine(self.start, time.min, tzinfo=UTC),
                f"{period}__lt": datetime.combine(
                    self.end + timedelta(days=1), time.min, tzinfo=UTC
                ),
            }
        )


@dataclass
class UsageRow:
    bucket: object
    model: str
    requests: int = 0
    uncached_input_tokens: int = 0
    cache_creation_5m_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    web_search_requests: int = 0

    @property
    def input_tokens(self) -> int:
        return (
            self.uncached_input_tokens
            + self.cache_creation_5m_tokens
            + self.cache_creation_1h_tokens
            + self.cache_read_tokens
        )


@dataclass
class UsageReport:
    scope: ReportScope
    rows: list[UsageRow]  # per bucket and model, buckets with no usage left out
    models: list[str]
    refusals: list[tuple[object, str, int]]  # (day or bucket, limiter, count)

    @property
    def totals(self) -> UsageRow:
        total = UsageRow(bucket=None, model="")
        for row in self.rows:
            total.requests += row.requests
            for name in COUNT_LABELS:
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total


_ROLLUP = {
    "day": (UsageDaily, "day"),
    "hour": (UsageHour, "hour"),
    "minute": (UsageMinute, "minute"),
}


def _rollup(scope: ReportScope) -> tuple[Any, str]:
    """The rollup to read: by day without the key dimension unless a key is chosen."""
    if scope.granularity == "day" and scope.api_key is None:
        return UsageWorkspaceDay, "day"
    return _ROLLUP[scope.granularity]


def usage_report(scope: ReportScope) -> UsageReport:
    table, period = _rollup(scope)
    grouped = (
        scope.filter(table.objects.all(), period=period)
        .values(period, "model__api_name")
        .annotate(
            requests_sum=Sum("requests"), **{f"{name}_sum": Sum(name) for name in COUNT_LABELS}
        )
        .order_by(period, "model__api_name")
    )
    rows = [
        UsageRow(
            bucket=_bucket_key(row[period]),
            model=row["model__api_name"],
            requests=row["requests_sum"],
            **{name: row[f"{name}_sum"] for name in COUNT_LABELS},
        )
        for row in grouped
    ]
    models = sorted({row.model for row in rows})
    return UsageReport(scope=scope, rows=rows, models=models, refusals=refusals(scope))


def _bucket_key(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def refusals(scope: ReportScope) -> list[tuple[object, str, int]]:
    """Refused requests by bucket and limiter (days for a range, else the drilled period)."""
    rows = scope.filter(RefusalMinute.objects.all(), period="minute")
    if scope.granularity == "day":
        grouped = rows.annotate(bucket=TruncDate("minute", tzinfo=UTC)).values("bucket", "limiter")
    elif scope.granularity == "hour":
        grouped = rows.annotate(bucket=TruncHour("minute", tzinfo=UTC)).values("bucket", "limiter")
    else:
        grouped = rows.annotate(bucket=F("minute")).values("bucket", "limiter")
    grouped = grouped.annotate(total=Sum("count")).order_by("bucket", "limiter")
    return [(_bucket_key(row["bucket"]), row["limiter"], row["total"]) for row in grouped]


# -- Cost ---------------------------------------------------------------------------------------


@dataclass
class CostLine:
    workspace: Workspace
    model: Model
    token_type: str  # a token kind, or web searches (`WEB_SEARCHES`)
    tokens: int  # tokens, or searches
    cost_cents: Decimal

    @property
    def token_label(self) -> str:
        return COUNT_LABELS[self.token_type]


@dataclass
class CostReport:
    scope: ReportScope
    series: list[str]  # workspace names (or model names for one workspace)
    # (bucket, series) -> cents: days, or the hours or minutes of the period drilled into.
    daily: dict[tuple[Any, str], Decimal]
    lines: list[CostLine]  # breakdown by workspace, model and token type
    total_cents: Decimal


def series_name(workspace: Workspace) -> str:
    return f"{workspace.name} (archived)" if workspace.is_archived else workspace.name


def cost_report(scope: ReportScope) -> CostReport:
    """Cost per day (or per hour of a day, per minute of an hour drilled into), stacked by
    workspace (or by model for one workspace), and the breakdown by workspace, model and token
    type (and web searches), priced at the catalog's prices of each service tier. Four
    queries: the rollup grouped by bucket and series, then by workspace, model and tier, and
    the workspaces and models named."""
    table, period = _rollup(scope)
    rows = scope.filter(table.objects.all(), period=period).order_by()
    by_model = scope.workspace is not None
    series_key = "model_id" if by_model else "workspace_id"
    per_day = list(rows.values_list(period, series_key).annotate(cost=Sum("cost_cents")))
    sums = list(
        rows.values_list("workspace_id", "model_id", "service_tier").annotate(
            *(Sum(name) for name in COUNT_LABELS)
        )
    )
    workspaces = (
        {w.pk: w for w in Workspace.objects.filter(pk__in={row[0] for row in sums})} if sums else {}
    )
    models = (
        {m.pk: m for m in Model.objects.filter(pk__in={row[1] for row in sums})} if sums else {}
    )
    label = (
        {pk: model.api_name for pk, model in models.items()}
        if by_model
        else {pk: series_name(workspace) for pk, workspace in workspaces.items()}
    )
    daily: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for bucket, series, cost in per_day:
        daily[(_bucket_key(bucket), label[series])] += cost
    # One line per workspace, model and kind: the tiers' tokens added, each at its own prices.
    by_line: dict[tuple[int, int, str], CostLine] = {}
    for workspace_id, model_id, tier, *counts in sums:
        model = models[model_id]
        for name, count in zip(COUNT_LABELS, counts, strict=True):
            if not count:
                continue
            cost = (
                web_search_cost_cents(model, count)
                if name == WEB_SEARCHES
                else tokens_cost_cents(model, name, count, tier)
            )
            line = by_line.get((workspace_id, model_id, name))
            if line is None:
                by_line[(workspace_id, model_id, name)] = CostLine(
                    workspaces[workspace_id], model, name, count, cost
                )
            else:
                line.tokens += count
                line.cost_cents += cost
    order = list(COUNT_LABELS)
    lines = sorted(
        by_line.values(),
        key=lambda line: (
            series_name(line.workspace).lower(),
            line.model.api_name,
            order.index(line.token_type),
        ),
    )
    series = sorted({label for (_day, label) in daily})
    total = sum((cost for _day, _series, cost in per_day), Decimal(0))
    return CostReport(scope=scope, series=series, daily=dict(daily), lines=lines, total_cents=total)


# -- Reports by time bucket (the Admin API's usage and cost reports) ---------------------------

BUCKET_WIDTHS = {
    "1m": (timedelta(minutes=1), UsageMinute, "minute"),
    "1h": (timedelta(hours=1), UsageHour, "hour"),
    "1d": (timedelta(days=1), UsageDaily, "day"),
}

# What a report can be grouped by, and the rollup column each reads.
USAGE_GROUPS = {
    "api_key_id": "api_key__public_id",
    "workspace_id": "workspace__public_id",
    "model": "model__api_name",
    "service_tier": "service_tier",
    "context_window": "context_window",
    "inference_geo": "inference_geo",
    "speed": "speed",
}
COST_GROUPS = ("workspace_id", "description")
NOT_AVAILABLE = "not_available"  # filters the usage whose inference geo is not known

# Anthropic's names of the token kinds, in reports and cost descriptions.
TOKEN_TYPES = {
    "uncached_input_tokens": "uncached_input_tokens",
    "cache_creation_5m_tokens": "cache_creation.ephemeral_5m_input_tokens",
    "cache_creation_1h_tokens": "cache_creation.ephemeral_1h_input_tokens",
    "cache_read_tokens": "cache_read_input_tokens",
    "output_tokens": "output_tokens",
}
TOKEN_DESCRIPTIONS = {
    "uncached_input_tokens": "Input Tokens",
    "cache_creation_5m_tokens": "Input Tokens, Cache Write (5m)",
    "cache_creation_1h_tokens": "Input Tokens, Cache Write (1h)",
    "cache_read_tokens": "Input Tokens, Cache Read",
    "output_tokens": "Output Tokens",
}


@dataclass(frozen=True)
class BucketFilters:
    """Which usage a bucketed report counts; an empty tuple does not filter."""

    workspace_ids: tuple[str, ...] = ()
    api_key_ids: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    service_tiers: tuple[str, ...] = ()
    context_windows: tuple[str, ...] = ()
    inference_geos: tuple[str, ...] = ()
    speeds: tuple[str, ...] = ()
    account_ids: tuple[str, ...] = ()  # users whose API keys made the requests
    service_account_ids: tuple[str, ...] = ()  # Console has none: matches no usage

    @property
    def need_keys(self) -> bool:
        return bool(self.api_key_ids or self.account_ids)

    @property
    def need_dimensions(self) -> bool:
        return bool(
            self.service_tiers or self.context_windows or self.inference_geos or self.speeds
        )


@dataclass(frozen=True)
class BucketQuery:
    organization: Organization
    width: str
    starts: list[datetime]  # the buckets of this page, oldest first
    group_by: tuple[str, ...] = ()
    filters: BucketFilters = field(default_factory=BucketFilters)

    @property
    def step(self) -> timedelta:
        return BUCKET_WIDTHS[self.width][0]


def floor_to_bucket(moment: datetime, width: str) -> datetime:
    moment = moment.astimezone(UTC)
    if width == "1m":
        return moment.replace(second=0, microsecond=0)
    if width == "1h":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _bucket_rows(query: BucketQuery, *, dimensions: list[str]):
    """The rollup rows of the query's buckets, filtered, as a values() queryset grouped by
    the bucket and `dimensions` (rollup columns)."""
    table: Any
    _step, table, period = BUCKET_WIDTHS[query.width]
    filters = query.filters
    if (
        period == "day"
        and not filters.need_keys
        and not filters.need_dimensions
        and not any(d in dimensions for d in ("api_key__public_id", *DIMENSION_FIELDS))
    ):
        table = UsageWorkspaceDay  # a tenth of the rows, or fewer
    first, last = query.starts[0], query.starts[-1] + query.step
    if period == "day":
        rows = table.objects.filter(day__gte=first.date(), day__lt=last.date())
    else:
        rows = table.objects.filter(**{f"{period}__gte": first, f"{period}__lt": last})
    rows = rows.filter(organization=query.organization)
    if filters.workspace_ids:
        rows = rows.filter(workspace__public_id__in=filters.workspace_ids)
    if filters.api_key_ids:
        rows = rows.filter(api_key__public_id__in=filters.api_key_ids)
    if filters.account_ids:
        rows = rows.filter(api_key__created_by__public_id__in=filters.account_ids)
    if filters.service_account_ids:
        rows = rows.none()
    if filters.models:
        rows = rows.filter(model__api_name__in=filters.models)
    if filters.service_tiers:
        rows = rows.filter(service_tier__in=filters.service_tiers)
    if filters.context_windows:
        rows = rows.filter(context_window__in=filters.context_windows)
    if filters.inference_geos:
        rows = rows.filter(
            inference_geo__in=[
                "" if geo == NOT_AVAILABLE else geo for geo in filters.inference_geos
            ]
        )
    if filters.speeds:
        rows = rows.filter(speed__in=filters.speeds)
    return rows.values(period, *dimensions).order_by(period, *dimensions), period


def _bucket_start(value) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time.min, tzinfo=UTC)


def _dimension_values(row: dict, group_by: tuple[str, ...], default_workspace: set[str]) -> dict:
    """A result's dimensions as Anthropic's reports write them: null when not grouped by,
    null for the Default workspace, null for an inference geo nobody reported."""
    values: dict[str, str | None] = dict.fromkeys(USAGE_GROUPS)
    for name in group_by:
        value = row[USAGE_GROUPS[name]]
        if name == "workspace_id" and value in default_workspace:
            value = None
        if name == "inference_geo" and value == "":
            value = None
        values[name] = value
    return values


def _default_workspace_ids(organization: Organization) -> set[str]:
    return set(
        Workspace.objects.filter(organization=organization, is_default=True).values_list(
            "public_id", flat=True
        )
    )


@dataclass
class UsageResult:
    dimensions: dict[str, str | None]
    requests: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_FIELDS, 0))
    web_search_requests: int = 0


def usage_buckets(query: BucketQuery) -> list[tuple[datetime, list[UsageResult]]]:
    """Each bucket of the page with its results: one per group (a single total when not
    grouped), none for a bucket without usage. Two queries."""
    dimensions = [USAGE_GROUPS[name] for name in query.group_by]
    rows, period = _bucket_rows(query, dimensions=dimensions)
    rows = rows.annotate(
        requests_sum=Sum("requests"), **{f"{name}_sum": Sum(name) for name in COUNT_LABELS}
    )
    default_workspace = _default_workspace_ids(query.organization)
    buckets: dict[datetime, dict[tuple, UsageResult]] = {start: {} for start in query.starts}
    for row in rows:
        values = _dimension_values(row, query.group_by, default_workspace)
        # The Default workspace may come from several ids of one organization's history.
        key = tuple(values.values())
        result = buckets.setdefault(_bucket_start(row[period]), {}).setdefault(
            key, UsageResult(values)
        )
        result.requests += row["requests_sum"]
        result.web_search_requests += row[f"{WEB_SEARCHES}_sum"]
        for name in TOKEN_FIELDS:
            result.tokens[name] += row[f"{name}_sum"]
    return [(start, list(buckets[start].values())) for start in query.starts]


# Anthropic's cost types and the description of a web search cost.
TOKENS_COST = "tokens"
WEB_SEARCH_COST = "web_search"
WEB_SEARCH_DESCRIPTION = "Web Search Usage"


@dataclass
class CostResult:
    amount_cents: Decimal
    workspace_id: str | None = None
    model: Model | None = None
    token_kind: str | None = None
    dimensions: dict[str, str | None] = field(default_factory=dict)
    cost_type: str | None = None  # grouped by description: TOKENS_COST or WEB_SEARCH_COST

    @property
    def description(self) -> str | None:
        if self.cost_type == WEB_SEARCH_COST:
            return WEB_SEARCH_DESCRIPTION
        if self.model is None or self.token_kind is None:
            return None
        return f"{model_display_name(self.model.api_name)} Usage - {TOKEN_DESCRIPTIONS[self.token_kind]}"


def cost_buckets(query: BucketQuery) -> list[tuple[datetime, list[CostResult]]]:
    """Each day of the page with its costs: by workspace and/or by description (model and
    token kind, with the tier, context window and geo they were served at, each tier at its
    prices; and web searches, a cost of their own without a model or tier, as Anthropic's
    report has them). Priced at the catalog's prices like the Cost page; three queries."""
    by_workspace = "workspace_id" in query.group_by
    by_description = "description" in query.group_by
    dimensions = ["workspace__public_id"] if by_workspace else []
    if by_description:
        dimensions += ["model_id", "service_tier", "context_window", "inference_geo"]
    rows, period = _bucket_rows(query, dimensions=dimensions)
    rows = rows.annotate(cost=Sum("cost_cents"), **{f"{n}_sum": Sum(n) for n in COUNT_LABELS})
    rows = list(rows)
    default_workspace = _default_workspace_ids(query.organization) if by_workspace else set()
    models = (
        {m.pk: m for m in Model.objects.filter(pk__in={row["model_id"] for row in rows})}
        if by_description and rows
        else {}
    )
    buckets: dict[datetime, dict[tuple, CostResult]] = {start: {} for start in query.starts}
    for row in rows:
        start = _bucket_start(row[period])
        results = buckets.setdefault(start, {})
        workspace_id = row.get("workspace__public_id")
        if workspace_id in default_workspace:
            workspace_id = None
        if not by_description:
            result = results.setdefault((workspace_id,), CostResult(Decimal(0), workspace_id))
            result.amount_cents += row["cost"]
            continue
        model = models[row["model_id"]]
        tier = row["service_tier"]
        served = {
            "service_tier": tier,
            "context_window": row["context_window"],
            "inference_geo": row["inference_geo"] or None,
        }
        for kind in TOKEN_FIELDS:
            tokens = row[f"{kind}_sum"]
            if not tokens:
                continue
            key = (workspace_id, model.pk, kind, *served.values())
            result = results.setdefault(
                key, CostResult(Decimal(0), workspace_id, model, kind, served, TOKENS_COST)
            )
            result.amount_cents += tokens_cost_cents(model, kind, tokens, tier)
        searches = row[f"{WEB_SEARCHES}_sum"]
        if searches:
            result = results.setdefault(
                (workspace_id, WEB_SEARCH_COST),
                CostResult(Decimal(0), workspace_id, cost_type=WEB_SEARCH_COST),
            )
            result.amount_cents += web_search_cost_cents(model, searches)
    return [(start, list(buckets[start].values())) for start in query.starts]


def model_display_name(api_name: str) -> str:
    """A model's name as Anthropic's cost report writes it: claude-sonnet-4-5 → "Claude
    Sonnet 4.5", claude-opus-4-0 → "Claude Opus 4", claude-3-haiku-20240307 → "Claude 3
    Haiku"."""
    words: list[str] = []
    for part in api_name.split("-"):
        if part == "latest" or (part.isdigit() and len(part) == 8):
            continue
        if part.isdigit() and words and words[-1][-1:].isdigit():
            words[-1] = words[-1] if part == "0" else f"{words[-1]}.{part}"
        else:
            words.append(part if part.isdigit() else part.capitalize())
    return " ".join(words)


@dataclass
class KeyDay:
    """One API key's use on one day: what the Claude Code report can say of it."""

    day: date
    api_key: ApiKey
    models: list[tuple[Model, dict[str, int], Decimal]]  # tokens by kind and cost, per model


def key_days(
    organization: Organization, *, start: date, end: date, after: tuple[str, str] | None, limit: int
) -> tuple[list[KeyDay], bool]:
    """Per day and API key from `start` (inclusive) to `end` (exclusive), after the
    (day, key id) `after`, at most `limit` of them, and whether more follow. Three queries."""
    rows = UsageDaily.objects.filter(organization=organization, day__gte=start, day__lt=end)
    if after is not None:
        after_day, after_key = date.fromisoformat(after[0]), after[1]
        rows = rows.filter(day__gt=after_day) | rows.filter(
            day=after_day, api_key__public_id__gt=after_key
        )
    grouped = list(
        rows.values("day", "api_key__public_id", "api_key_id", "model_id")
        .annotate(cost=Sum("cost_cents"), **{f"{n}_sum": Sum(n) for n in TOKEN_FIELDS})
        .order_by("day", "api_key__public_id", "model_id")
    )
    keys: list[tuple[date, str]] = []
    by_key: dict[tuple[date, str], list[Any]] = defaultdict(list)
    for row in grouped:
        key = (row["day"], row["api_key__public_id"])
        if key not in by_key:
            keys.append(key)
        by_key[key].append(row)
    more = len(keys) > limit
    keys = keys[:limit]
    used = [row for key in keys for row in by_key[key]]
    api_keys = {k.pk: k for k in ApiKey.objects.filter(pk__in={r["api_key_id"] for r in used})}
    models = {m.pk: m for m in Model.objects.filter(pk__in={r["model_id"] for r in used})}
    days = [
        KeyDay(
            day=key[0],
            api_key=api_keys[by_key[key][0]["api_key_id"]],
            models=[
                (
                    models[row["model_id"]],
                    {name: row[f"{name}_sum"] for name in TOKEN_FIELDS},
                    row["cost"],
                )
                for row in by_key[key]
            ],
        )
        for key in keys
    ]
    return days, more


# -- Over a whole range, regrouped (the Admin API's analytics reports) -----------------------


def range_buckets(start: datetime, end: datetime) -> tuple[str, list[datetime]]:
    """The width and the starts of the buckets that cover `start` to `end` (exclusive), both
    on whole hours: days when both fall on midnight (fewer rollup rows), else hours."""
    midnight = floor_to_bucket(start, "1d") == start and floor_to_bucket(end, "1d") == end
    width = "1d" if midnight else "1h"
    step = BUCKET_WIDTHS[width][0]
    starts = []
    moment = start
    while moment < end:
        starts.append(moment)
        moment += step
    return width, starts


def regroup_usage(keyed: Iterable[tuple[tuple, UsageResult]]) -> dict[tuple, UsageResult]:
    """Results added up by the key each comes with: each total has the dimensions of the
    first result of its group, and the sum of every count (requests, tokens by kind, any
    other)."""
    totals: dict[tuple, UsageResult] = {}
    for group, result in keyed:
        total = totals.get(group)
        if total is None:
            total = totals[group] = UsageResult(dict(result.dimensions))
        for item in fields(UsageResult):
            value = getattr(result, item.name)
            if isinstance(value, int):
                setattr(total, item.name, getattr(total, item.name) + value)
        for name, count in result.tokens.items():
            total.tokens[name] = total.tokens.get(name, 0) + count
    return totals


def regroup_cost(keyed: Iterable[tuple[tuple, CostResult]]) -> dict[tuple, Decimal]:
    """The amounts of results added up by the key each comes with."""
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    for group, result in keyed:
        totals[group] += result.amount_cents
    return dict(totals)


@dataclass(frozen=True)
class KeyActor:
    """Whom an API key's usage is credited to: the member who created the key (`user`; with
    `is_member` whether they still are one), else, when that account is gone, the key."""

    api_key_id: str
    user: User | None
    is_member: bool


def key_actors(organization: Organization, api_key_ids: Iterable[str]) -> dict[str, KeyActor]:
    """The actor of each of the organization's API keys named (by public id). One query."""
    wanted = set(api_key_ids)
    if not wanted:
        return {}
    keys = (
        ApiKey.objects.filter(organization=organization, public_id__in=wanted)
        .select_related("created_by")
        .annotate(
            creator_is_member=Exists(
                OrganizationMember.objects.filter(
                    organization=organization, user=OuterRef("created_by")
                )
            )
        )
    )
    return {
        key.public_id: KeyActor(
            key.public_id,
            key.created_by,
            key.creator_is_member,  # type: ignore[attr-defined]  # annotated above
        )
        for key in keys
    }
