"""Reads about limits and spend. Each function is a fixed number of queries, whatever the
number of model groups, workspaces or usage rows."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Protocol

from django.db.models import Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from accounts.models import Organization, OrganizationMember
from billing import usage
from billing.models import (
    Limiter,
    ModelGroup,
    OrganizationLimits,
    OrganizationRateLimit,
    RollupCursor,
    SpendLimitIncreaseRequest,
    SpendLimitScope,
    SpendNotification,
    TierLimit,
    UsageDaily,
    UsageRecord,
    UsageTier,
    WorkspaceRateLimit,
    WorkspaceSpendLimit,
)
from workspaces.models import ApiKey, Workspace

SOURCE_WORKSPACE = "workspace"
SOURCE_TIER = "organization tier"
SOURCE_OVERRIDE = "staff override"


def month_start(now: datetime | None = None) -> date:
    """The first day of the current calendar month in UTC."""
    return (now or timezone.now()).astimezone(UTC).date().replace(day=1)


@dataclass(frozen=True)
class RateLimitRow:
    model_group: ModelGroup
    limiter: str
    organization_value: int
    organization_source: str
    workspace_value: int | None = None

    @property
    def key(self) -> str:
        """Names the row in pages and forms: "sonnet-4:requests_per_minute"."""
        return f"{self.model_group.slug}:{self.limiter}"

    @property
    def limiter_label(self) -> str:
        return Limiter(self.limiter).label

    @property
    def value(self) -> int:
        """The limit in force: the smaller of the workspace's and the organization's."""
        if self.workspace_value is None:
            return self.organization_value
        return min(self.workspace_value, self.organization_value)

    @property
    def source(self) -> str:
        if self.workspace_value is not None and self.workspace_value <= self.organization_value:
            return SOURCE_WORKSPACE
        return self.organization_source

    @property
    def above_organization(self) -> bool:
        """The workspace's own value exceeds the organization's (which then applies)."""
        return self.workspace_value is not None and self.workspace_value > self.organization_value


@dataclass(frozen=True)
class OrganizationSettings:
    tier: UsageTier
    spend_cap_cents: int | None  # the tier's cap, or the staff's custom cap; None: no cap
    spend_limit_cents: int | None  # set by the organization's admins

    @property
    def effective_spend_limit_cents(self) -> int | None:
        limits = [v for v in (self.spend_cap_cents, self.spend_limit_cents) if v is not None]
        return min(limits) if limits else None


@dataclass(frozen=True)
class EffectiveLimits:
    """The limits in force for a workspace (or, with `workspace` None, the organization)."""

    organization: Organization
    settings: OrganizationSettings
    rate_limits: list[RateLimitRow]
    month_to_date_spend_cents: Decimal
    workspace: Workspace | None = None
    workspace_spend_limit_cents: int | None = None
    notifications: list[SpendNotification] = field(default_factory=list)

    @property
    def organization_spend_limit_cents(self) -> int | None:
        return self.settings.effective_spend_limit_cents

    @property
    def spend_limit_cents(self) -> int | None:
        """The spend limit in force: the workspace's if set and lower, else the organization's."""
        limits = [
            v
            for v in (self.workspace_spend_limit_cents, self.organization_spend_limit_cents)
            if v is not None
        ]
        return min(limits) if limits else None

    @property
    def spend_over_limit_cents(self) -> Decimal | None:
        """How far spend this month is above the limit in force (requests that reported more
        usage than they reserved), or None."""
        limit = self.spend_limit_cents
        if limit is None or self.month_to_date_spend_cents <= limit:
            return None
        return self.month_to_date_spend_cents - limit

    @property
    def spend_above_organization(self) -> bool:
        return (
            self.workspace_spend_limit_cents is not None
            and self.organization_spend_limit_cents is not None
            and self.workspace_spend_limit_cents >= self.organization_spend_limit_cents
        )

    def rate_limit(self, model_group_id: int, limiter: str) -> RateLimitRow | None:
        for row in self.rate_limits:
            if row.model_group.pk == model_group_id and row.limiter == limiter:
                return row
        return None

    @property
    def groups(self) -> list[tuple[ModelGroup, list[RateLimitRow]]]:
        """Rows grouped by model group, in catalog order (for tables)."""
        grouped: dict[int, tuple[ModelGroup, list[RateLimitRow]]] = {}
        for row in self.rate_limits:
            grouped.setdefault(row.model_group.pk, (row.model_group, []))[1].append(row)
        return list(grouped.values())


def default_tier() -> UsageTier:
    """The first usage tier, where organizations start (the catalog's data migration loads
    the tiers)."""
    return UsageTier.objects.earliest("position")


def organization_settings(organization: Organization) -> OrganizationSettings:
    """The organization's tier, cap and spend limit (the first tier when none is stored)."""
    return _settings(
        OrganizationLimits.objects.select_related("tier").filter(organization=organization).first()
    )


def _settings(stored: OrganizationLimits | None) -> OrganizationSettings:
    if stored is None:
        tier = default_tier()
        return OrganizationSettings(
            tier=tier, spend_cap_cents=tier.monthly_spend_cap_cents, spend_limit_cents=None
        )
    cap = (
        stored.custom_spend_cap_cents
        if stored.custom_spend_cap_cents is not None
        else stored.tier.monthly_spend_cap_cents
    )
    return OrganizationSettings(
        tier=stored.tier, spend_cap_cents=cap, spend_limit_cents=stored.spend_limit_cents
    )


def _organization_rate_limits(organization: Organization, tier: UsageTier) -> list[RateLimitRow]:
    groups = list(ModelGroup.objects.order_by("position", "name"))
    tier_values = {
        (limit.model_group_id, limit.limiter): limit.value
        for limit in TierLimit.objects.filter(tier=tier)
    }
    overrides = {
        (limit.model_group_id, limit.limiter): limit.value
        for limit in OrganizationRateLimit.objects.filter(organization=organization)
    }
    rows = []
    for group in groups:
        for limiter in Limiter.values:
            key = (group.pk, limiter)
            if key in overrides:
                rows.append(RateLimitRow(group, limiter, overrides[key], SOURCE_OVERRIDE))
            elif key in tier_values:
                rows.append(RateLimitRow(group, limiter, tier_values[key], SOURCE_TIER))
    return rows


def month_to_date_spend(
    organization: Organization, workspace: Workspace | None = None, now: datetime | None = None
) -> Decimal:
    return usage.month_to_date_spend(organization, workspace, now=now)


def rate_limit_groups(
    organization: Organization, workspace: Workspace | None = None
) -> list[tuple[ModelGroup, list[RateLimitRow]]]:
    """The rate limits in force by model group, of the organization or of `workspace`,
    without the spend figures of `effective_limits`. Four or five queries."""
    rows = _organization_rate_limits(organization, organization_settings(organization).tier)
    if workspace is not None:
        own = {
            (limit.model_group_id, limit.limiter): limit.value
            for limit in WorkspaceRateLimit.objects.filter(workspace=workspace)
        }
        rows = [
            RateLimitRow(
                row.model_group,
                row.limiter,
                row.organization_value,
                row.organization_source,
                own.get((row.model_group.pk, row.limiter)),
            )
            for row in rows
        ]
    grouped: dict[int, tuple[ModelGroup, list[RateLimitRow]]] = {}
    for row in rows:
        grouped.setdefault(row.model_group.pk, (row.model_group, []))[1].append(row)
    return list(grouped.values())


def organization_effective_limits(
    organization: Organization, now: datetime | None = None
) -> EffectiveLimits:
    settings = organization_settings(organization)
    return EffectiveLimits(
        organization=organization,
        settings=settings,
        rate_limits=_organization_rate_limits(organization, settings.tier),
        month_to_date_spend_cents=month_to_date_spend(organization, now=now),
        notifications=list(
            SpendNotification.objects.filter(
                organization=organization, workspace__isnull=True
            ).order_by("amount_cents")
        ),
    )


def effective_limits(workspace: Workspace, now: datetime | None = None) -> EffectiveLimits:
    """For each model group and limiter, the value in force for `workspace` and where it comes
    from; its spend limit and month-to-date spend. The Default workspace has no limits of
    its own: the organization's apply."""
    organization = workspace.organization
    settings = organization_settings(organization)
    rows = _organization_rate_limits(organization, settings.tier)
    own = {
        (limit.model_group_id, limit.limiter): limit.value
        for limit in WorkspaceRateLimit.objects.filter(workspace=workspace)
    }
    rows = [
        RateLimitRow(
            row.model_group,
            row.limiter,
            row.organization_value,
            row.organization_source,
            own.get((row.model_group.pk, row.limiter)),
        )
        for row in rows
    ]
    spend_limit = (
        WorkspaceSpendLimit.objects.filter(workspace=workspace)
        .values_list("amount_cents", flat=True)
        .first()
    )
    return EffectiveLimits(
        organization=organization,
        settings=settings,
        rate_limits=rows,
        month_to_date_spend_cents=month_to_date_spend(organization, workspace, now=now),
        workspace=workspace,
        workspace_spend_limit_cents=spend_limit,
        notifications=list(
            SpendNotification.objects.filter(workspace=workspace).order_by("amount_cents")
        ),
    )


def month_to_date_spend_by_workspace(
    organization: Organization, now: datetime | None = None
) -> dict[int, Decimal]:
    """Each workspace's spend this calendar month (UTC), exact like `month_to_date_spend`:
    the day rollups plus the records not rolled up yet. One query."""
    now = (now or timezone.now()).astimezone(UTC)
    start_day = month_start(now)
    spend: dict[int, Decimal] = defaultdict(Decimal)
    rolled = (
        UsageDaily.objects.filter(
            organization=organization, day__gte=start_day, day__lte=now.date()
        )
        .values_list("workspace_id")
        .annotate(total=Sum("cost_cents"))
        .order_by()
    )
    cursor = RollupCursor.objects.filter(pk=1).values("last_record_id")
    pending = (
        UsageRecord.objects.filter(
            organization=organization,
            id__gt=Coalesce(Subquery(cursor), 0),
            created_at__gte=datetime.combine(start_day, datetime.min.time(), tzinfo=UTC),
            created_at__lte=now,
        )
        .values_list("workspace_id")
        .annotate(total=Sum("cost_cents"))
        .order_by()
    )
    for workspace_id, total in rolled.union(pending, all=True):
        spend[workspace_id] += total
    return dict(spend)


# -- Spend limits as the Admin API's Spend Limits API names them -------------------------------

SPEND_LIMIT_PREFIX = "spendlimit_"
SCOPE_ORGANIZATION = SpendLimitScope.ORGANIZATION
SCOPE_WORKSPACE = SpendLimitScope.WORKSPACE
SCOPE_USAGE_TIER = SpendLimitScope.USAGE_TIER


@dataclass(frozen=True)
class SpendLimitEntry:
    """One monthly spend limit: the organization's own, a workspace's, or the usage tier's
    cap (read-only). Named by its scope, since there is one per scope and period."""

    scope_type: str
    organization: Organization
    amount_cents: int | None
    created_at: datetime
    updated_at: datetime
    workspace: Workspace | None = None

    @property
    def id(self) -> str:
        return spend_limit_id(self.scope_type, self.organization, self.workspace)


def spend_limit_id(
    scope_type: str, organization: Organization, workspace: Workspace | None = None
) -> str:
    if scope_type == SCOPE_WORKSPACE and workspace is not None:
        return f"{SPEND_LIMIT_PREFIX}{workspace.public_id}"
    if scope_type == SCOPE_USAGE_TIER:
        return f"{SPEND_LIMIT_PREFIX}tier_{organization.pk.hex}"
    return f"{SPEND_LIMIT_PREFIX}org_{organization.pk.hex}"


def _tier_entry(organization: Organization, settings: OrganizationSettings) -> SpendLimitEntry:
    return SpendLimitEntry(
        SCOPE_USAGE_TIER,
        organization,
        settings.spend_cap_cents,
        organization.created_at,
        organization.created_at,
    )


def spend_limits(organization: Organization) -> list[SpendLimitEntry]:
    """The organization's spend limits, newest first, the usage tier's cap last (their
    workspaces hold only their public id, name and whether they are the Default one). Two
    queries (three before the organization's limits are first stored)."""
    stored = (
        OrganizationLimits.objects.select_related("tier").filter(organization=organization).first()
    )
    settings = _settings(stored)
    entries = [
        SpendLimitEntry(
            SCOPE_WORKSPACE,
            organization,
            limit.amount_cents,
            limit.created_at,
            limit.updated_at,
            limit.workspace,
        )
        for limit in WorkspaceSpendLimit.objects.filter(workspace__organization=organization)
        .select_related("workspace")
        .only(
            "amount_cents",
            "created_at",
            "updated_at",
            "workspace__public_id",
            "workspace__name",
            "workspace__is_default",
        )
    ]
    if stored is not None and stored.spend_limit_cents is not None:
        entries.append(
            SpendLimitEntry(
                SCOPE_ORGANIZATION,
                organization,
                stored.spend_limit_cents,
                stored.spend_limit_created_at or organization.created_at,
                stored.spend_limit_updated_at or organization.created_at,
            )
        )
    entries.sort(key=lambda entry: entry.created_at, reverse=True)
    return [*entries, _tier_entry(organization, settings)]


def spend_limit_by_id(organization: Organization, limit_id: str) -> SpendLimitEntry | None:
    return next((entry for entry in spend_limits(organization) if entry.id == limit_id), None)


class ScopeWorkspace(Protocol):
    """What a spend limit's scope needs of its workspace: a `Workspace`, or a lighter row."""

    @property
    def pk(self) -> int: ...

    @property
    def public_id(self) -> str: ...


@dataclass(frozen=True)
class EffectiveSpendLimit:
    """The spend limit in force for one scope, where it comes from, and the scope's spend
    this month."""

    scope_type: str
    workspace: ScopeWorkspace | None
    source: SpendLimitEntry
    amount_cents: int | None
    month_to_date_spend_cents: Decimal


def effective_spend_limits(
    organization: Organization, workspaces: Sequence[ScopeWorkspace], now: datetime | None = None
) -> dict[int | None, EffectiveSpendLimit]:
    """The organization's effective spend limit (under None) and each of `workspaces`'s
    (by pk): the lowest of the workspace's own, the organization's and the tier's cap.
    Four queries, whatever the number of workspaces."""
    entries = spend_limits(organization)
    tier = entries[-1]
    own = next((e for e in entries if e.scope_type == SCOPE_ORGANIZATION), None)
    organization_source = (
        own
        if own is not None and (tier.amount_cents is None or own.amount_cents <= tier.amount_cents)  # type: ignore[operator]
        else tier
    )
    by_workspace = {e.workspace.pk: e for e in entries if e.workspace is not None}
    spend = month_to_date_spend_by_workspace(organization, now=now)
    effective: dict[int | None, EffectiveSpendLimit] = {
        None: EffectiveSpendLimit(
            SCOPE_ORGANIZATION,
            None,
            organization_source,
            organization_source.amount_cents,
            sum(spend.values(), Decimal(0)),
        )
    }
    for workspace in workspaces:
        source = organization_source
        limit = by_workspace.get(workspace.pk)
        if limit is not None and (
            source.amount_cents is None or limit.amount_cents <= source.amount_cents  # type: ignore[operator]
        ):
            source = limit
        effective[workspace.pk] = EffectiveSpendLimit(
            SCOPE_WORKSPACE,
            workspace,
            source,
            source.amount_cents,
            spend.get(workspace.pk, Decimal(0)),
        )
    return effective


# -- The reports' API key filter ----------------------------------------------------------

# How many keys the Usage and Cost pages list in their key filter; beyond it they search.
REPORT_KEY_CHOICES = 100


@dataclass(frozen=True)
class KeyChoices:
    keys: list[ApiKey]
    more: bool  # more keys match than are listed: search to find them


def report_key_choices(
    organization: Organization,
    *,
    workspaces: list[Workspace] | None,
    search: str = "",
    limit: int = REPORT_KEY_CHOICES,
) -> KeyChoices:
    """The API keys a report can be filtered by: the organization's, in `workspaces` (None:
    in any), deleted ones included (their usage stays), whose name, hint or ID contains
    `search`; by name, at most `limit` of them, with their workspaces. One query."""
    keys = ApiKey.objects.filter(organization=organization)
    if workspaces is not None:
        keys = keys.filter(workspace__in=[w.pk for w in workspaces])
    if search:
        keys = keys.filter(
            Q(name__icontains=search) | Q(hint__icontains=search) | Q(public_id__iexact=search)
        )
    listed = list(
        keys.select_related("workspace")
        .only(
            "public_id",
            "name",
            "hint",
            "status",
            "expires_at",
            "workspace__public_id",
            "workspace__name",
            "workspace__archived_at",
        )
        .order_by(Lower("name"), "public_id")[: limit + 1]
    )
    return KeyChoices(keys=listed[:limit], more=len(listed) > limit)


# -- Spend limit increase requests -----------------------------------------------------------


def increase_requests(
    organization: Organization,
    *,
    statuses: Iterable[str] = (),
    actor_ids: Iterable[str] = (),
) -> QuerySet[SpendLimitIncreaseRequest]:
    """The organization's increase requests, newest first, of the given statuses (by their
    `current_status`: a lapsed request is denied) and requesters (users' public ids).

    Only requests of people who are still members: a former member's request can no longer
    be answered usefully (the limit would be raised for no one), so it is left out wherever
    requests are listed or looked up."""
    requests = SpendLimitIncreaseRequest.objects.filter(
        organization=organization,
        requested_by__in=OrganizationMember.objects.filter(organization=organization).values(
            "user_id"
        ),
    ).select_related("workspace", "requested_by", "resolved_by")
    statuses = list(statuses)
    if statuses:
        requests = requests.with_status(statuses)
    actor_ids = list(actor_ids)
    if actor_ids:
        requests = requests.filter(requested_by__public_id__in=actor_ids)
    return requests.order_by("-public_id")
