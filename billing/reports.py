"""Usage and cost reports, read from the rollups only.

Every report is a fixed number of queries, whatever the number of usage records, days or
workspaces in range: one grouped query over the day, hour or minute rollups for the chart
and its table (totals are summed from those rows), and one for refused requests.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import F, Sum
from django.db.models.functions import TruncDate, TruncHour

from accounts.models import Organization
from billing.models import (
    Model,
    RefusalMinute,
    UsageDaily,
    UsageHour,
    UsageMinute,
    UsageWorkspaceDay,
)
from billing.usage import TOKEN_FIELDS
from workspaces.models import ApiKey, Workspace

MAX_RANGE_DAYS = 397  # 13 months
TOKEN_LABELS = {
    "uncached_input_tokens": "Input (uncached)",
    "cache_creation_5m_tokens": "Cache write (5 min)",
    "cache_creation_1h_tokens": "Cache write (1 h)",
    "cache_read_tokens": "Cache read",
    "output_tokens": "Output",
}
PRICE_OF = {
    "uncached_input_tokens": "input_price",
    "cache_creation_5m_tokens": "cache_write_5m_price",
    "cache_creation_1h_tokens": "cache_write_1h_price",
    "cache_read_tokens": "cache_read_price",
    "output_tokens": "output_price",
}


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
            for name in TOKEN_FIELDS:
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total


_ROLLUP = {
    "day": (UsageDaily, "day"),
    "hour": (UsageHour, "hour"),
    "minute": (UsageMinute, "minute"),
}


def _rollup(scope: ReportScope) -> tuple[type, str]:
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
            requests_sum=Sum("requests"), **{f"{name}_sum": Sum(name) for name in TOKEN_FIELDS}
        )
        .order_by(period, "model__api_name")
    )
    rows = [
        UsageRow(
            bucket=_bucket_key(row[period]),
            model=row["model__api_name"],
            requests=row["requests_sum"],
            **{name: row[f"{name}_sum"] for name in TOKEN_FIELDS},
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
    token_type: str
    tokens: int
    cost_cents: Decimal

    @property
    def token_label(self) -> str:
        return TOKEN_LABELS[self.token_type]


@dataclass
class CostReport:
    scope: ReportScope
    series: list[str]  # workspace names (or model names for one workspace)
    daily: dict[tuple[date, str], Decimal]  # (day, series) -> cents
    lines: list[CostLine]  # breakdown by workspace, model and token type
    total_cents: Decimal


def series_name(workspace: Workspace) -> str:
    return f"{workspace.name} (archived)" if workspace.is_archived else workspace.name


def cost_report(scope: ReportScope) -> CostReport:
    """Cost per day, stacked by workspace (or by model for one workspace), and the breakdown by
    workspace, model and token type, priced at the catalog's prices. Four queries: the day
    rollup grouped by day and series, then by workspace and model, and the workspaces and
    models named."""
    table = UsageDaily if scope.api_key is not None else UsageWorkspaceDay
    rows = scope.filter(table.objects.all(), period="day").order_by()
    by_model = scope.workspace is not None
    series_key = "model_id" if by_model else "workspace_id"
    per_day = list(rows.values_list("day", series_key).annotate(cost=Sum("cost_cents")))
    sums = list(
        rows.values_list("workspace_id", "model_id").annotate(*(Sum(name) for name in TOKEN_FIELDS))
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
    for day, series, cost in per_day:
        daily[(day, label[series])] += cost
    lines = [
        CostLine(
            workspaces[workspace_id],
            models[model_id],
            name,
            tokens,
            Decimal(tokens) * getattr(models[model_id], PRICE_OF[name]) / Decimal(10_000),
        )
        for workspace_id, model_id, *counts in sums
        for name, tokens in zip(TOKEN_FIELDS, counts, strict=True)
        if tokens
    ]
    lines.sort(
        key=lambda line: (
            series_name(line.workspace).lower(),
            line.model.api_name,
            TOKEN_FIELDS.index(line.token_type),
        )
    )
    series = sorted({label for (_day, label) in daily})
    total = sum((cost for _day, _series, cost in per_day), Decimal(0))
    return CostReport(scope=scope, series=series, daily=dict(daily), lines=lines, total_cents=total)
