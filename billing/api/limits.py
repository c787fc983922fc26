"""Admin API: rate limits, and a workspace's spend limit and notifications (beyond
Anthropic's API)."""

from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from django.http import Http404
from ninja import Field, Router
from ninja.pagination import paginate
from pydantic import model_validator

from accounts.admin_api import AdminApiRequest, actor, organization
from billing import money, selectors, services
from billing.models import (
    Model,
    ModelGroup,
    RateLimitGroupType,
    RateLimitType,
    SpendLimitScope,
    SpendNotification,
)
from console.pagination import TokenPagination
from console.schemas import Body, Out, SafeText, choices
from workspaces.api import get_workspace
from workspaces.models import Workspace

router = Router(tags=["Rate limits", "Spend limits"])

if TYPE_CHECKING:
    LimitType = str
    EnforcedLimitType = str
    GroupType = str
    LimitSourceType = str
else:
    LimitType = choices(RateLimitType)
    EnforcedLimitType = choices(services.ENFORCED_RATE_LIMIT_TYPES)
    GroupType = choices(RateLimitGroupType)
    # Where a workspace's limit in force comes from, as Anthropic names it.
    LimitSourceType = choices([SpendLimitScope.WORKSPACE, SpendLimitScope.ORGANIZATION])

Cents = str  # a decimal string of cents: "5000" is $50.00


# -- Rate limits ------------------------------------------------------------------------------


class RateLimitGroup(Out):
    type: Literal["model_group"] = "model_group"
    id: str = Field(description="rlg_ and the model group's slug.")
    display_name: str


class RateLimitValue(Out):
    type: EnforcedLimitType = Field(description="The limiter, as Anthropic's API names it.")
    value: int


class OrganizationRateLimitOut(Out):
    type: Literal["rate_limit"] = "rate_limit"
    id: str = Field(description="The model group's slug, e.g. sonnet-4.")
    group: RateLimitGroup
    models: list[str] | None
    limits: list[RateLimitValue]


class LimitSource(Out):
    type: LimitSourceType


class WorkspaceRateLimitValue(Out):
    type: EnforcedLimitType
    value: int = Field(description="The limit in force.")
    org_limit: int | None
    source: LimitSource


class WorkspaceRateLimitOut(Out):
    type: Literal["workspace_rate_limit"] = "workspace_rate_limit"
    rate_limit_id: str
    workspace_id: str
    group: RateLimitGroup
    models: list[str] | None
    limits: list[WorkspaceRateLimitValue]


class RateLimitChange(Body):
    type: LimitType = Field(
        description="Any of Anthropic's limit types; those Console does not enforce are "
        "refused with unsupported_limit_type."
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
    return group_type in (None, RateLimitGroupType.MODEL_GROUP)


@router.get(
    "/rate_limits", response=list[OrganizationRateLimitOut], summary="The organization's limits"
)
@paginate(TokenPagination)
def organization_rate_limit_list(
    request: AdminApiRequest, group_type: GroupType | None = None, model: SafeText | None = None
) -> list[dict]:
    if not _group_type_filter(group_type):
        return []
    models = _models_by_group()
    entries = []
    for group, rows in selectors.rate_limit_groups(organization(request)):
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
    models = _models_by_group()
    entries = []
    for group, rows in selectors.rate_limit_groups(workspace.organization, workspace):
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
                            "type": SpendLimitScope.WORKSPACE
                            if row.source == selectors.SOURCE_WORKSPACE
                            else SpendLimitScope.ORGANIZATION
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


class WorkspaceSpendLimitOut(Out):
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
    field `amount`: one of them, required."""

    amount_cents: Cents | None = None
    amount: str | int | None = Field(
        None, description=DEPRECATED_DOLLARS, json_schema_extra={"deprecated": True}
    )

    @model_validator(mode="before")
    @classmethod
    def _one_amount(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = {"amount_cents", "amount"} & set(data)
            if len(given) > 1:
                raise ValueError("Give amount_cents or amount, not both.")
            if not given:
                raise ValueError(f"amount_cents: Field required{cls.null_means}.")
            if not cls.null_means and data[given.pop()] is None:
                raise ValueError("amount_cents: Give an amount.")
        return data

    # What a null amount asks for, when it may be null.
    null_means: ClassVar[str] = ""

    def cents(self) -> int | None:
        if self.amount_cents is not None:
            return money.parse_cents(self.amount_cents, field="amount_cents")
        if self.amount is not None:
            return money.parse_dollars(self.amount)
        return None


class SpendLimitChange(AmountChange):
    null_means = " (null removes the limit)"


class NotificationAdd(AmountChange):
    def cents(self) -> int:
        # Never None: the validator refused a null amount.
        return cast(int, super().cents())


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
def workspace_spend_limit_set(
    request: AdminApiRequest, workspace_id: str, payload: SpendLimitChange
):
    workspace = get_workspace(request, workspace_id)
    services.workspace_spend_limit_set(
        actor=actor(request), workspace=workspace, amount_cents=payload.cents()
    )
    return _workspace_spend_limit(workspace)


class NotificationOut(Out):
    type: Literal["spend_notification"] = "spend_notification"
    id: str = Field(description="The threshold in cents.")
    workspace_id: str
    currency: Literal["USD"] = "USD"
    amount_cents: Cents
    amount: str = Field(description=DEPRECATED_DOLLARS, json_schema_extra={"deprecated": True})


class NotificationDeleted(Out):
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
    request: AdminApiRequest, workspace_id: str, payload: NotificationAdd
):
    workspace = get_workspace(request, workspace_id)
    notification = services.spend_notification_add(
        actor=actor(request),
        organization=workspace.organization,
        workspace=workspace,
        amount_cents=payload.cents(),
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
