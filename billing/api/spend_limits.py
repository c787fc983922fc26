"""Admin API: the Spend Limits API, as the SDK's `organization.spend_limits` resources
define it: the limits, each scope's effective limit, and increase requests."""

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal, cast

from django.http import Http404
from ninja import Field, Query, Router
from ninja.pagination import paginate
from pydantic import model_validator

from accounts.admin_api import AdminApiRequest, actor, organization
from accounts.models import Organization, OrganizationMember, User
from billing import money, selectors, services
from billing.models import (
    IncreaseRequestStatus,
    SpendLimitIncreaseRequest,
    SpendLimitPeriod,
    SpendLimitScope,
)
from console.pagination import PagedRows, TokenPagination
from console.schemas import Body, Out, SafeText, Timestamp, choices
from workspaces.api import get_workspace
from workspaces.models import Workspace
from workspaces.selectors import workspaces_taken_part_in

router = Router(tags=["Spend limits"])

if TYPE_CHECKING:
    IncreaseStatus = str
    ScopeType = str
    Period = str
else:
    IncreaseStatus = choices(IncreaseRequestStatus)
    ScopeType = choices(SpendLimitScope)
    Period = choices(SpendLimitPeriod)

Cents = str  # a decimal string of cents: "5000" is $50.00
MONTHLY = cast(Literal["monthly"], SpendLimitPeriod.MONTHLY.value)


def _cents(value: int | Decimal | None) -> str | None:
    return None if value is None else money.cents_text(value)


# -- The Spend Limits API ---------------------------------------------------------------------


class OrganizationScope(Out):
    type: Literal["organization"] = "organization"


class WorkspaceScopeOut(Out):
    type: Literal["workspace"] = "workspace"
    workspace_id: str


class UsageTierScope(Out):
    type: Literal["usage_tier"] = "usage_tier"


Scope = Annotated[
    OrganizationScope | WorkspaceScopeOut | UsageTierScope, Field(discriminator="type")
]


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
    type: ScopeType = Field(
        description="Console's limits are the organization's and its workspaces'; other "
        "scopes are refused."
    )
    workspace_id: SafeText | None = None
    user_id: SafeText | None = None

    @model_validator(mode="after")
    def _named(self) -> "ScopeIn":
        if (self.type == SpendLimitScope.WORKSPACE) != (self.workspace_id is not None):
            raise ValueError("A workspace scope names its workspace_id, and only it does.")
        if (self.type == SpendLimitScope.USER) != (self.user_id is not None):
            raise ValueError("A user scope names its user_id, and only it does.")
        return self


class SpendLimitSet(Body):
    amount: Cents | None = Field(description="Cents as a string of digits.")
    scope: ScopeIn
    period: Period = MONTHLY


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
    request: AdminApiRequest,
    scope_type: str,
    workspace: Workspace | None,
    amount: str | None,
    period: str = MONTHLY,
) -> selectors.SpendLimitEntry:
    services.spend_limit_set(
        actor=actor(request),
        organization=organization(request),
        scope_type=scope_type,
        workspace=workspace,
        amount_cents=None if amount is None else money.parse_cents(amount),
        period=period,
    )
    return _spend_limit_entry(
        request, selectors.spend_limit_id(scope_type, organization(request), workspace)
    )


@router.get("/spend_limits", response=list[SpendLimitOut], summary="List spend limits")
@paginate(TokenPagination)
def spend_limit_list(
    request: AdminApiRequest,
    scope_type: list[ScopeType] | None = Query(
        None,
        alias="scope_type[]",
        description="Console's limits are of the organization, workspace and usage_tier "
        "scopes; other scopes list nothing.",
    ),
    workspace_id: SafeText | None = None,
) -> list[dict]:
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
    return _spend_limit(
        _set_spend_limit(request, payload.scope.type, workspace, payload.amount, payload.period)
    )


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


USER_FIELDS = ("public_id", "email", "name")


def _user_actor(user: User) -> dict:
    return {"user_id": user.public_id, "email_address": user.email, "name": user.name or None}


def _summary_of_scope(effective: selectors.EffectiveSpendLimit) -> dict:
    """A spend summary's fields that its scope decides (all but the actor)."""
    return {
        "amount": _cents(effective.amount_cents),
        "period_to_date_spend": money.cents_text(effective.month_to_date_spend_cents),
        "scope": {"type": "workspace", "workspace_id": effective.workspace.public_id}
        if effective.workspace is not None
        else {"type": "organization"},
        "source": _scope(effective.source),
        "spend_limit_id": effective.source.id,
    }


def _effective_rows(org: Organization, members: list[OrganizationMember]) -> list[dict]:
    """One row for the organization and one for each workspace each member takes part in.
    Each scope's part of a row is written once for the page, whatever its number of rows."""
    taking_part = workspaces_taken_part_in(org, members)
    workspaces = {w.pk: w for each in taking_part.values() for w in each}
    effective = selectors.effective_spend_limits(org, list(workspaces.values()))
    by_scope = {scope: _summary_of_scope(limit) for scope, limit in effective.items()}
    rows = []
    for member in members:
        user_actor = _user_actor(member.user)
        rows.append({"actor": user_actor, **by_scope[None]})
        rows.extend({"actor": user_actor, **by_scope[w.pk]} for w in taking_part[member.pk])
    return rows


@router.get(
    "/spend_limits/effective",
    response=list[SpendSummaryOut],
    summary="Each member's effective spend limits",
    description="Per member (paged by member), one row for the organization and one for each "
    "workspace they take part in: the limit in force, where it comes from, and the spend this "
    "month. Console's limits are monthly: other periods list nothing.",
)
@paginate(TokenPagination, key="user__public_id")
def spend_limit_effective_list(
    request: AdminApiRequest,
    period: list[Period] | None = Query(None, alias="period[]"),
    user_ids: list[SafeText] | None = Query(None, alias="user_ids[]", max_length=100),
) -> PagedRows:
    org = organization(request)
    members = (
        OrganizationMember.objects.filter(organization=org)
        .select_related("user")
        .only("role", "user__public_id", "user__email", "user__name")
    )
    if user_ids:
        members = members.filter(user__public_id__in=user_ids)
    if period and MONTHLY not in period:
        return PagedRows(members, rows=lambda page: [])
    return PagedRows(members, rows=lambda page: _effective_rows(org, page))


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
    services.spend_limit_delete(
        actor=actor(request),
        organization=organization(request),
        scope_type=entry.scope_type,
        workspace=entry.workspace,
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
    period: Period | None = None
    suppress_notification: bool = False


class IncreaseDeny(Body):
    suppress_notification: bool = False


def _increase_request(increase: SpendLimitIncreaseRequest, scope_summaries: dict) -> dict:
    """The request as the SDK's type has it; `scope_summaries` holds the spend summary's
    scope part of each workspace with a pending request (`_scope_summaries`)."""
    status = increase.current_status()
    requester = increase.requested_by
    return {
        "id": increase.public_id,
        "actor": _user_actor(requester)
        if requester is not None
        else {"user_id": "", "email_address": None, "name": None, "deleted": True},
        "status": status,
        "created_at": increase.created_at,
        "expires_at": increase.expires_at,
        "resolved_at": increase.expires_at if increase.has_lapsed else increase.resolved_at,
        "resolved_by": _user_actor(increase.resolved_by) if increase.resolved_by else None,
        "workspace_id": increase.workspace.public_id,
        "requested_amount": money.cents_text(increase.amount_cents),
        "message": increase.message,
        "spend_summary": {"actor": _user_actor(requester), **scope_summaries[increase.workspace_id]}
        if requester is not None and status == IncreaseRequestStatus.PENDING
        else None,
    }


def _scope_summaries(org: Organization, increases: list[SpendLimitIncreaseRequest]) -> dict:
    """The spend summary's scope part for the workspace of each pending request: read
    together for the page (four queries), and not at all when nothing is pending."""
    workspaces = {
        increase.workspace_id: increase.workspace
        for increase in increases
        if increase.current_status() == IncreaseRequestStatus.PENDING
    }
    if not workspaces:
        return {}
    effective = selectors.effective_spend_limits(org, list(workspaces.values()))
    return {pk: _summary_of_scope(effective[pk]) for pk in workspaces}


# What an answer reads of a request and the people and workspace it names.
INCREASE_REQUEST_FIELDS = (
    "public_id",
    "status",
    "created_at",
    "expires_at",
    "resolved_at",
    "amount_cents",
    "message",
    "organization_id",
    "workspace__public_id",
    *(f"{who}__{name}" for who in ("requested_by", "resolved_by") for name in USER_FIELDS),
)


def _increase_rows(org: Organization, increases: list[SpendLimitIncreaseRequest]) -> list[dict]:
    summaries = _scope_summaries(org, increases)
    return [_increase_request(increase, summaries) for increase in increases]


def _answered(increase: SpendLimitIncreaseRequest) -> dict:
    return _increase_rows(increase.organization, [increase])[0]


def _find_increase(request: AdminApiRequest, increase_id: str) -> SpendLimitIncreaseRequest:
    increase = (
        selectors.increase_requests(organization(request))
        .filter(public_id=increase_id)
        .select_related("organization")
        .first()
    )
    if increase is None:
        raise Http404(f"No spend limit increase request {increase_id}.")
    return increase


@router.get(
    "/spend_limit_increase_requests",
    response=list[IncreaseRequestOut],
    summary="List spend limit increase requests, newest first",
    description="Requests of people who are no longer members are left out.",
)
@paginate(TokenPagination, descending=True)
def increase_request_list(
    request: AdminApiRequest,
    actor_ids: list[SafeText] | None = Query(None, alias="actor_ids[]"),
    status: list[IncreaseStatus] | None = Query(None, alias="status[]"),
) -> PagedRows:
    org = organization(request)
    requests = selectors.increase_requests(
        org, statuses=status or (), actor_ids=actor_ids or ()
    ).only(*INCREASE_REQUEST_FIELDS)
    return PagedRows(requests, rows=lambda page: _increase_rows(org, page))


@router.get(
    "/spend_limit_increase_requests/{spend_limit_increase_request_id}",
    response=IncreaseRequestOut,
    summary="Get a spend limit increase request",
)
def increase_request_retrieve(request: AdminApiRequest, spend_limit_increase_request_id: str):
    return _answered(_find_increase(request, spend_limit_increase_request_id))


@router.post(
    "/spend_limit_increase_requests/{spend_limit_increase_request_id}/approve",
    response=IncreaseRequestApproved,
    summary="Approve a pending request: the workspace's limit becomes `amount`",
)
def increase_request_approve(
    request: AdminApiRequest, spend_limit_increase_request_id: str, payload: IncreaseApprove
):
    increase = services.spend_limit_increase_request_approve(
        actor=actor(request),
        increase=_find_increase(request, spend_limit_increase_request_id),
        amount_cents=money.parse_cents(payload.amount),
        period=payload.period or MONTHLY,
        notify=not payload.suppress_notification,
    )
    entry = selectors.spend_limit_by_id(
        increase.organization,
        selectors.spend_limit_id(
            selectors.SCOPE_WORKSPACE, increase.organization, increase.workspace
        ),
    )
    return {
        **_answered(increase),
        "spend_limit": _spend_limit(entry) if entry is not None else None,
    }


@router.post(
    "/spend_limit_increase_requests/{spend_limit_increase_request_id}/deny",
    response=IncreaseRequestOut,
    summary="Deny a pending request",
)
def increase_request_deny(
    request: AdminApiRequest, spend_limit_increase_request_id: str, payload: IncreaseDeny
):
    increase = services.spend_limit_increase_request_deny(
        actor=actor(request),
        increase=_find_increase(request, spend_limit_increase_request_id),
        notify=not payload.suppress_notification,
    )
    return _answered(increase)
