"""Admin API: Anthropic's analytics reports (`/v1/organizations/analytics/...`) over the
usage Console has, read from `billing.reports`, the engine of the Usage and Cost pages.

- `usage_report` and `cost_report`: usage and cost by time bucket, as the Claude Enterprise
  reports have them.
- `usage` and `cost`: the Usage and Cost Analytics API, one row per group (and time bucket),
  ranked.
- `user_usage_report`: usage per member.

What Console's usage is: Messages API requests made with its API keys. A key's usage is
credited to the member who created it (to the key itself once that account is gone), as the
Messages usage report's `account_ids[]` has it. It is all the Messages API's (`product`
`messages_api` in the analytics API; none of the claude.ai surfaces the Enterprise reports
name), and none of it is Claude Tag's, a Slack channel's, an RBAC group's, a managed agent's,
a user profile's or a child organization's: grouped by those it reads null, filtered by them
nothing matches.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import model_validator

from accounts.admin_api import AdminApiRequest, organization
from accounts.models import Organization
from billing import money, reports
from billing.api.reports import (
    CacheCreation,
    ServerToolUse,
    bucket_starts,
    usage_counts,
)
from billing.models import ContextWindow, ServiceTier, Speed
from console.pagination import TokenPagination
from console.schemas import InputTime, Out, SafeText, Timestamp, choices
from workspaces.models import ROUTABLE_INFERENCE_GEOS, Workspace

router = Router(tags=["Analytics"])

MAX_RANGE = timedelta(days=31)
MAX_MINUTE_RANGE = timedelta(hours=24)
# Buckets per page of the Enterprise reports for each width: (default, most).
BUCKET_LIMITS = {"1m": (60, 256), "1h": (24, 168), "1d": (7, 31)}

# The dimensions Console's usage has (the engine's names), and those it has none of.
USAGE_DIMENSIONS = ("model", "context_window", "inference_geo", "speed")
ENTERPRISE_ABSENT = (
    "claude_tag_category",
    "claude_tag_user_id",
    "product",
    "rbac_group_id",
    "slack_channel_id",
)
ANALYTICS_ABSENT = (
    "agent_id",
    "claude_tag_category",
    "claude_tag_user_id",
    "deployment_id",
    "environment_id",
    "organization_id",
    "rbac_group_id",
    "session_id",
    "slack_channel_id",
    "user_profile_id",
)
# The cost engine breaks costs out by workspace and by model, token kind, tier, context
# window and geo; not by key (nor so by actor) or speed.
COST_DIMENSIONS = ("cost_type", "token_type", "model", "context_window", "inference_geo")
COST_UNSPLIT = ("actor", "actor_type", "api_key_id", "speed")
ACTOR, ACTOR_TYPE, API_KEY, PRODUCT, WORKSPACE = (
    "actor",
    "actor_type",
    "api_key_id",
    "product",
    "workspace_id",
)
MESSAGES_API = "messages_api"  # the product all of Console's usage is
USER_ACTOR, API_ACTOR = "user_actor", "api_actor"
ACTOR_TYPES = (API_ACTOR, "federated_actor", "service_account_actor", USER_ACTOR)
ORDERS = ("asc", "desc")
USAGE_ORDERS = ("total_tokens", "output_tokens", "requests", "uncached_input_tokens")
COST_ORDERS = ("amount", "list_amount")
TIME = "time"

if TYPE_CHECKING:
    BucketWidth = str
    Geo = str
    GeoFilter = str
    Tier = str
    Window = str
    SpeedValue = str
    EnterpriseUsageGroup = str
    EnterpriseCostGroup = str
    AnalyticsUsageGroup = str
    AnalyticsCostGroup = str
    ActorType = str
    CreditedActorType = str
    Order = str
    UsageOrder = str
    CostOrder = str
    UserOrder = str
else:
    BucketWidth = choices(reports.BUCKET_WIDTHS)
    Geo = choices(ROUTABLE_INFERENCE_GEOS)
    GeoFilter = choices([*ROUTABLE_INFERENCE_GEOS, reports.NOT_AVAILABLE])
    Tier = choices(ServiceTier)
    Window = choices(ContextWindow)
    SpeedValue = choices(Speed)
    EnterpriseUsageGroup = choices([*USAGE_DIMENSIONS, *ENTERPRISE_ABSENT])
    EnterpriseCostGroup = choices([*COST_DIMENSIONS, "speed", *ENTERPRISE_ABSENT])
    AnalyticsUsageGroup = choices(
        (
            ACTOR,
            ACTOR_TYPE,
            API_KEY,
            PRODUCT,
            WORKSPACE,
            "service_tier",
            *USAGE_DIMENSIONS,
            *ANALYTICS_ABSENT,
        )
    )
    AnalyticsCostGroup = choices(
        (*COST_UNSPLIT, PRODUCT, WORKSPACE, "service_tier", *COST_DIMENSIONS, *ANALYTICS_ABSENT)
    )
    ActorType = choices(ACTOR_TYPES)
    CreditedActorType = choices([USER_ACTOR, API_ACTOR])  # the kinds Console's usage has
    Order = choices(ORDERS)
    UsageOrder = choices([*USAGE_ORDERS, TIME])
    CostOrder = choices([*COST_ORDERS, TIME])
    UserOrder = choices(USAGE_ORDERS)


def _refused(field: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _step(width: str) -> timedelta:
    return reports.BUCKET_WIDTHS[width][0]


def _default_end(starting_at: datetime) -> datetime:
    """Without `ending_at`: the earlier of now and 31 days after `starting_at`."""
    return min(timezone.now(), starting_at + MAX_RANGE)


def _check_range(starting_at: datetime, ending_at: datetime, width: str | None) -> None:
    if ending_at <= starting_at:
        raise _refused("ending_at", "ending_at must be after starting_at.")
    if ending_at - starting_at > MAX_RANGE:
        raise _refused("ending_at", "The range may span at most 31 days.")
    if width == "1m" and ending_at - starting_at > MAX_MINUTE_RANGE:
        raise _refused("ending_at", "With minute buckets the range may span at most 24 hours.")


def _counts(result: reports.UsageResult) -> dict[str, Any]:
    counts = usage_counts(result)
    return {
        **counts,
        "requests": result.requests,
        "total_tokens": sum(result.tokens.values()),
    }


# -- The Enterprise reports: usage and cost by time bucket ----------------------------------


class EnterpriseFilters(Schema):
    starting_at: InputTime
    ending_at: InputTime | None = None
    models: list[SafeText] = Field([], alias="models[]")
    context_windows: list[Window] = Field([], alias="context_windows[]")
    inference_geos: list[GeoFilter] = Field([], alias="inference_geos[]")
    speeds: list[SpeedValue] = Field([], alias="speeds[]")
    user_ids: list[SafeText] = Field(
        [], alias="user_ids[]", description="Members: the usage of the API keys they created."
    )
    products: list[SafeText] = Field(
        [], alias="products[]", description="Console's usage is no claude.ai surface's."
    )
    rbac_group_ids: list[SafeText] = Field([], alias="rbac_group_ids[]")
    slack_channel_ids: list[SafeText] = Field([], alias="slack_channel_ids[]")
    claude_tag_categories: list[SafeText] = Field([], alias="claude_tag_categories[]")
    claude_tag_user_ids: list[SafeText] = Field([], alias="claude_tag_user_ids[]")

    def matches_nothing(self) -> bool:
        return bool(
            self.products
            or self.rbac_group_ids
            or self.slack_channel_ids
            or self.claude_tag_categories
            or self.claude_tag_user_ids
        )

    def engine_filters(self) -> reports.BucketFilters:
        return reports.BucketFilters(
            models=tuple(self.models),
            context_windows=tuple(self.context_windows),
            inference_geos=tuple(self.inference_geos),
            speeds=tuple(self.speeds),
            account_ids=tuple(self.user_ids),
        )


class EnterpriseReportQuery(EnterpriseFilters):
    bucket_width: BucketWidth = "1d"
    page: SafeText | None = None
    limit: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Buckets per page. 1d: 7 by default, at most 31; 1h: 24, at most 168; "
        "1m: 60, at most 256.",
    )

    @model_validator(mode="after")
    def _limit_in_range(self) -> "EnterpriseReportQuery":
        _default, most = BUCKET_LIMITS[self.bucket_width]
        if self.limit is not None and self.limit > most:
            raise ValueError(f"limit: at most {most} buckets of {self.bucket_width}.")
        return self

    def page_of_buckets(self) -> tuple[list[datetime], str | None]:
        width = self.bucket_width
        ending_at = self.ending_at or _default_end(self.starting_at)
        _check_range(reports.floor_to_bucket(self.starting_at, width), ending_at, width)
        limit = self.limit or BUCKET_LIMITS[width][0]
        return bucket_starts(width, self.starting_at, ending_at, self.page, limit)


class EnterpriseUsageQuery(EnterpriseReportQuery):
    group_by: list[EnterpriseUsageGroup] = Field([], alias="group_by[]")


class EnterpriseCostQuery(EnterpriseReportQuery):
    group_by: list[EnterpriseCostGroup] = Field([], alias="group_by[]")


class EnterpriseUsageResultOut(Out):
    uncached_input_tokens: int
    cache_creation: CacheCreation
    cache_read_input_tokens: int
    output_tokens: int
    server_tool_use: ServerToolUse
    requests: int | None
    model: str | None
    context_window: Window | None
    inference_geo: Geo | None
    speed: SpeedValue | None
    product: str | None
    rbac_group_id: str | None
    slack_channel_id: str | None
    claude_tag_category: str | None
    claude_tag_user_id: str | None


class EnterpriseUsageBucketOut(Out):
    starting_at: Timestamp
    ending_at: Timestamp
    results: list[EnterpriseUsageResultOut]


class EnterpriseUsageReportOut(Out):
    data: list[EnterpriseUsageBucketOut]
    has_more: bool
    next_page: str | None


def _enterprise_usage_result(result: reports.UsageResult) -> dict[str, Any]:
    counts = _counts(result)
    counts.pop("total_tokens")
    return {
        **counts,
        **{name: result.dimensions[name] for name in USAGE_DIMENSIONS},
        **dict.fromkeys(ENTERPRISE_ABSENT),
    }


@router.get(
    "/analytics/usage_report",
    response=EnterpriseUsageReportOut,
    summary="Token usage by time bucket (the Claude Enterprise usage report)",
    by_alias=False,
)
def analytics_usage_report(request: AdminApiRequest, query: Query[EnterpriseUsageQuery]):
    starts, next_page = query.page_of_buckets()
    step = _step(query.bucket_width)
    if query.matches_nothing():
        buckets: list[tuple[datetime, list[reports.UsageResult]]] = [(s, []) for s in starts]
    else:
        buckets = reports.usage_buckets(
            reports.BucketQuery(
                organization=organization(request),
                width=query.bucket_width,
                starts=starts,
                group_by=tuple(
                    name for name in dict.fromkeys(query.group_by) if name in USAGE_DIMENSIONS
                ),
                filters=query.engine_filters(),
            )
        )
    return {
        "data": [
            {
                "starting_at": start,
                "ending_at": start + step,
                "results": [_enterprise_usage_result(result) for result in results],
            }
            for start, results in buckets
        ],
        "has_more": next_page is not None,
        "next_page": next_page,
    }


class EnterpriseCostResultOut(Out):
    currency: Literal["USD"] = "USD"
    amount: str = Field(description="Cents, exact (fractions of a cent included).")
    list_amount: str = Field(description="The same as amount: Console gives no discounts.")
    requests: int | None = Field(description="Null: read requests from the usage report.")
    cost_type: Literal["tokens", "web_search"] | None
    token_type: str | None
    model: str | None
    context_window: Window | None
    inference_geo: Geo | None
    speed: SpeedValue | None
    product: str | None
    rbac_group_id: str | None
    slack_channel_id: str | None
    claude_tag_category: str | None
    claude_tag_user_id: str | None


class EnterpriseCostBucketOut(Out):
    starting_at: Timestamp
    ending_at: Timestamp
    results: list[EnterpriseCostResultOut]


class EnterpriseCostReportOut(Out):
    data: list[EnterpriseCostBucketOut]
    has_more: bool
    next_page: str | None


def _cost_dimension(result: reports.CostResult, name: str) -> str | None:
    """A cost result's value of one of `COST_DIMENSIONS`, or the workspace's id."""
    if name == "model":
        return result.model.api_name if result.model is not None else None
    if name == "token_type":
        return reports.TOKEN_TYPES[result.token_kind] if result.token_kind else None
    if name == "cost_type":
        return result.cost_type or (reports.TOKENS_COST if result.token_kind else None)
    if name == WORKSPACE:
        return result.workspace_id
    return result.dimensions.get(name)


def _cost_buckets(
    request: AdminApiRequest,
    *,
    width: str,
    starts: list[datetime],
    group_by: Iterable[str],
    filters: reports.BucketFilters,
) -> list[tuple[datetime, list[reports.CostResult]]]:
    """The engine's cost buckets, broken out finely enough for `group_by`."""
    wanted = set(group_by)
    refused = wanted & set(COST_UNSPLIT)
    if refused:
        raise _refused(
            "group_by",
            f"Console's costs are not broken out by {', '.join(sorted(refused))}; the usage "
            "reports are.",
            "unsupported_group_by",
        )
    engine_groups = []
    if WORKSPACE in wanted:
        engine_groups.append("workspace_id")
    if wanted & set(COST_DIMENSIONS) or "service_tier" in wanted:
        engine_groups.append("description")
    return reports.cost_buckets(
        reports.BucketQuery(
            organization=organization(request),
            width=width,
            starts=starts,
            group_by=tuple(engine_groups),
            filters=filters,
        )
    )


@router.get(
    "/analytics/cost_report",
    response=EnterpriseCostReportOut,
    summary="Cost by time bucket (the Claude Enterprise cost report)",
    description="Costs are not broken out by speed.",
    by_alias=False,
)
def analytics_cost_report(request: AdminApiRequest, query: Query[EnterpriseCostQuery]):
    group_by = list(dict.fromkeys(query.group_by))
    dimensions = [name for name in group_by if name in COST_DIMENSIONS]
    starts, next_page = query.page_of_buckets()
    if query.matches_nothing():
        buckets: list[tuple[datetime, list[reports.CostResult]]] = [(s, []) for s in starts]
    else:
        buckets = _cost_buckets(
            request,
            width=query.bucket_width,
            starts=starts,
            group_by=group_by,
            filters=query.engine_filters(),
        )
    data = []
    for start, results in buckets:
        totals = reports.regroup_cost(
            (tuple(_cost_dimension(result, name) for name in dimensions), result)
            for result in results
        )
        rows = []
        for values, amount in totals.items():
            cents = money.cents_text(amount)
            grouped = dict(zip(dimensions, values, strict=True))
            rows.append(
                {
                    "amount": cents,
                    "list_amount": cents,
                    "requests": None,
                    **{name: grouped.get(name) for name in COST_DIMENSIONS},
                    "speed": None,
                    **dict.fromkeys(ENTERPRISE_ABSENT),
                }
            )
        data.append(
            {"starting_at": start, "ending_at": start + _step(query.bucket_width), "results": rows}
        )
    return {"data": data, "has_more": next_page is not None, "next_page": next_page}


# -- The Usage and Cost Analytics API: rows by group, ranked --------------------------------


class AnalyticsFilters(Schema):
    starting_at: InputTime
    ending_at: InputTime | None = None
    time_bucket_width: BucketWidth | None = None
    order: Order = "desc"
    exclude_deleted_users: bool = False
    actor_ids: list[SafeText] = Field(
        [], alias="actor_ids[]", description="user_… (a member's keys) or apikey_… ids."
    )
    actor_types: list[ActorType] = Field([], alias="actor_types[]")
    api_key_ids: list[SafeText] = Field([], alias="api_key_ids[]")
    workspace_ids: list[SafeText] = Field([], alias="workspace_ids[]")
    models: list[SafeText] = Field([], alias="models[]")
    service_tiers: list[Tier] = Field([], alias="service_tiers[]")
    context_windows: list[Window] = Field([], alias="context_windows[]")
    inference_geos: list[GeoFilter] = Field([], alias="inference_geos[]")
    speeds: list[SpeedValue] = Field([], alias="speeds[]")
    products: list[SafeText] = Field(
        [], alias="products[]", description="All of Console's usage is messages_api."
    )
    agent_ids: list[SafeText] = Field([], alias="agent_ids[]")
    claude_tag_categories: list[SafeText] = Field([], alias="claude_tag_categories[]")
    claude_tag_user_ids: list[SafeText] = Field([], alias="claude_tag_user_ids[]")
    deployment_ids: list[SafeText] = Field([], alias="deployment_ids[]")
    environment_ids: list[SafeText] = Field([], alias="environment_ids[]")
    organization_ids: list[SafeText] = Field([], alias="organization_ids[]")
    rbac_group_ids: list[SafeText] = Field([], alias="rbac_group_ids[]")
    session_ids: list[SafeText] = Field([], alias="session_ids[]")
    slack_channel_ids: list[SafeText] = Field([], alias="slack_channel_ids[]")
    user_profile_ids: list[SafeText] = Field([], alias="user_profile_ids[]")

    @model_validator(mode="after")
    def _checks(self) -> "AnalyticsFilters":
        group_by = getattr(self, "group_by", [])
        if len(set(group_by)) > 5:
            raise ValueError("group_by: at most 5 dimensions.")
        if self.time_bucket_width is not None and self.ending_at is None:
            raise ValueError("ending_at: required with time_bucket_width.")
        if self.exclude_deleted_users and ACTOR not in group_by:
            raise ValueError("exclude_deleted_users: needs group_by[]=actor.")
        return self

    def matches_nothing(self) -> bool:
        return bool(
            (self.products and MESSAGES_API not in self.products)
            or self.agent_ids
            or self.claude_tag_categories
            or self.claude_tag_user_ids
            or self.deployment_ids
            or self.environment_ids
            or self.organization_ids
            or self.rbac_group_ids
            or self.session_ids
            or self.slack_channel_ids
            or self.user_profile_ids
            or (self.actor_types and not {USER_ACTOR, API_ACTOR} & set(self.actor_types))
        )

    def buckets(self) -> tuple[str, list[datetime]]:
        """The width and starts of the buckets the report covers: of `time_bucket_width`,
        else the range's whole hours (as days where it can)."""
        width = self.time_bucket_width
        if width is not None:
            assert self.ending_at is not None  # the validator asked for it
            start = reports.floor_to_bucket(self.starting_at, width)
            _check_range(start, self.ending_at, width)
            starts = []
            moment = start
            while moment < self.ending_at:
                starts.append(moment)
                moment += _step(width)
            return width, starts
        ending_at = self.ending_at or _default_end(self.starting_at)
        _check_range(self.starting_at, ending_at, None)
        # Without time buckets, the range's whole hours.
        return reports.range_buckets(
            reports.floor_to_bucket(self.starting_at, "1h"),
            reports.floor_to_bucket(ending_at, "1h"),
        )

    def engine_filters(self, **narrower: tuple[str, ...]) -> reports.BucketFilters:
        """The engine's filters of this query, some replaced by `narrower` ones."""
        filters: dict[str, tuple[str, ...]] = {
            "workspace_ids": tuple(self.workspace_ids),
            "api_key_ids": tuple(self.api_key_ids),
            "models": tuple(self.models),
            "service_tiers": tuple(self.service_tiers),
            "context_windows": tuple(self.context_windows),
            "inference_geos": tuple(self.inference_geos),
            "speeds": tuple(self.speeds),
        }
        return reports.BucketFilters(**{**filters, **narrower})


class AnalyticsUsageQuery(AnalyticsFilters):
    group_by: list[AnalyticsUsageGroup] = Field([], alias="group_by[]")
    order_by: UsageOrder = "total_tokens"


class AnalyticsCostQuery(AnalyticsFilters):
    group_by: list[AnalyticsCostGroup] = Field([], alias="group_by[]")
    order_by: CostOrder = "amount"


class ReportUserActor(Out):
    type: Literal["user_actor"] = "user_actor"
    user_id: str
    email_address: str | None
    name: str | None
    deleted: bool


class ApiActor(Out):
    type: Literal["api_actor"] = "api_actor"
    api_key_id: str


class AnalyticsGroupFields(Out):
    actor: Annotated[ReportUserActor | ApiActor, Field(discriminator="type")] | None
    actor_type: CreditedActorType | None
    api_key_id: str | None
    workspace_id: str | None
    model: str | None
    service_tier: Tier | None
    context_window: Window | None
    inference_geo: Geo | None
    product: str | None
    agent_id: str | None
    claude_tag_category: str | None
    claude_tag_user_id: str | None
    deployment_id: str | None
    environment_id: str | None
    organization_id: str | None
    rbac_group_id: str | None
    session_id: str | None
    slack_channel_id: str | None
    user_profile_id: str | None


class AnalyticsUsageGroupOut(AnalyticsGroupFields):
    speed: SpeedValue | None


class AnalyticsCostGroupOut(AnalyticsGroupFields):
    speed: SpeedValue | None
    cost_type: Literal["tokens", "web_search"] | None
    token_type: str | None


class UsageMetrics(Out):
    uncached_input_tokens: int
    cache_creation: CacheCreation
    cache_read_input_tokens: int
    output_tokens: int
    server_tool_use: ServerToolUse
    requests: int | None
    total_tokens: int


class CostMetrics(Out):
    currency: Literal["USD"] = "USD"
    amount: str = Field(description="Cents, exact (fractions of a cent included).")
    list_amount: str = Field(description="The same as amount: Console gives no discounts.")
    requests: int | None = Field(description="Null: read requests from the usage report.")


class AnalyticsUsageItem(Out):
    starting_at: Timestamp
    ending_at: Timestamp
    group: AnalyticsUsageGroupOut
    usage: UsageMetrics


class AnalyticsCostItem(Out):
    starting_at: Timestamp
    ending_at: Timestamp
    group: AnalyticsCostGroupOut
    cost: CostMetrics


class _Actors:
    """Whom the usage of each of a report's API keys is credited to, read once (one
    query)."""

    def __init__(self, org: Organization, results: Iterable[reports.UsageResult]) -> None:
        self.keys = reports.key_actors(
            org, {key for r in results if (key := r.dimensions.get(API_KEY))}
        )

    def of(self, api_key_id: str | None) -> tuple | None:
        """A hashable actor: ("user_actor", user id, email, name, deleted) or
        ("api_actor", key id)."""
        key = self.keys.get(api_key_id or "")
        if key is None:
            return None
        if key.user is not None:
            user = key.user
            return (USER_ACTOR, user.public_id, user.email, user.name or None, not key.is_member)
        return (API_ACTOR, key.api_key_id)


def _actor_out(actor: tuple | None) -> dict | None:
    if actor is None:
        return None
    if actor[0] == USER_ACTOR:
        _kind, user_id, email, name, deleted = actor
        return {
            "type": USER_ACTOR,
            "user_id": user_id,
            "email_address": email,
            "name": name,
            "deleted": deleted,
        }
    return {"type": API_ACTOR, "api_key_id": actor[1]}


def _actor_wanted(query: AnalyticsFilters, actor: tuple | None) -> bool:
    if actor is None:
        return False
    if query.actor_types and actor[0] not in query.actor_types:
        return False
    if query.actor_ids and actor[1] not in query.actor_ids:
        return False
    return not (query.exclude_deleted_users and actor[0] == USER_ACTOR and actor[4])


def _default_workspace_id(org: Organization) -> str | None:
    return (
        Workspace.objects.filter(organization=org, is_default=True)
        .values_list("public_id", flat=True)
        .first()
    )


def _ranked(rows: list[dict], *, metric: str, section: str, order: str, by_time: bool) -> list:
    """Rows ranked by `metric` (of `section`), or by time bucket then total tokens; ties in
    a fixed order, so pages do not shift."""
    descending = order == "desc"
    rows.sort(key=lambda row: repr(sorted(row["group"].items())))

    def amount(row: dict) -> Decimal:
        value = row[section][metric]
        return Decimal(value) if value is not None else Decimal(-1)

    if by_time:
        rows.sort(key=lambda row: row[section].get("total_tokens", amount(row)), reverse=True)
        rows.sort(key=lambda row: row["starting_at"], reverse=descending)
    else:
        rows.sort(key=amount, reverse=descending)
    return rows


@router.get(
    "/analytics/usage",
    response=list[AnalyticsUsageItem],
    summary="Token usage by any grouping, ranked (the Usage and Cost Analytics API)",
    by_alias=False,
)
@paginate(TokenPagination)
def analytics_usage(request: AdminApiRequest, query: Query[AnalyticsUsageQuery]) -> list[dict]:
    org = organization(request)
    width, starts = query.buckets()
    if not starts or query.matches_nothing():
        return []
    group_by = list(dict.fromkeys(query.group_by))
    by_actor = bool(
        {ACTOR, ACTOR_TYPE} & set(group_by)
        or query.actor_ids
        or query.actor_types
        or query.exclude_deleted_users
    )
    engine_groups = tuple(
        name for name in reports.USAGE_GROUPS if name in group_by or (name == API_KEY and by_actor)
    )
    buckets = reports.usage_buckets(
        reports.BucketQuery(
            organization=org,
            width=width,
            starts=starts,
            group_by=engine_groups,
            filters=query.engine_filters(),
        )
    )
    actors = _Actors(org, (r for _start, results in buckets for r in results))
    default_workspace = _default_workspace_id(org) if WORKSPACE in group_by else None
    step = _step(width)
    end = starts[-1] + step

    def keyed():
        for start, results in buckets:
            for result in results:
                actor = actors.of(result.dimensions.get(API_KEY)) if by_actor else None
                if by_actor and not _actor_wanted(query, actor):
                    continue
                values: dict[str, Any] = {name: result.dimensions.get(name) for name in group_by}
                if WORKSPACE in values:
                    values[WORKSPACE] = values[WORKSPACE] or default_workspace
                if ACTOR in values:
                    values[ACTOR] = actor
                if ACTOR_TYPE in values:
                    values[ACTOR_TYPE] = actor[0] if actor else None
                if PRODUCT in values:
                    values[PRODUCT] = MESSAGES_API
                bucket = start if query.time_bucket_width else None
                yield (bucket, *values.items()), result

    rows = []
    for (bucket, *items), total in reports.regroup_usage(keyed()).items():
        group: dict[str, Any] = dict.fromkeys(AnalyticsUsageGroupOut.model_fields)
        group.update(items)
        group[ACTOR] = _actor_out(group[ACTOR])
        rows.append(
            {
                "starting_at": bucket or starts[0],
                "ending_at": bucket + step if bucket else end,
                "group": group,
                "usage": _counts(total),
            }
        )
    return _ranked(
        rows,
        metric="total_tokens" if query.order_by == TIME else query.order_by,
        section="usage",
        order=query.order,
        by_time=query.order_by == TIME and query.time_bucket_width is not None,
    )


@router.get(
    "/analytics/cost",
    response=list[AnalyticsCostItem],
    summary="Cost by any grouping, ranked (the Usage and Cost Analytics API)",
    description="Costs are priced by day: time buckets are days, and costs are not broken "
    "out by actor, API key or speed (filtering by them is fine).",
    by_alias=False,
)
@paginate(TokenPagination)
def analytics_cost(request: AdminApiRequest, query: Query[AnalyticsCostQuery]) -> list[dict]:
    org = organization(request)
    width, starts = query.buckets()
    if not starts or query.matches_nothing():
        return []
    group_by = list(dict.fromkeys(query.group_by))
    if query.actor_types and not {USER_ACTOR, API_ACTOR} <= set(query.actor_types):
        raise _refused(
            "actor_types", "Console's costs are not broken out by actor.", "unsupported_filter"
        )
    users = [i for i in query.actor_ids if not i.startswith("apikey_")]
    keys = [i for i in query.actor_ids if i.startswith("apikey_")]
    if users and keys:
        raise _refused(
            "actor_ids",
            "Console's costs are not broken out by actor: give members or API keys.",
            "unsupported_filter",
        )
    if keys:
        # An API key's own usage: that of a key whose creator's account is gone.
        keys = [key for key, actor in reports.key_actors(org, keys).items() if actor.user is None]
        if not keys:
            return []
    buckets = _cost_buckets(
        request,
        width=width,
        starts=starts,
        group_by=group_by,
        filters=query.engine_filters(
            account_ids=tuple(users),
            api_key_ids=tuple(sorted(set(keys) & set(query.api_key_ids)))
            if keys and query.api_key_ids
            else tuple(keys or query.api_key_ids),
        ),
    )
    default_workspace = _default_workspace_id(org) if WORKSPACE in group_by else None
    step = _step(width)
    end = starts[-1] + step

    def keyed():
        for start, results in buckets:
            for result in results:
                values: dict[str, Any] = {}
                for name in group_by:
                    if name == PRODUCT:
                        values[name] = MESSAGES_API
                    elif name in ANALYTICS_ABSENT:
                        values[name] = None
                    else:
                        values[name] = _cost_dimension(result, name)
                if WORKSPACE in values:
                    values[WORKSPACE] = values[WORKSPACE] or default_workspace
                bucket = start if query.time_bucket_width else None
                yield (bucket, *values.items()), result

    rows = []
    for (bucket, *items), amount in reports.regroup_cost(keyed()).items():
        group: dict[str, Any] = dict.fromkeys(AnalyticsCostGroupOut.model_fields)
        group.update(items)
        cents = money.cents_text(amount)
        rows.append(
            {
                "starting_at": bucket or starts[0],
                "ending_at": bucket + step if bucket else end,
                "group": group,
                "cost": {"amount": cents, "list_amount": cents, "requests": None},
            }
        )
    return _ranked(
        rows,
        metric="amount" if query.order_by == TIME else query.order_by,
        section="cost",
        order=query.order,
        by_time=query.order_by == TIME and query.time_bucket_width is not None,
    )


# -- Usage per member ------------------------------------------------------------------------


class UserUsageQuery(EnterpriseFilters):
    bucket_width: BucketWidth | None = None
    group_by: list[EnterpriseUsageGroup] = Field([], alias="group_by[]")
    exclude_deleted_users: bool = False
    order: Order = "desc"
    order_by: UserOrder = "total_tokens"


class UserActor(Out):
    type: Literal["user_actor"] = "user_actor"
    user_id: str
    email_address: str | None
    name: str | None
    deleted: bool


class UserUsageItem(EnterpriseUsageResultOut):
    actor: UserActor
    starting_at: Timestamp | None
    ending_at: Timestamp | None
    total_tokens: int


@router.get(
    "/analytics/user_usage_report",
    response=list[UserUsageItem],
    summary="Token usage per member, ranked",
    description="A member's usage is that of the API keys they created.",
    by_alias=False,
)
@paginate(TokenPagination)
def analytics_user_usage_report(
    request: AdminApiRequest, query: Query[UserUsageQuery]
) -> list[dict]:
    org = organization(request)
    width = query.bucket_width
    ending_at = query.ending_at or _default_end(query.starting_at)
    _check_range(query.starting_at, ending_at, width)
    if width is not None:
        moment = reports.floor_to_bucket(query.starting_at, width)
        starts = []
        while moment < ending_at:
            starts.append(moment)
            moment += _step(width)
    else:
        width, starts = reports.range_buckets(
            reports.floor_to_bucket(query.starting_at, "1h"),
            reports.floor_to_bucket(ending_at, "1h"),
        )
    if not starts or query.matches_nothing():
        return []
    dimensions = [name for name in dict.fromkeys(query.group_by) if name in USAGE_DIMENSIONS]
    buckets = reports.usage_buckets(
        reports.BucketQuery(
            organization=org,
            width=width,
            starts=starts,
            group_by=(API_KEY, *dimensions),
            filters=query.engine_filters(),
        )
    )
    actors = _Actors(org, (r for _start, results in buckets for r in results))
    step = _step(width)

    def keyed():
        for start, results in buckets:
            for result in results:
                actor = actors.of(result.dimensions[API_KEY])
                if actor is None or actor[0] != USER_ACTOR:
                    continue  # usage no member is credited with
                if query.exclude_deleted_users and actor[4]:
                    continue
                bucket = start if query.bucket_width else None
                yield (bucket, actor, *(result.dimensions[name] for name in dimensions)), result

    rows = []
    for (bucket, actor, *values), total in reports.regroup_usage(keyed()).items():
        grouped = dict(zip(dimensions, values, strict=True))
        rows.append(
            {
                **_counts(total),
                "actor": _actor_out(actor),
                "starting_at": bucket,
                "ending_at": bucket + step if bucket else None,
                **{name: grouped.get(name) for name in USAGE_DIMENSIONS},
                **dict.fromkeys(ENTERPRISE_ABSENT),
            }
        )
    descending = query.order == "desc"
    rows.sort(key=lambda row: (row["actor"]["user_id"], repr(row["starting_at"])))
    rows.sort(key=lambda row: row[query.order_by], reverse=descending)
    return rows
