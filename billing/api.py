"""Admin API: rate limits, spend limits (with their increase requests), spend notifications,
and the usage and cost reports.

Shapes follow the `anthropic` SDK's rate-limit and spend-limit types; the reports follow
Anthropic's usage and cost reports and read `billing.reports`, the engine of the pages.
Money is in cents as decimal strings. A workspace's `spend_limit` and `spend_notifications`
are beyond Anthropic's API.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any, Literal

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import model_validator

from accounts.admin_api import AdminApiRequest, actor, organization
from accounts.models import OrganizationMember
from accounts.permissions import effective_workspace_role
from billing import money, reports, selectors, services
from billing.models import (
    ContextWindow,
    IncreaseRequestStatus,
    Model,
    ModelGroup,
    ServiceTier,
    Speed,
    SpendLimitIncreaseRequest,
    SpendNotification,
)
from console.pagination import TokenPagination, token_page
from console.schemas import Body, InputTime, SafeText, Timestamp, choices
from console.validation import check_datetime, parse_date, parse_datetime
from workspaces.api import get_workspace
from workspaces.models import Workspace, WorkspaceMember

router = Router(tags=["Limits and reports"])

if TYPE_CHECKING:
    Tier = str
    Window = str
    SpeedValue = str
    IncreaseStatus = str
else:
    Tier = choices(ServiceTier)
    Window = choices(ContextWindow)
    SpeedValue = choices(Speed)
    IncreaseStatus = choices(IncreaseRequestStatus)

Cents = str  # a decimal string of cents: "5000" is $50.00
MONTHLY: Literal["monthly"] = "monthly"


# -- Rate limits ------------------------------------------------------------------------------


class RateLimitGroup(Schema):
    type: Literal["model_group"] = "model_group"
    id: str = Field(description="rlg_ and the model group's slug.")
    display_name: str


class RateLimitValue(Schema):
    type: str = Field(description="The limiter, as Anthropic's API names it.")
    value: int


class OrganizationRateLimitOut(Schema):
    type: Literal["rate_limit"] = "rate_limit"
    id: str = Field(description="The model group's slug, e.g. sonnet-4.")
    group: RateLimitGroup
    models: list[str] | None
    limits: list[RateLimitValue]


class LimitSource(Schema):
    type: Literal["workspace", "organization"]


class WorkspaceRateLimitValue(Schema):
    type: str
    value: int = Field(description="The limit in force.")
    org_limit: int | None
    source: LimitSource


class WorkspaceRateLimitOut(Schema):
    type: Literal["workspace_rate_limit"] = "workspace_rate_limit"
    rate_limit_id: str
    workspace_id: str
    group: RateLimitGroup
    models: list[str] | None
    limits: list[WorkspaceRateLimitValue]


class RateLimitChange(Body):
    type: SafeText = Field(
        description="requests_per_minute, input_tokens_per_minute (or "
        "input_tokens_per_minute_cache_aware) or output_tokens_per_minute; other types are "
        "refused."
    )
    value: int | None = Field(description="The workspace's limit; null resets it.")


class RateLimitUpdate(Body):
    limits: list[RateLimitChange] = Field(max_length=20)


def _group(group: ModelGroup) -> dict:
    return {"id": f"rlg_{group.slug}", "display_name": group.name}


def _models_by_group() -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for group_id, name in Model.objects.order_by("api_name").values_list("group_id", "api_name"):
        grouped.setdefault(group_id, []).append(name)
    return grouped


def _group_type_filter(group_type: str | None) -> bool:
    """Console limits model groups only: another group type lists nothing."""
    return group_type in (None, "model_group")


GroupType = Literal["batch", "files", "model_group", "skills", "token_count", "web_search"]


@router.get(
    "/rate_limits", response=list[OrganizationRateLimitOut], summary="The organization's limits"
)
@paginate(TokenPagination)
def organization_rate_limit_list(
    request: AdminApiRequest, group_type: GroupType | None = None, model: SafeText | None = None
) -> list[dict]:
    if not _group_type_filter(group_type):
        return []
    limits = selectors.organization_effective_limits(organization(request))
    models = _models_by_group()
    entries = []
    for group, rows in limits.groups:
        if model and model not in models.get(group.pk, []):
            continue
        entries.append(
            {
                "id": group.slug,
                "group": _group(group),
                "models": models.get(group.pk, []),
                "limits": [
                    {"type": services.limiter_type_name(row.limiter, group), "value": row.value}
                    for row in rows
                ],
            }
        )
    return entries


def _workspace_entries(
    workspace: Workspace, *, include_inherited: bool, group_type: str | None = None
) -> list[dict]:
    if not _group_type_filter(group_type):
        return []
    limits = selectors.effective_limits(workspace)
    models = _models_by_group()
    entries = []
    for group, rows in limits.groups:
        if not include_inherited and all(row.workspace_value is None for row in rows):
            continue
        entries.append(
            {
                "rate_limit_id": group.slug,
                "workspace_id": workspace.public_id,
                "group": _group(group),
                "models": models.get(group.pk, []),
                "limits": [
                    {
                        "type": services.limiter_type_name(row.limiter, group),
                        "value": row.value,
                        "org_limit": row.organization_value,
                        "source": {
                            "type": "workspace"
                            if row.source == selectors.SOURCE_WORKSPACE
                            else "organization"
                        },
                    }
                    for row in rows
                ],
            }
        )
    return entries


@router.get(
    "/workspaces/{workspace_id}/rate_limits",
    response=list[WorkspaceRateLimitOut],
    summary="A workspace's rate limits",
    description="The model groups where the workspace sets a limit of its own; with "
    "include_inherited=true, every model group.",
)
@paginate(TokenPagination)
def workspace_rate_limit_list(
    request: AdminApiRequest,
    workspace_id: str,
    include_inherited: bool = False,
    group_type: GroupType | None = None,
) -> list[dict]:
    return _workspace_entries(
        get_workspace(request, workspace_id),
        include_inherited=include_inherited,
        group_type=group_type,
    )


@router.post(
    "/workspaces/{workspace_id}/rate_limits/{rate_limit_id}",
    response=WorkspaceRateLimitOut,
    summary="Set or reset a workspace's limits of one model group",
    description="All the limits given change, or none: each at most the organization's.",
)
def workspace_rate_limit_update(
    request: AdminApiRequest, workspace_id: str, rate_limit_id: str, payload: RateLimitUpdate
):
    workspace = get_workspace(request, workspace_id)
    group = ModelGroup.objects.filter(slug=rate_limit_id.removeprefix("rlg_")).first()
    if group is None:
        raise Http404(f"No rate limit {rate_limit_id}.")
    services.workspace_rate_limits_update(
        actor=actor(request),
        workspace=workspace,
        model_group=group,
        limits=[(change.type, change.value) for change in payload.limits],
    )
    return next(
        entry
        for entry in _workspace_entries(workspace, include_inherited=True)
        if entry["rate_limit_id"] == group.slug
    )


# -- A workspace's spend limit and notifications (beyond Anthropic's API) -----------------------

DEPRECATED_DOLLARS = "Deprecated: dollars; read the *_cents field. Removed in the next release."


class WorkspaceSpendLimitOut(Schema):
    type: Literal["spend_limit"] = "spend_limit"
    workspace_id: str
    currency: Literal["USD"] = "USD"
    amount_cents: Cents | None = Field(description="The workspace's own monthly limit.")
    organization_limit_cents: Cents | None
    effective_cents: Cents | None = Field(description="The limit in force.")
    month_to_date_cents: Cents
    amount: str | None = Field(
        description=DEPRECATED_DOLLARS, json_schema_extra={"deprecated": True}
    )
    organization_limit: str | None = Field(
        description=DEPRECATED_DOLLARS, json_schema_extra={"deprecated": True}
    )
    effective: str | None = Field(
        description=DEPRECATED_DOLLARS, json_schema_extra={"deprecated": True}
    )
    month_to_date: str = Field(
        description=DEPRECATED_DOLLARS, json_schema_extra={"deprecated": True}
    )


class AmountChange(Body):
    """An amount in cents (`amount_cents`, a string of digits), or in the deprecated dollar
    field `amount`."""

    amount_cents: Cents | None = None
    amount: str | int | None = Field(
        None, description=DEPRECATED_DOLLARS, json_schema_extra={"deprecated": True}
    )

    @model_validator(mode="before")
    @classmethod
    def _one_amount(cls, data: Any) -> Any:
        if isinstance(data, dict) and "amount" in data and "amount_cents" in data:
            raise ValueError("Give amount_cents or amount, not both.")
        return data

    def cents(self) -> int | None:
        if "amount_cents" in self.model_fields_set and self.amount_cents is not None:
            return money.parse_cents(self.amount_cents, field="amount_cents")
        if "amount" in self.model_fields_set and self.amount is not None:
            return money.parse_dollars(self.amount)
        return None

    def is_given(self) -> bool:
        return bool({"amount_cents", "amount"} & self.model_fields_set)


def _cents(value: int | Decimal | None) -> str | None:
    return None if value is None else money.cents_text(value)


def _dollars(value: int | Decimal | None) -> str | None:
    return None if value is None else money.dollars_text(value)


def _workspace_spend_limit(workspace: Workspace) -> dict:
    limits = selectors.effective_limits(workspace)
    return {
        "workspace_id": workspace.public_id,
        "amount_cents": _cents(limits.workspace_spend_limit_cents),
        "organization_limit_cents": _cents(limits.organization_spend_limit_cents),
        "effective_cents": _cents(limits.spend_limit_cents),
        "month_to_date_cents": money.cents_text(limits.month_to_date_spend_cents),
        "amount": _dollars(limits.workspace_spend_limit_cents),
        "organization_limit": _dollars(limits.organization_spend_limit_cents),
        "effective": _dollars(limits.spend_limit_cents),
        "month_to_date": money.dollars_text(limits.month_to_date_spend_cents),
    }


@router.get(
    "/workspaces/{workspace_id}/spend_limit",
    response=WorkspaceSpendLimitOut,
    summary="A workspace's monthly spend limit",
)
def workspace_spend_limit_retrieve(request: AdminApiRequest, workspace_id: str):
    return _workspace_spend_limit(get_workspace(request, workspace_id))


@router.post(
    "/workspaces/{workspace_id}/spend_limit",
    response=WorkspaceSpendLimitOut,
    summary="Set or remove a workspace's monthly spend limit",
    description="`amount_cents` (null removes the limit) must be lower than the organization's.",
)
def workspace_spend_limit_set(request: AdminApiRequest, workspace_id: str, payload: AmountChange):
    if not payload.is_given():
        raise ValidationError(
            {"amount_cents": "Field required (null removes the limit)."}, code="missing"
        )
    workspace = get_workspace(request, workspace_id)
    services.workspace_spend_limit_set(
        actor=actor(request), workspace=workspace, amount_cents=payload.cents()
    )
    return _workspace_spend_limit(workspace)


class NotificationOut(Schema):
    type: Literal["spend_notification"] = "spend_notification"
    id: str = Field(description="The threshold in cents.")
    workspace_id: str
    currency: Literal["USD"] = "USD"
    amount_cents: Cents
    amount: str = Field(description=DEPRECATED_DOLLARS, json_schema_extra={"deprecated": True})


class NotificationDeleted(Schema):
    id: str
    type: Literal["spend_notification_deleted"] = "spend_notification_deleted"


def _notification(notification: SpendNotification, workspace: Workspace) -> dict:
    return {
        "id": str(notification.amount_cents),
        "workspace_id": workspace.public_id,
        "amount_cents": money.cents_text(notification.amount_cents),
        "amount": money.dollars_text(notification.amount_cents),
    }


@router.get(
    "/workspaces/{workspace_id}/spend_notifications",
    response=list[NotificationOut],
    summary="A workspace's spend notifications",
)
@paginate(TokenPagination)
def workspace_spend_notification_list(request: AdminApiRequest, workspace_id: str) -> list[dict]:
    workspace = get_workspace(request, workspace_id)
    return [
        _notification(notification, workspace)
        for notification in SpendNotification.objects.filter(workspace=workspace)
    ]


@router.post(
    "/workspaces/{workspace_id}/spend_notifications",
    response=NotificationOut,
    summary="Add a spend notification",
)
def workspace_spend_notification_add(
    request: AdminApiRequest, workspace_id: str, payload: AmountChange
):
    cents = payload.cents()
    if cents is None:
        raise ValidationError({"amount_cents": "Field required."}, code="missing")
    workspace = get_workspace(request, workspace_id)
    notification = services.spend_notification_add(
        actor=actor(request),
        organization=workspace.organization,
        workspace=workspace,
        amount_cents=cents,
    )
    return _notification(notification, workspace)


@router.delete(
    "/workspaces/{workspace_id}/spend_notifications/{notification_id}",
    response=NotificationDeleted,
    summary="Remove a spend notification",
)
def workspace_spend_notification_remove(
    request: AdminApiRequest, workspace_id: str, notification_id: str
):
    workspace = get_workspace(request, workspace_id)
    notification = (
        SpendNotification.objects.filter(workspace=workspace, amount_cents=int(notification_id))
        .select_related("workspace", "organization")
        .first()
        if notification_id.isascii() and notification_id.isdigit() and len(notification_id) < 19
        else None
    )
    if notification is None:
        raise Http404(f"No spend notification {notification_id}.")
    services.spend_notification_remove(actor=actor(request), notification=notification)
    return {"id": notification_id}


# -- The Spend Limits API ---------------------------------------------------------------------


class OrganizationScope(Schema):
    type: Literal["organization"] = "organization"


class WorkspaceScopeOut(Schema):
    type: Literal["workspace"] = "workspace"
    workspace_id: str


class UsageTierScope(Schema):
    type: Literal["usage_tier"] = "usage_tier"


Scope = OrganizationScope | WorkspaceScopeOut | UsageTierScope


class SpendLimitOut(Schema):
    type: Literal["spend_limit"] = "spend_limit"
    id: str
    amount: Cents | None = Field(description="Cents; null when there is no limit.")
    currency: Literal["USD"] = "USD"
    is_enabled: bool = True
    period: Literal["monthly"] = MONTHLY
    scope: Scope
    created_at: Timestamp
    updated_at: Timestamp


class SpendLimitDeleted(Schema):
    id: str
    type: Literal["spend_limit_deleted"] = "spend_limit_deleted"


class ScopeIn(Body):
    type: Literal["organization", "workspace"]
    workspace_id: SafeText | None = None

    @model_validator(mode="after")
    def _workspace_named(self) -> "ScopeIn":
        if (self.type == "workspace") != (self.workspace_id is not None):
            raise ValueError(
                "A workspace scope names its workspace_id; an organization scope none."
            )
        return self


class SpendLimitSet(Body):
    amount: Cents | None = Field(description="Cents as a string of digits.")
    scope: ScopeIn
    period: Literal["monthly"] = MONTHLY


class SpendLimitAmount(Body):
    amount: Cents | None


def _scope(entry: selectors.SpendLimitEntry) -> dict:
    if entry.workspace is not None:
        return {"type": "workspace", "workspace_id": entry.workspace.public_id}
    return {"type": entry.scope_type}


def _spend_limit(entry: selectors.SpendLimitEntry) -> dict:
    return {
        "id": entry.id,
        "amount": _cents(entry.amount_cents),
        "scope": _scope(entry),
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


def _spend_limit_entry(request: AdminApiRequest, spend_limit_id: str) -> selectors.SpendLimitEntry:
    entry = selectors.spend_limit_by_id(organization(request), spend_limit_id)
    if entry is None:
        raise Http404(f"No spend limit {spend_limit_id}.")
    return entry


def _set_spend_limit(
    request: AdminApiRequest, scope_type: str, workspace: Workspace | None, amount: str | None
) -> selectors.SpendLimitEntry:
    if amount is None:
        raise ValidationError(
            {"amount": "Console's spend limits always carry an amount; DELETE removes one."}
        )
    cents = money.parse_cents(amount)
    if scope_type == selectors.SCOPE_USAGE_TIER:
        raise ValidationError("The usage tier's cap is set by staff and cannot be changed here.")
    if workspace is not None:
        services.workspace_spend_limit_set(
            actor=actor(request), workspace=workspace, amount_cents=cents
        )
    else:
        services.organization_spend_limit_set(
            actor=actor(request), organization=organization(request), amount_cents=cents
        )
    return _spend_limit_entry(
        request, selectors.spend_limit_id(scope_type, organization(request), workspace)
    )


ScopeType = Literal[
    "organization",
    "organization_service",
    "rbac_group",
    "seat_tier",
    "usage_tier",
    "user",
    "workspace",
]
CONSOLE_SCOPES = {
    selectors.SCOPE_ORGANIZATION,
    selectors.SCOPE_WORKSPACE,
    selectors.SCOPE_USAGE_TIER,
}


@router.get("/spend_limits", response=list[SpendLimitOut], summary="List spend limits")
@paginate(TokenPagination)
def spend_limit_list(
    request: AdminApiRequest,
    scope_type: list[ScopeType] | None = Query(None, alias="scope_type[]"),
    workspace_id: SafeText | None = None,
) -> list[dict]:
    if scope_type and set(scope_type) - CONSOLE_SCOPES:
        raise ValidationError(
            {
                "scope_type": "Console's spend limits are of the organization, workspace and usage_tier scopes."
            }
        )
    entries = selectors.spend_limits(organization(request))
    if scope_type:
        entries = [entry for entry in entries if entry.scope_type in scope_type]
    if workspace_id:
        entries = [e for e in entries if e.workspace and e.workspace.public_id == workspace_id]
    return [_spend_limit(entry) for entry in entries]


@router.post(
    "/spend_limits",
    response=SpendLimitOut,
    summary="Set a spend limit",
    description="Keyed on scope and period: setting an existing one changes it in place.",
)
def spend_limit_set(request: AdminApiRequest, payload: SpendLimitSet):
    workspace = (
        get_workspace(request, payload.scope.workspace_id)
        if payload.scope.workspace_id is not None
        else None
    )
    return _spend_limit(_set_spend_limit(request, payload.scope.type, workspace, payload.amount))


class UserActor(Schema):
    type: Literal["user_actor"] = "user_actor"
    user_id: str
    email_address: str | None
    name: str | None
    deleted: bool = False


class SpendSummaryOut(Schema):
    actor: UserActor
    amount: Cents | None
    currency: Literal["USD"] = "USD"
    period: Literal["monthly"] = MONTHLY
    period_to_date_spend: Cents
    scope: Scope
    source: Scope
    spend_limit_id: str


def _user_actor(user) -> dict:
    return {"user_id": user.public_id, "email_address": user.email, "name": user.name or None}


def _summary(user, effective: selectors.EffectiveSpendLimit) -> dict:
    scope = (
        {"type": "workspace", "workspace_id": effective.workspace.public_id}
        if effective.workspace is not None
        else {"type": "organization"}
    )
    return {
        "actor": _user_actor(user),
        "amount": _cents(effective.amount_cents),
        "period_to_date_spend": money.cents_text(effective.month_to_date_spend_cents),
        "scope": scope,
        "source": _scope(effective.source),
        "spend_limit_id": effective.source.id,
    }


class EffectivePage(Schema):
    data: list[SpendSummaryOut]
    has_more: bool
    next_page: str | None


Period = Literal["daily", "weekly", "monthly"]


@router.get(
    "/spend_limits/effective",
    response=EffectivePage,
    summary="Each member's effective spend limits",
    description="Per member (paged by member), one row for the organization and one for each "
    "workspace they take part in: the limit in force, where it comes from, and the spend this "
    "month. Console's limits are monthly.",
)
def spend_limit_effective_list(
    request: AdminApiRequest,
    limit: int = Query(20, ge=1, le=1000),
    page: SafeText | None = None,
    period: list[Period] | None = Query(None, alias="period[]"),
    user_ids: list[SafeText] | None = Query(None, alias="user_ids[]", max_length=100),
):
    org = organization(request)
    members = OrganizationMember.objects.filter(organization=org).select_related("user")
    if user_ids:
        members = members.filter(user__public_id__in=user_ids)
    page_members, next_page = token_page(members, limit=limit, page=page, key="user__public_id")
    if period and MONTHLY not in period:
        return {"data": [], "has_more": next_page is not None, "next_page": next_page}
    workspaces = list(Workspace.objects.filter(organization=org).active())
    explicit = set(
        WorkspaceMember.objects.filter(
            workspace__organization=org, user__in=[m.user_id for m in page_members]
        ).values_list("user_id", "workspace_id")
    )
    effective = selectors.effective_spend_limits(org, workspaces)
    rows = []
    for member in page_members:
        rows.append(_summary(member.user, effective[None]))
        for workspace in workspaces:
            role = effective_workspace_role(
                member.role,
                "explicit" if (member.user_id, workspace.pk) in explicit else None,
                is_default_workspace=workspace.is_default,
            )
            if role is not None:
                rows.append(_summary(member.user, effective[workspace.pk]))
    return {"data": rows, "has_more": next_page is not None, "next_page": next_page}


@router.get("/spend_limits/{spend_limit_id}", response=SpendLimitOut, summary="Get a spend limit")
def spend_limit_retrieve(request: AdminApiRequest, spend_limit_id: str):
    return _spend_limit(_spend_limit_entry(request, spend_limit_id))


@router.post(
    "/spend_limits/{spend_limit_id}", response=SpendLimitOut, summary="Change a spend limit"
)
def spend_limit_update(request: AdminApiRequest, spend_limit_id: str, payload: SpendLimitAmount):
    entry = _spend_limit_entry(request, spend_limit_id)
    return _spend_limit(
        _set_spend_limit(request, entry.scope_type, entry.workspace, payload.amount)
    )


@router.delete(
    "/spend_limits/{spend_limit_id}", response=SpendLimitDeleted, summary="Delete a spend limit"
)
def spend_limit_delete(request: AdminApiRequest, spend_limit_id: str):
    entry = _spend_limit_entry(request, spend_limit_id)
    if entry.scope_type == selectors.SCOPE_USAGE_TIER:
        raise ValidationError("The usage tier's cap is set by staff and cannot be deleted.")
    if entry.workspace is not None:
        services.workspace_spend_limit_set(
            actor=actor(request), workspace=entry.workspace, amount_cents=None
        )
    else:
        services.organization_spend_limit_set(
            actor=actor(request), organization=organization(request), amount_cents=None
        )
    return {"id": entry.id}


class IncreaseRequestOut(Schema):
    type: Literal["spend_limit_increase_request"] = "spend_limit_increase_request"
    id: str
    actor: UserActor
    status: IncreaseStatus
    period: Literal["monthly"] = MONTHLY
    created_at: Timestamp
    expires_at: Timestamp
    resolved_at: Timestamp | None
    resolved_by: UserActor | None
    workspace_id: str
    requested_amount: Cents
    message: str
    spend_summary: SpendSummaryOut | None = Field(
        description="While pending: the requester's spend and limit in the workspace now."
    )


class IncreaseRequestApproved(IncreaseRequestOut):
    spend_limit: SpendLimitOut | None


class IncreaseApprove(Body):
    amount: Cents = Field(description="The workspace's new monthly limit, in cents.")
    period: Literal["monthly"] | None = None
    suppress_notification: bool = False


class IncreaseDeny(Body):
    suppress_notification: bool = False


def _increase_request(
    increase: SpendLimitIncreaseRequest,
    effective: dict[int | None, selectors.EffectiveSpendLimit] | None = None,
) -> dict:
    """The request as the SDK's type has it; `effective` holds the spend limits in force of
    its workspace (read when not given)."""
    status = increase.current_status()
    summary = None
    if status == IncreaseRequestStatus.PENDING and increase.requested_by is not None:
        if effective is None or increase.workspace.pk not in effective:
            effective = selectors.effective_spend_limits(
                increase.organization, [increase.workspace]
            )
        summary = _summary(increase.requested_by, effective[increase.workspace.pk])
    return {
        "id": increase.public_id,
        "actor": _user_actor(increase.requested_by)
        if increase.requested_by
        else {"user_id": "", "email_address": None, "name": None, "deleted": True},
        "status": status,
        "created_at": increase.created_at,
        "expires_at": increase.expires_at,
        "resolved_at": increase.expires_at if increase.has_lapsed else increase.resolved_at,
        "resolved_by": _user_actor(increase.resolved_by) if increase.resolved_by else None,
        "workspace_id": increase.workspace.public_id,
        "requested_amount": money.cents_text(increase.amount_cents),
        "message": increase.message,
        "spend_summary": summary,
    }


def _find_increase(request: AdminApiRequest, request_id: str) -> SpendLimitIncreaseRequest:
    increase = (
        SpendLimitIncreaseRequest.objects.filter(
            organization=organization(request), public_id=request_id
        )
        .select_related("workspace", "organization", "requested_by", "resolved_by")
        .first()
    )
    if increase is None:
        raise Http404(f"No spend limit increase request {request_id}.")
    return increase


class IncreaseRequestPage(Schema):
    data: list[IncreaseRequestOut]
    has_more: bool
    next_page: str | None


@router.get(
    "/spend_limit_increase_requests",
    response=IncreaseRequestPage,
    summary="List spend limit increase requests, newest first",
    description="Requests of people who are no longer members are left out.",
)
def increase_request_list(
    request: AdminApiRequest,
    limit: int = Query(20, ge=1, le=1000),
    page: SafeText | None = None,
    actor_ids: list[SafeText] | None = Query(None, alias="actor_ids[]"),
    status: list[IncreaseStatus] | None = Query(None, alias="status[]"),
):
    org = organization(request)
    requests = SpendLimitIncreaseRequest.objects.filter(
        organization=org,
        requested_by__in=OrganizationMember.objects.filter(organization=org).values("user_id"),
    ).select_related("workspace", "organization", "requested_by", "resolved_by")
    if actor_ids:
        requests = requests.filter(requested_by__public_id__in=actor_ids)
    if status:
        now = timezone.now()
        lapsed = Q(status=IncreaseRequestStatus.PENDING, expires_at__lte=now)
        conditions = {
            IncreaseRequestStatus.PENDING: Q(
                status=IncreaseRequestStatus.PENDING, expires_at__gt=now
            ),
            IncreaseRequestStatus.APPROVED: Q(status=IncreaseRequestStatus.APPROVED),
            IncreaseRequestStatus.DENIED: Q(status=IncreaseRequestStatus.DENIED) | lapsed,
        }
        wanted = Q(pk__in=[])
        for value in status:
            wanted |= conditions[IncreaseRequestStatus(value)]
        requests = requests.filter(wanted)
    rows, next_page = token_page(requests, limit=limit, page=page, descending=True)
    workspaces = {row.workspace.pk: row.workspace for row in rows}
    effective = selectors.effective_spend_limits(org, list(workspaces.values())) if rows else {}
    return {
        "data": [_increase_request(row, effective) for row in rows],
        "has_more": next_page is not None,
        "next_page": next_page,
    }


@router.get(
    "/spend_limit_increase_requests/{request_id}",
    response=IncreaseRequestOut,
    summary="Get a spend limit increase request",
)
def increase_request_retrieve(request: AdminApiRequest, request_id: str):
    return _increase_request(_find_increase(request, request_id))


@router.post(
    "/spend_limit_increase_requests/{request_id}/approve",
    response=IncreaseRequestApproved,
    summary="Approve a pending request: the workspace's limit becomes `amount`",
)
def increase_request_approve(request: AdminApiRequest, request_id: str, payload: IncreaseApprove):
    increase = services.spend_limit_increase_request_approve(
        actor=actor(request),
        increase=_find_increase(request, request_id),
        amount_cents=money.parse_cents(payload.amount),
        notify=not payload.suppress_notification,
    )
    entry = selectors.spend_limit_by_id(
        increase.organization,
        selectors.spend_limit_id(
            selectors.SCOPE_WORKSPACE, increase.organization, increase.workspace
        ),
    )
    return {
        **_increase_request(increase),
        "spend_limit": _spend_limit(entry) if entry is not None else None,
    }


@router.post(
    "/spend_limit_increase_requests/{request_id}/deny",
    response=IncreaseRequestOut,
    summary="Deny a pending request",
)
def increase_request_deny(request: AdminApiRequest, request_id: str, payload: IncreaseDeny):
    increase = services.spend_limit_increase_request_deny(
        actor=actor(request),
        increase=_find_increase(request, request_id),
        notify=not payload.suppress_notification,
    )
    return _increase_request(increase)


# -- Usage and cost reports -------------------------------------------------------------------

# Buckets per page for each width: (default, most).
BUCKET_LIMITS = {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}
_PAGE_SALT = "billing.api.report"


def _report_page(starting_at: datetime, page: str | None) -> datetime:
    if not page:
        return starting_at
    try:
        text = signing.loads(page, salt=_PAGE_SALT)
        return check_datetime(datetime.fromisoformat(text))
    except (signing.BadSignature, TypeError, ValueError, ValidationError):
        raise ValidationError(
            {"page": "This is not a page token of this report."}, code="invalid_page"
        ) from None


def _bucket_starts(
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
    return starts, signing.dumps(moment.isoformat(), salt=_PAGE_SALT) if more else None


class CacheCreation(Schema):
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int


class ServerToolUse(Schema):
    web_search_requests: int = 0


class UsageResultOut(Schema):
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
    inference_geo: Literal["global", "us"] | None
    speed: SpeedValue | None


class UsageBucketOut(Schema):
    starting_at: Timestamp
    ending_at: Timestamp
    results: list[UsageResultOut]


class UsageReportOut(Schema):
    data: list[UsageBucketOut]
    has_more: bool
    next_page: str | None


UsageGroup = Literal[
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
    "speed",
]
GeoFilter = Literal["global", "us", "not_available"]


class ReportWindow(Schema):
    starting_at: InputTime
    ending_at: InputTime | None = None
    page: SafeText | None = None


class UsageReportQuery(ReportWindow):
    bucket_width: Literal["1m", "1h", "1d"] = "1d"
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


@router.get(
    "/usage_report/messages",
    response=UsageReportOut,
    summary="Token usage by time bucket",
    by_alias=False,
)
def usage_report(request: AdminApiRequest, query: Query[UsageReportQuery]):
    limit = query.limit or BUCKET_LIMITS[query.bucket_width][0]
    starts, next_page = _bucket_starts(
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
                "results": [
                    {
                        "uncached_input_tokens": r.tokens["uncached_input_tokens"],
                        "cache_creation": {
                            "ephemeral_5m_input_tokens": r.tokens["cache_creation_5m_tokens"],
                            "ephemeral_1h_input_tokens": r.tokens["cache_creation_1h_tokens"],
                        },
                        "cache_read_input_tokens": r.tokens["cache_read_tokens"],
                        "output_tokens": r.tokens["output_tokens"],
                        "server_tool_use": {"web_search_requests": 0},
                        **r.dimensions,
                    }
                    for r in results
                ],
            }
            for start, results in buckets
        ],
        "has_more": next_page is not None,
        "next_page": next_page,
    }


class CostResultOut(Schema):
    currency: Literal["USD"] = "USD"
    amount: Cents = Field(description="Cents, exact (fractions of a cent included).")
    list_amount: Cents = Field(description="The same as amount: Console gives no discounts.")
    workspace_id: str | None
    description: str | None
    cost_type: Literal["tokens"] | None
    model: str | None
    token_type: str | None
    service_tier: Tier | None
    context_window: Window | None
    inference_geo: Literal["global", "us"] | None


class CostBucketOut(Schema):
    starting_at: Timestamp
    ending_at: Timestamp
    results: list[CostResultOut]


class CostReportOut(Schema):
    data: list[CostBucketOut]
    has_more: bool
    next_page: str | None


class CostReportQuery(ReportWindow):
    bucket_width: Literal["1d"] = "1d"
    limit: int = Field(7, ge=1, le=31)
    group_by: list[Literal["workspace_id", "description"]] = Field([], alias="group_by[]")
    workspace_ids: list[SafeText] = Field([], alias="workspace_ids[]")


def _cost_result(result: reports.CostResult) -> dict:
    amount = money.cents_text(result.amount_cents)
    described = result.model is not None and result.token_kind is not None
    return {
        "amount": amount,
        "list_amount": amount,
        "workspace_id": result.workspace_id,
        "description": result.description,
        "cost_type": "tokens" if described else None,
        "model": result.model.api_name if result.model is not None else None,
        "token_type": reports.TOKEN_TYPES[result.token_kind] if result.token_kind else None,
        "service_tier": result.dimensions.get("service_tier"),
        "context_window": result.dimensions.get("context_window"),
        "inference_geo": result.dimensions.get("inference_geo"),
    }


@router.get("/cost_report", response=CostReportOut, summary="Cost by day", by_alias=False)
def cost_report(request: AdminApiRequest, query: Query[CostReportQuery]):
    starts, next_page = _bucket_starts(
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


class ClaudeCodeActor(Schema):
    type: Literal["api_actor"] = "api_actor"
    api_key_name: str


class LinesOfCode(Schema):
    added: int = 0
    removed: int = 0


class CoreMetrics(Schema):
    num_sessions: int = 0
    lines_of_code: LinesOfCode = LinesOfCode()
    commits_by_claude_code: int = 0
    pull_requests_by_claude_code: int = 0


class ToolAction(Schema):
    accepted: int = 0
    rejected: int = 0


class ToolActions(Schema):
    edit_tool: ToolAction = ToolAction()
    multi_edit_tool: ToolAction = ToolAction()
    write_tool: ToolAction = ToolAction()
    notebook_edit_tool: ToolAction = ToolAction()


class ModelTokens(Schema):
    input: int
    output: int
    cache_read: int
    cache_creation: int


class EstimatedCost(Schema):
    currency: Literal["USD"] = "USD"
    amount: int = Field(description="Whole cents, rounded up.")


class ModelBreakdown(Schema):
    model: str
    tokens: ModelTokens
    estimated_cost: EstimatedCost


class ClaudeCodeRecord(Schema):
    date: Timestamp
    actor: ClaudeCodeActor
    organization_id: str
    customer_type: Literal["api"] = "api"
    terminal_type: str = "unknown"
    core_metrics: CoreMetrics = CoreMetrics()
    tool_actions: ToolActions = ToolActions()
    model_breakdown: list[ModelBreakdown]


class ClaudeCodeReportOut(Schema):
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
    after = None
    if page:
        try:
            after = tuple(signing.loads(page, salt=_PAGE_SALT))
            if len(after) != 2 or after[0] != day.isoformat():
                raise ValueError
        except (signing.BadSignature, TypeError, ValueError):
            raise ValidationError(
                {"page": "This is not a page token of this report."}, code="invalid_page"
            ) from None
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
        signing.dumps([day.isoformat(), days[-1].api_key.public_id], salt=_PAGE_SALT)
        if more and days
        else None
    )
    return {"data": data, "has_more": next_page is not None, "next_page": next_page}
