"""Reads about limits and spend. Each function is a fixed number of queries, whatever the
number of model groups, workspaces or usage rows."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import Organization
from billing import usage
from billing.models import (
    Limiter,
    ModelGroup,
    OrganizationLimits,
    OrganizationRateLimit,
    SpendNotification,
    TierLimit,
    UsageTier,
    WorkspaceRateLimit,
    WorkspaceSpendLimit,
)
from workspaces.models import Workspace

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
    def spend_limit_source(self) -> str:
        if self.workspace_spend_limit_cents is not None and (
            self.organization_spend_limit_cents is None
            or self.workspace_spend_limit_cents <= self.organization_spend_limit_cents
        ):
            return SOURCE_WORKSPACE
        if self.settings.spend_limit_cents is not None and (
            self.settings.spend_cap_cents is None
            or self.settings.spend_limit_cents <= self.settings.spend_cap_cents
        ):
            return "organization"
        return SOURCE_TIER

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
    return UsageTier.objects.order_by("position").first()


def organization_settings(organization: Organization) -> OrganizationSettings:
    """The organization's tier, cap and spend limit (the first tier when none is stored)."""
    stored = (
        OrganizationLimits.objects.select_related("tier").filter(organization=organization).first()
    )
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
    organization: Organization, workspace: Workspace | None = None, now=None
) -> Decimal:
    return usage.month_to_date_spend(organization, workspace, now=now)


def organization_effective_limits(organization: Organization, now=None) -> EffectiveLimits:
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


def effective_limits(workspace: Workspace, now=None) -> EffectiveLimits:
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
