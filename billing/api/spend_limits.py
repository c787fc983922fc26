"""Admin API: the Spend Limits API, as the SDK's `organization.spend_limits` resources
define it: the limits, each scope's effective limit, and increase requests."""

from typing import TYPE_CHECKING, Literal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from ninja import Field, Query, Router
from ninja.pagination import paginate
from pydantic import model_validator

from accounts.admin_api import AdminApiRequest, actor, organization
from accounts.models import OrganizationMember
from billing import money, selectors, services
from billing.models import IncreaseRequestStatus, SpendLimitIncreaseRequest
from console.pagination import TokenPagination, token_page
from console.schemas import Body, Out, SafeText, Timestamp, choices
from workspaces.access import inherited_workspace_role
from workspaces.api import get_workspace
from workspaces.models import Workspace, WorkspaceMember

router = Router(tags=["Spend limits"])

if TYPE_CHECKING:
    IncreaseStatus = str
else:
    IncreaseStatus = choices(IncreaseRequestStatus)

Cents = str  # a decimal string of cents: "5000" is $50.00
MONTHLY: Literal["monthly"] = "monthly"


def _cents(value: int | None) -> str | None:
    return None if value is None else money.cents_text(value)


# -- The Spend Limits API ---------------------------------------------------------------------


class OrganizationScope(Out):
    type: Literal["organization"] = "organization"


class WorkspaceScopeOut(Out):
    type: Literal["workspace"] = "workspace"
    workspace_id: str


class UsageTierScope(Out):
    type: Literal["usage_tier"] = "usage_tier"


Scope = OrganizationScope | WorkspaceScopeOut | UsageTierScope


class SpendLimitOut(Out):
    type: Literal["spend_limit"] = "spend_limit"
    id: str
    amount: Cents | None = Field(description="Cents; null when there is no limit.")
    currency: Literal["USD"] = "USD"
    is_enabled: bool = True
    period: Literal["monthly"] = MONTHLY
    scope: Scope
    created_at: Timestamp
    updated_at: Timestamp


class SpendLimitDeleted(Out):
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


class UserActor(Out):
    type: Literal["user_actor"] = "user_actor"
    user_id: str
    email_address: str | None
    name: str | None
    deleted: bool = False


class SpendSummaryOut(Out):
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


class EffectivePage(Out):
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
    explicit: dict[int, set[int]] = {}
    for user_id, workspace_id in WorkspaceMember.objects.filter(
        workspace__organization=org,
        workspace__archived_at__isnull=True,
        user_id__in=[m.user_id for m in page_members],
    ).values_list("user_id", "workspace_id"):
        explicit.setdefault(user_id, set()).add(workspace_id)
    effective = selectors.effective_spend_limits(org, workspaces)
    rows = []
    for member in page_members:
        # Admins and billing members take part in every workspace; others in the Default
        # one and where they are members.
        inherits = inherited_workspace_role(member.role) is not None
        mine = explicit.get(member.user_id, set())
        taking_part = [w for w in workspaces if inherits or w.is_default or w.pk in mine]
        rows.append(_summary(member.user, effective[None]))
        rows.extend(_summary(member.user, effective[w.pk]) for w in taking_part)
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


class IncreaseRequestOut(Out):
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


class IncreaseRequestPage(Out):
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
