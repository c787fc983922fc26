"""Admin API: the usage and cost reports and the Claude Code report, read from
`billing.reports`, the engine of the Usage and Cost pages."""

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING
from typing import TYPE_CHECKING, Literal

from django.core.exceptions import ValidationError
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import model_validator

from accounts.admin_api import AdminApiRequest, organization
from billing import money, reports
from billing.models import ContextWindow, ServiceTier, Speed
from console.pagination import decode_page_token, encode_page_token
from console.schemas import BucketTime, InputTime, Out, SafeText, choices
from console.validation import check_datetime, parse_date, parse_datetime
from workspaces.models import ROUTABLE_INFERENCE_GEOS

router = Router(tags=["Reports"])

if TYPE_CHECKING:
    Tier = str
    Window = str
    SpeedValue = str
    Geo = str
    GeoFilter = str
    UsageGroup = str
    CostGroup = str
    BucketWidth = str
else:
    Tier = choices(ServiceTier)
    Window = choices(ContextWindow)
    SpeedValue = choices(Speed)
    Geo = choices(ROUTABLE_INFERENCE_GEOS)
    # Usage whose geo nobody reported is asked for as not_available.
    GeoFilter = choices([*ROUTABLE_INFERENCE_GEOS, reports.NOT_AVAILABLE])
    UsageGroup = choices(reports.USAGE_GROUPS)
    CostGroup = choices(reports.COST_GROUPS)
    BucketWidth = choices(reports.BUCKET_WIDTHS)

Cents = str  # a decimal string of cents, fractions included: "12.5"


# -- Usage and cost reports -------------------------------------------------------------------

# Buckets per page for each width: (default, most).
BUCKET_LIMITS = {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}


def _not_a_page() -> ValidationError:
    return ValidationError(
        {"page": ValidationError("This is not a page token of this report.", code="invalid_page")}
    )


def _report_page(starting_at: datetime, page: str | None) -> datetime:
    """Where this page starts: `starting_at`, or the bucket the page token names."""
    text = decode_page_token(page)
    if text is None:
        return starting_at
    try:
        return check_datetime(datetime.fromisoformat(text))
    except (TypeError, ValueError, ValidationError):
        raise _not_a_page() from None


def bucket_starts(
    width: str, starting_at: datetime, ending_at: datetime | None, page: str | None, limit: int
) -> tuple[list[datetime], str | None]:
    """The buckets of this page and the next page's token. Without `ending_at` the report
    stops at the bucket holding now: no future buckets."""
    step = reports.BUCKET_WIDTHS[width][0]
    start = reports.floor_to_bucket(_report_page(starting_at, page), width)
    end = ending_at or reports.floor_to_bucket(timezone.now(), width) + step
    if end <= reports.floor_to_bucket(starting_at, width):
        raise ValidationError({"ending_at": "ending_at must be after starting_at."})
    starts: list[datetime] = []
    moment = start
    while len(starts) < limit and moment < end:
        starts.append(moment)
        moment += step
    if not starts:
        starts = [start]
    more = moment < end
    return starts, encode_page_token(moment.isoformat()) if more else None


class CacheCreation(Out):
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int


class ServerToolUse(Out):
    web_search_requests: int = 0


class UsageResultOut(Out):
    uncached_input_tokens: int
    cache_creation: CacheCreation
    cache_read_input_tokens: int
    output_tokens: int
    server_tool_use: ServerToolUse
    api_key_id: str | None
    workspace_id: str | None
    model: str | None
    service_tier: Tier | None
    context_window: Window | None
    inference_geo: Geo | None
    speed: SpeedValue | None


class UsageBucketOut(Out):
    starting_at: BucketTime
    ending_at: BucketTime
    results: list[UsageResultOut]


class UsageReportOut(Out):
    data: list[UsageBucketOut]
    has_more: bool
    next_page: str | None


class ReportWindow(Schema):
    starting_at: InputTime
    ending_at: InputTime | None = None
    page: SafeText | None = None


class UsageReportQuery(ReportWindow):
    bucket_width: BucketWidth = "1d"
    limit: int | None = Field(
        None,
        ge=1,
        le=1440,
        description="1d: 7 by default, at most 31; 1h: 24, at most 168; 1m: 60, at most 1440.",
    )
    group_by: list[UsageGroup] = Field([], alias="group_by[]")
    api_key_ids: list[SafeText] = Field([], alias="api_key_ids[]")
    workspace_ids: list[SafeText] = Field([], alias="workspace_ids[]")
    models: list[SafeText] = Field([], alias="models[]")
    service_tiers: list[Tier] = Field([], alias="service_tiers[]")
    context_window: list[Window] = Field([], alias="context_window[]")
    inference_geos: list[GeoFilter] = Field([], alias="inference_geos[]")
    speeds: list[SpeedValue] = Field([], alias="speeds[]")
    account_ids: list[SafeText] = Field([], alias="account_ids[]")
    service_account_ids: list[SafeText] = Field([], alias="service_account_ids[]")

    @model_validator(mode="after")
    def _limit_in_range(self) -> "UsageReportQuery":
        _default, most = BUCKET_LIMITS[self.bucket_width]
        if self.limit is not None and self.limit > most:
            raise ValueError(f"limit: at most {most} buckets of {self.bucket_width}.")
        return self


def usage_counts(result: reports.UsageResult) -> dict:
    """A usage result's counts as Anthropic's reports write them."""
    return {
        "uncached_input_tokens": result.tokens["uncached_input_tokens"],
        "cache_creation": {
            "ephemeral_5m_input_tokens": result.tokens["cache_creation_5m_tokens"],
            "ephemeral_1h_input_tokens": result.tokens["cache_creation_1h_tokens"],
        },
        "cache_read_input_tokens": result.tokens["cache_read_tokens"],
        "output_tokens": result.tokens["output_tokens"],
        "server_tool_use": {"web_search_requests": result.web_search_requests},
    }


@router.get(
    "/usage_report/messages",
    response=UsageReportOut,
    summary="Token usage by time bucket",
    by_alias=False,
)
def usage_report(request: AdminApiRequest, query: Query[UsageReportQuery]):
    limit = query.limit or BUCKET_LIMITS[query.bucket_width][0]
    starts, next_page = bucket_starts(
        query.bucket_width, query.starting_at, query.ending_at, query.page, limit
    )
    buckets = reports.usage_buckets(
        reports.BucketQuery(
            organization=organization(request),
            width=query.bucket_width,
            starts=starts,
            group_by=tuple(dict.fromkeys(query.group_by)),
            filters=reports.BucketFilters(
                workspace_ids=tuple(query.workspace_ids),
                api_key_ids=tuple(query.api_key_ids),
                models=tuple(query.models),
                service_tiers=tuple(query.service_tiers),
                context_windows=tuple(query.context_window),
                inference_geos=tuple(query.inference_geos),
                speeds=tuple(query.speeds),
                account_ids=tuple(query.account_ids),
                service_account_ids=tuple(query.service_account_ids),
            ),
        )
    )
    step = reports.BUCKET_WIDTHS[query.bucket_width][0]
    return {
        "data": [
            {
                "starting_at": start,
                "ending_at": start + step,
                "results": [{**usage_counts(r), **r.dimensions} for r in results],
            }
            for start, results in buckets
        ],
        "has_more": next_page is not None,
        "next_page": next_page,
    }


class CostResultOut(Out):
    currency: Literal["USD"] = "USD"
    amount: Cents = Field(description="Cents, exact (fractions of a cent included).")
    list_amount: Cents = Field(description="The same as amount: Console gives no discounts.")
    workspace_id: str | None
    description: str | None
    cost_type: Literal["tokens", "web_search"] | None
    model: str | None
    token_type: str | None
    service_tier: Tier | None
    context_window: Window | None
    inference_geo: Geo | None


class CostBucketOut(Out):
    starting_at: BucketTime
    ending_at: BucketTime
    results: list[CostResultOut]


class CostReportOut(Out):
    data: list[CostBucketOut]
    has_more: bool
    next_page: str | None


class CostReportQuery(ReportWindow):
    bucket_width: Literal["1d"] = "1d"
    limit: int = Field(7, ge=1, le=31)
    group_by: list[CostGroup] = Field([], alias="group_by[]")
    workspace_ids: list[SafeText] = Field([], alias="workspace_ids[]")


def _cost_result(result: reports.CostResult) -> dict:
    amount = money.cents_text(result.amount_cents)
    return {
        "amount": amount,
        "list_amount": amount,
        "workspace_id": result.workspace_id,
        "description": result.description,
        "cost_type": result.cost_type,
        "model": result.model.api_name if result.model is not None else None,
        "token_type": reports.TOKEN_TYPES[result.token_kind] if result.token_kind else None,
        "service_tier": result.dimensions.get("service_tier"),
        "context_window": result.dimensions.get("context_window"),
        "inference_geo": result.dimensions.get("inference_geo"),
    }


@router.get("/cost_report", response=CostReportOut, summary="Cost by day", by_alias=False)
def cost_report(request: AdminApiRequest, query: Query[CostReportQuery]):
    starts, next_page = bucket_starts(
        "1d", query.starting_at, query.ending_at, query.page, query.limit
    )
    buckets = reports.cost_buckets(
        reports.BucketQuery(
            organization=organization(request),
            width="1d",
            starts=starts,
            group_by=tuple(dict.fromkeys(query.group_by)),
            filters=reports.BucketFilters(workspace_ids=tuple(query.workspace_ids)),
        )
    )
    return {
        "data": [
            {
                "starting_at": start,
                "ending_at": start + timedelta(days=1),
                "results": [_cost_result(result) for result in results],
            }
            for start, results in buckets
        ],
        "has_more": next_page is not None,
        "next_page": next_page,
    }


class ClaudeCodeActor(Out):
    type: Literal["api_actor"] = "api_actor"
    api_key_name: str


class LinesOfCode(Out):
    added: int = 0
    removed: int = 0


class CoreMetrics(Out):
    num_sessions: int = 0
    lines_of_code: LinesOfCode = LinesOfCode()
    commits_by_claude_code: int = 0
    pull_requests_by_claude_code: int = 0


class ToolAction(Out):
    accepted: int = 0
    rejected: int = 0


class ToolActions(Out):
    edit_tool: ToolAction = ToolAction()
    multi_edit_tool: ToolAction = ToolAction()
    write_tool: ToolAction = ToolAction()
    notebook_edit_tool: ToolAction = ToolAction()


class ModelTokens(Out):
    input: int
    output: int
    cache_read: int
    cache_creation: int


class EstimatedCost(Out):
    currency: Literal["USD"] = "USD"
    amount: int = Field(description="Whole cents, rounded up.")


class ModelBreakdown(Out):
    model: str
    tokens: ModelTokens
    estimated_cost: EstimatedCost


class ClaudeCodeRecord(Out):
    date: BucketTime
    actor: ClaudeCodeActor
    organization_id: str
    customer_type: Literal["api"] = "api"
    terminal_type: str = "unknown"
    core_metrics: CoreMetrics = CoreMetrics()
    tool_actions: ToolActions = ToolActions()
    model_breakdown: list[ModelBreakdown]


class ClaudeCodeReportOut(Out):
    data: list[ClaudeCodeRecord]
    has_more: bool
    next_page: str | None


def _day(value: str) -> date:
    """A report day: 2026-11-01, or a time, taken as its UTC day."""
    if len(value) <= 10:
        return parse_date(value, field="starting_at")
    return parse_datetime(value, field="starting_at").astimezone(UTC).date()


@router.get(
    "/usage_report/claude_code",
    response=ClaudeCodeReportOut,
    summary="Claude Code usage of one day",
    description="Console sees the API requests, not Claude Code's sessions: each API key's "
    "tokens and estimated cost by model, as an api_actor; the activity metrics are zero.",
)
def claude_code_report(
    request: AdminApiRequest,
    starting_at: SafeText,
    limit: int = Query(20, ge=1, le=1000),
    page: SafeText | None = None,
):
    day = _day(starting_at)
    after = decode_page_token(page)
    if after is not None:
        # The day and the last API key of the previous page, of this report's day.
        if not (
            isinstance(after, list)
            and len(after) == 2
            and after[0] == day.isoformat()
            and isinstance(after[1], str)
        ):
            raise _not_a_page()
        after = tuple(after)
    org = organization(request)
    days, more = reports.key_days(
        org, start=day, end=day + timedelta(days=1), after=after, limit=limit
    )
    data = [
        {
            "date": datetime.combine(key_day.day, datetime.min.time(), tzinfo=UTC),
            "actor": {"api_key_name": key_day.api_key.name},
            "organization_id": str(org.pk),
            "model_breakdown": [
                {
                    "model": model.api_name,
                    "tokens": {
                        "input": tokens["uncached_input_tokens"],
                        "output": tokens["output_tokens"],
                        "cache_read": tokens["cache_read_tokens"],
                        "cache_creation": tokens["cache_creation_5m_tokens"]
                        + tokens["cache_creation_1h_tokens"],
                    },
                    "estimated_cost": {
                        "amount": int(cost.to_integral_value(rounding=ROUND_CEILING))
                    },
                }
                for model, tokens, cost in key_day.models
            ],
        }
        for key_day in days
    ]
    next_page = (
        encode_page_token([day.isoformat(), days[-1].api_key.public_id]) if more and days else None
    )
    return {"data": data, "has_more": next_page is not None, "next_page": next_page}
