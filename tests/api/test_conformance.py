"""Every answer of every endpoint validates with the type that describes it, with every field
that type declares present, at every depth: the `anthropic` SDK's own type where the SDK has
the endpoint, else (Anthropic's reports the SDK has no method for) a strict model of the
contract in shared/admin-api.md and docs/admin-api.md. Clients typed from the SDK read
Console as they read Anthropic's API."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import pytest
from anthropic.types import OrganizationInfo
from anthropic.types.beta.organization import (
    BetaAnalyticsCostReportTimeBucket,
    BetaAnalyticsUsageReportTimeBucket,
    BetaAnalyticsUsageUsersItem,
    BetaOrganizationUser,
    BetaSpendLimit,
)
from anthropic.types.beta.organization.analytics import (
    BetaAnalyticsCostItem,
    BetaAnalyticsUsageItem,
)
from anthropic.types.beta.organization.spend_limit_delete_response import (
    SpendLimitDeleteResponse,
)
from anthropic.types.organization import (
    APIKey,
    InviteDeleteResponse,
    OrganizationInvite,
    OrganizationRateLimit,
    OrganizationUser,
    SpendLimit,
    SpendSummary,
    UserRemoveResponse,
    Workspace,
    WorkspaceMember,
)
from anthropic.types.organization.spend_limits import (
    IncreaseRequestApproveResponse,
    SpendLimitIncreaseRequest,
)
from anthropic.types.organization.workspaces import MemberRemoveResponse, WorkspaceRateLimit
from pydantic import BaseModel, ConfigDict

from accounts import services as account_services
from accounts.audit import Actor
from accounts.roles import OrgRole, WorkspaceRole
from billing import services as billing_services
from billing import usage
from billing.models import Model
from console.api_urls import api as admin_api
from tests.api.sdk_endpoints import sdk_endpoints, template_of
from tests.factories import MemberFactory, UserFactory, WorkspaceMemberFactory
from workspaces import services as workspace_services

# The last test checks what the others fetched: the module runs in one test process.

# -- Anthropic's reports the SDK has no type for, as the contract has them ---------------------


class Strict(BaseModel):
    """Every field required, none more allowed."""

    model_config = ConfigDict(extra="forbid")


class CacheCreation(Strict):
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int


class ServerToolUse(Strict):
    web_search_requests: int


Tier = Literal["standard", "batch", "priority", "priority_on_demand", "flex", "flex_discount"]
Window = Literal["0-200k", "200k-1M"]
Geo = Literal["global", "us"]


class MessagesUsageResult(Strict):
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
    speed: Literal["standard", "fast"] | None


class MessagesUsageBucket(Strict):
    starting_at: datetime
    ending_at: datetime
    results: list[MessagesUsageResult]


class CostResult(Strict):
    currency: Literal["USD"]
    amount: Decimal
    list_amount: Decimal
    workspace_id: str | None
    description: str | None
    cost_type: Literal["tokens", "web_search"] | None
    model: str | None
    token_type: str | None
    service_tier: Tier | None
    context_window: Window | None
    inference_geo: Geo | None


class CostBucket(Strict):
    starting_at: datetime
    ending_at: datetime
    results: list[CostResult]


class ClaudeCodeRecord(Strict):
    """A record of Anthropic's Claude Code usage report."""

    class Actor(Strict):
        type: Literal["api_actor"]
        api_key_name: str

    class CoreMetrics(Strict):
        class LinesOfCode(Strict):
            added: int
            removed: int

        num_sessions: int
        lines_of_code: LinesOfCode
        commits_by_claude_code: int
        pull_requests_by_claude_code: int

    class ToolAction(Strict):
        accepted: int
        rejected: int

    class ToolActions(Strict):
        edit_tool: "ClaudeCodeRecord.ToolAction"
        multi_edit_tool: "ClaudeCodeRecord.ToolAction"
        write_tool: "ClaudeCodeRecord.ToolAction"
        notebook_edit_tool: "ClaudeCodeRecord.ToolAction"

    class ModelBreakdown(Strict):
        class Tokens(Strict):
            input: int
            output: int
            cache_read: int
            cache_creation: int

        class Cost(Strict):
            currency: Literal["USD"]
            amount: int

        model: str
        tokens: Tokens
        estimated_cost: Cost

    date: datetime
    actor: Actor
    organization_id: str
    customer_type: Literal["api", "subscription"]
    terminal_type: str
    core_metrics: CoreMetrics
    tool_actions: ToolActions
    model_breakdown: list[ModelBreakdown]


ClaudeCodeRecord.ToolActions.model_rebuild()


class ReportPage(Strict):
    data: list[Any]
    has_more: bool
    next_page: str | None


# -- Checking -----------------------------------------------------------------------------------


def _unset(model: BaseModel, where: str) -> list[str]:
    """The declared fields the data did not give, at every depth."""
    missing = [
        f"{where}.{name}" for name in type(model).model_fields if name not in model.model_fields_set
    ]
    for name in model.model_fields_set:
        value = getattr(model, name)
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, BaseModel):
                missing += _unset(
                    item,
                    f"{where}.{name}[{index}]" if isinstance(value, list) else f"{where}.{name}",
                )
    return missing


def conforms(model: type[BaseModel], data: dict) -> Any:
    """`data` validates with `model` and gives every field `model` declares, nested ones
    included."""
    parsed = model.model_validate(data)
    missing = _unset(parsed, model.__name__)
    assert not missing, f"{missing} missing in {data}"
    return parsed


def test_a_field_missing_at_any_depth_does_not_conform():
    bucket = {
        "starting_at": "2026-11-01T00:00:00Z",
        "ending_at": "2026-11-02T00:00:00Z",
        "results": [
            {
                "uncached_input_tokens": 1,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "cache_read_input_tokens": 0,
                "output_tokens": 0,
                "server_tool_use": {"web_search_requests": 0},
            }
        ],
    }
    with pytest.raises(AssertionError) as missing:
        conforms(BetaAnalyticsUsageReportTimeBucket, bucket)
    # Optional fields, which pydantic alone lets pass.
    assert "results[0].model" in str(missing.value)
    assert "results[0].requests" in str(missing.value)


def page_of(model: type[BaseModel], body: dict, *, at_least: int = 1) -> list:
    assert set(body) >= {"data", "has_more"}, body
    assert len(body["data"]) >= at_least, body
    return [conforms(model, item) for item in body["data"]]


def report_page_of(model: type[BaseModel], body: dict, *, at_least: int = 1) -> list:
    ReportPage.model_validate(body)
    return page_of(model, body, at_least=at_least)


# What the tests of this module fetched: (method, path template) pairs.
FETCHED: set[tuple[str, str]] = set()
DOCUMENT = admin_api.get_openapi_schema(path_prefix="/v1/")["paths"]


@pytest.fixture
def api(api):
    """The Admin API's client, noting every endpoint it reaches."""
    original = api.client.generic

    def generic(method, path, *args, **kwargs):
        template = template_of(path.split("?")[0], set(DOCUMENT))
        if template is not None:
            FETCHED.add((method.upper(), template))
        return original(method, path, *args, **kwargs)

    api.client.generic = generic
    return api


@pytest.fixture
def everything(api, personas):
    """A bit of everything: workspaces, members, keys, invites, limits, requests, usage."""
    admin = Actor.for_user(personas.admin)
    prod = workspace_services.workspace_create(
        actor=admin,
        organization=personas.org,
        name="Production",
        display_color="#123ABC",
        tags={"team": "support"},
        allowed_inference_geos=["us"],
        default_inference_geo="us",
    )
    WorkspaceMemberFactory(workspace=prod, user=personas.developer, role=WorkspaceRole.DEVELOPER)
    MemberFactory(organization=personas.org, role=OrgRole.CLAUDE_CODE_USER, user=UserFactory())
    key, _secret = workspace_services.api_key_create(
        actor=admin, workspace=prod, name="prod", expires_at=datetime.now(UTC) + timedelta(days=9)
    )
    default_key, _ = workspace_services.api_key_create(
        actor=admin, workspace=personas.default_workspace, name="default"
    )
    account_services.invite_create(
        actor=admin, organization=personas.org, email="new@acme.test", role="claude_code_user"
    )
    billing_services.workspace_rate_limit_set(
        actor=admin,
        workspace=prod,
        model_group=Model.objects.get(api_name="claude-sonnet-4-5").group,
        limiter="requests_per_minute",
        value=10,
    )
    billing_services.organization_spend_limit_set(
        actor=admin, organization=personas.org, amount_cents=9_000
    )
    billing_services.workspace_spend_limit_set(actor=admin, workspace=prod, amount_cents=2_000)
    sonnet = Model.objects.get(api_name="claude-sonnet-4-5")
    now = datetime.now(UTC)
    usage.record(
        api_key=key,
        model=sonnet,
        tokens={"uncached_input_tokens": 1000, "output_tokens": 50},
        at=now,
    )
    usage.record(
        api_key=default_key,
        model=sonnet,
        tokens={"uncached_input_tokens": 7, "cache_read_tokens": 250_000},
        at=now,
        service_tier="priority",
        inference_geo="us",
        speed="fast",
        web_search_requests=2,
    )
    increase = billing_services.spend_limit_increase_request_create(
        actor=Actor.for_user(personas.developer), workspace=prod, amount_cents=3_000
    )
    return {"prod": prod, "key": key, "increase": increase, "day": now.date()}


def test_organization_users_and_invites(api, personas, everything):
    conforms(OrganizationInfo, api.get("organizations/me").json())
    users = api.get("organizations/users").json()
    page_of(OrganizationUser, users, at_least=5)
    assert "claude_code_user" in {u["role"] for u in users["data"]}
    conforms(OrganizationUser, api.get(f"organizations/users/{personas.user.public_id}").json())
    conforms(
        OrganizationUser,
        api.post(f"organizations/users/{personas.user.public_id}", {"role": "developer"}).json(),
    )
    invites = api.get("organizations/invites").json()
    page_of(OrganizationInvite, invites)
    created = api.post("organizations/invites", {"email": "more@acme.test", "role": "user"}).json()
    conforms(OrganizationInvite, created)
    conforms(OrganizationInvite, api.get(f"organizations/invites/{created['id']}").json())
    conforms(InviteDeleteResponse, api.delete(f"organizations/invites/{created['id']}").json())
    conforms(
        UserRemoveResponse, api.delete(f"organizations/users/{personas.user.public_id}").json()
    )


def test_workspaces_members_and_keys(api, personas, everything):
    prod = everything["prod"].public_id
    page_of(
        Workspace,
        api.get("organizations/workspaces", {"include_default": "true"}).json(),
        at_least=2,
    )
    got = conforms(Workspace, api.get(f"organizations/workspaces/{prod}").json())
    assert got.tags == {"team": "support"} and got.data_residency.allowed_inference_geos == ["us"]
    created = api.post("organizations/workspaces", {"name": "New"}).json()
    conforms(Workspace, created)
    conforms(
        Workspace,
        api.post(f"organizations/workspaces/{created['id']}", {"tags": {"a": "b"}}).json(),
    )
    members = f"organizations/workspaces/{prod}/members"
    page_of(WorkspaceMember, api.get(members).json())
    added = api.post(
        members, {"user_id": personas.user.public_id, "workspace_role": "workspace_user"}
    ).json()
    conforms(WorkspaceMember, added)
    one = f"{members}/{personas.user.public_id}"
    conforms(WorkspaceMember, api.get(one).json())
    conforms(WorkspaceMember, api.post(one, {"workspace_role": "workspace_developer"}).json())
    conforms(MemberRemoveResponse, api.delete(one).json())
    keys = api.get("organizations/api_keys").json()
    page_of(APIKey, keys, at_least=2)
    for key in keys["data"]:
        parsed = APIKey.model_validate(key)
        assert parsed.scope.type == "workspace" and parsed.scope.workspace_id.startswith("wrkspc_")
        assert parsed.created_by is not None and parsed.created_by.id.startswith("user_")
    key = everything["key"].public_id
    conforms(APIKey, api.get(f"organizations/api_keys/{key}").json())
    conforms(APIKey, api.post(f"organizations/api_keys/{key}", {"name": "renamed"}).json())
    conforms(APIKey, api.post(f"organizations/workspaces/{prod}/api_keys", {"name": "new"}).json())
    conforms(Workspace, api.post(f"organizations/workspaces/{created['id']}/archive").json())


def test_rate_limits(api, everything):
    prod = everything["prod"].public_id
    page_of(OrganizationRateLimit, api.get("organizations/rate_limits").json(), at_least=5)
    listed = api.get(f"organizations/workspaces/{prod}/rate_limits").json()
    page_of(WorkspaceRateLimit, listed)
    page_of(
        WorkspaceRateLimit,
        api.get(
            f"organizations/workspaces/{prod}/rate_limits", {"include_inherited": "true"}
        ).json(),
        at_least=5,
    )
    updated = api.post(
        f"organizations/workspaces/{prod}/rate_limits/haiku-4-5",
        {"limits": [{"type": "output_tokens_per_minute", "value": 100}]},
    ).json()
    parsed = conforms(WorkspaceRateLimit, updated)
    assert {limit.source.type for limit in parsed.limits} == {"workspace", "organization"}


def test_spend_limits_and_increase_requests(api, personas, everything):
    limits = api.get("organizations/spend_limits").json()
    page_of(SpendLimit, limits, at_least=3)
    page_of(BetaSpendLimit, limits, at_least=3)
    assert {limit["scope"]["type"] for limit in limits["data"]} == {
        "organization",
        "workspace",
        "usage_tier",
    }
    first = limits["data"][0]["id"]
    conforms(SpendLimit, api.get(f"organizations/spend_limits/{first}").json())
    set_one = api.post(
        "organizations/spend_limits", {"amount": "8000", "scope": {"type": "organization"}}
    ).json()
    conforms(SpendLimit, set_one)
    conforms(
        SpendLimit,
        api.post(f"organizations/spend_limits/{set_one['id']}", {"amount": "8500"}).json(),
    )
    effective = api.get("organizations/spend_limits/effective").json()
    page_of(SpendSummary, effective, at_least=4)
    increase = everything["increase"].public_id
    page_of(
        SpendLimitIncreaseRequest, api.get("organizations/spend_limit_increase_requests").json()
    )
    pending = conforms(
        SpendLimitIncreaseRequest,
        api.get(f"organizations/spend_limit_increase_requests/{increase}").json(),
    )
    assert pending.spend_summary is not None and pending.status == "pending"
    approved = api.post(
        f"organizations/spend_limit_increase_requests/{increase}/approve", {"amount": "3000"}
    ).json()
    assert conforms(IncreaseRequestApproveResponse, approved).spend_limit.amount == "3000"
    again = billing_services.spend_limit_increase_request_create(
        actor=Actor.for_user(personas.developer), workspace=everything["prod"], amount_cents=4_000
    )
    denied = api.post(
        f"organizations/spend_limit_increase_requests/{again.public_id}/deny", {}
    ).json()
    assert conforms(SpendLimitIncreaseRequest, denied).status == "denied"
    workspace_limit = f"spendlimit_{everything['prod'].public_id}"
    conforms(
        SpendLimitDeleteResponse, api.delete(f"organizations/spend_limits/{workspace_limit}").json()
    )


def _day_range(everything) -> dict:
    start = datetime.combine(everything["day"], datetime.min.time(), tzinfo=UTC)
    return {"starting_at": start.isoformat(), "ending_at": (start + timedelta(days=1)).isoformat()}


def test_reports(api, everything):
    start = _day_range(everything)["starting_at"]
    every_group = [
        "api_key_id",
        "workspace_id",
        "model",
        "service_tier",
        "context_window",
        "inference_geo",
        "speed",
    ]
    for params in ({}, {"group_by[]": every_group}):
        for width in ("1d", "1h", "1m"):
            body = api.get(
                "organizations/usage_report/messages",
                {"starting_at": start, "bucket_width": width, **params},
            ).json()
            report_page_of(MessagesUsageBucket, body)
    for params in ({}, {"group_by[]": ["workspace_id", "description"]}):
        body = api.get("organizations/cost_report", {"starting_at": start, **params}).json()
        report_page_of(CostBucket, body)
    described = [r for bucket in body["data"] for r in bucket["results"]]
    assert {r["cost_type"] for r in described} == {"tokens", "web_search"}
    code = api.get(
        "organizations/usage_report/claude_code", {"starting_at": everything["day"].isoformat()}
    ).json()
    report_page_of(ClaudeCodeRecord, code, at_least=2)


def test_analytics_reports(api, everything):
    window = _day_range(everything)
    for params in ({}, {"group_by[]": ["model", "context_window", "inference_geo", "speed"]}):
        for width in ("1d", "1h"):
            body = api.get(
                "organizations/analytics/usage_report",
                {**window, "bucket_width": width, **params},
            ).json()
            report_page_of(BetaAnalyticsUsageReportTimeBucket, body)
    for params in ({}, {"group_by[]": ["model", "token_type", "cost_type", "inference_geo"]}):
        body = api.get("organizations/analytics/cost_report", {**window, **params}).json()
        report_page_of(BetaAnalyticsCostReportTimeBucket, body)
    usage_groups = ["actor", "actor_type", "api_key_id", "workspace_id", "model"]
    for params in (
        {},
        {"group_by[]": usage_groups},
        {"group_by[]": ["service_tier", "speed", "product"], "time_bucket_width": "1d"},
    ):
        body = api.get("organizations/analytics/usage", {**window, **params}).json()
        rows = report_page_of(BetaAnalyticsUsageItem, body)
    assert {row.group.speed for row in rows} == {"fast", "standard"}
    for params in (
        {},
        {"group_by[]": ["workspace_id", "model", "token_type", "cost_type", "service_tier"]},
    ):
        body = api.get("organizations/analytics/cost", {**window, **params}).json()
        report_page_of(BetaAnalyticsCostItem, body)
    for params in ({}, {"group_by[]": ["model"], "bucket_width": "1d"}):
        body = api.get("organizations/analytics/user_usage_report", {**window, **params}).json()
        report_page_of(BetaAnalyticsUsageUsersItem, body)


def test_sign_out(api, personas, everything):
    signed_out = api.post(f"organizations/users/{personas.developer.public_id}/sign_out").json()
    conforms(BetaOrganizationUser, signed_out)
    conforms(OrganizationUser, signed_out)


# Every endpoint this module holds to a type, by method and path.
COVERED = {
    ("GET", "/v1/organizations/me"),
    ("GET", "/v1/organizations/users"),
    ("GET", "/v1/organizations/users/{user_id}"),
    ("POST", "/v1/organizations/users/{user_id}"),
    ("DELETE", "/v1/organizations/users/{user_id}"),
    ("POST", "/v1/organizations/users/{user_id}/sign_out"),
    ("GET", "/v1/organizations/invites"),
    ("POST", "/v1/organizations/invites"),
    ("GET", "/v1/organizations/invites/{invite_id}"),
    ("DELETE", "/v1/organizations/invites/{invite_id}"),
    ("GET", "/v1/organizations/workspaces"),
    ("POST", "/v1/organizations/workspaces"),
    ("GET", "/v1/organizations/workspaces/{workspace_id}"),
    ("POST", "/v1/organizations/workspaces/{workspace_id}"),
    ("POST", "/v1/organizations/workspaces/{workspace_id}/archive"),
    ("GET", "/v1/organizations/workspaces/{workspace_id}/members"),
    ("POST", "/v1/organizations/workspaces/{workspace_id}/members"),
    ("GET", "/v1/organizations/workspaces/{workspace_id}/members/{user_id}"),
    ("POST", "/v1/organizations/workspaces/{workspace_id}/members/{user_id}"),
    ("DELETE", "/v1/organizations/workspaces/{workspace_id}/members/{user_id}"),
    ("GET", "/v1/organizations/api_keys"),
    ("GET", "/v1/organizations/api_keys/{api_key_id}"),
    ("POST", "/v1/organizations/api_keys/{api_key_id}"),
    ("GET", "/v1/organizations/rate_limits"),
    ("GET", "/v1/organizations/workspaces/{workspace_id}/rate_limits"),
    ("POST", "/v1/organizations/workspaces/{workspace_id}/rate_limits/{rate_limit_id}"),
    ("GET", "/v1/organizations/spend_limits"),
    ("POST", "/v1/organizations/spend_limits"),
    ("GET", "/v1/organizations/spend_limits/{spend_limit_id}"),
    ("DELETE", "/v1/organizations/spend_limits/{spend_limit_id}"),
    ("GET", "/v1/organizations/spend_limits/effective"),
    ("GET", "/v1/organizations/spend_limit_increase_requests"),
    ("GET", "/v1/organizations/spend_limit_increase_requests/{spend_limit_increase_request_id}"),
    (
        "POST",
        "/v1/organizations/spend_limit_increase_requests/{spend_limit_increase_request_id}/approve",
    ),
    (
        "POST",
        "/v1/organizations/spend_limit_increase_requests/{spend_limit_increase_request_id}/deny",
    ),
    ("GET", "/v1/organizations/analytics/usage_report"),
    ("GET", "/v1/organizations/analytics/cost_report"),
    ("GET", "/v1/organizations/analytics/usage"),
    ("GET", "/v1/organizations/analytics/cost"),
    ("GET", "/v1/organizations/analytics/user_usage_report"),
    # Anthropic's reports the SDK has no method for, held to the contract's strict models.
    ("GET", "/v1/organizations/usage_report/messages"),
    ("GET", "/v1/organizations/cost_report"),
    ("GET", "/v1/organizations/usage_report/claude_code"),
}
# Beyond Anthropic's API: no type to hold them to; test_contract checks their shapes.
OURS = {
    ("POST", "/v1/organizations/spend_limits/{spend_limit_id}"),
    ("DELETE", "/v1/organizations/api_keys/{api_key_id}"),
    ("POST", "/v1/organizations/workspaces/{workspace_id}/api_keys"),
    ("GET", "/v1/organizations/workspaces/{workspace_id}/spend_limit"),
    ("POST", "/v1/organizations/workspaces/{workspace_id}/spend_limit"),
    ("GET", "/v1/organizations/workspaces/{workspace_id}/spend_notifications"),
    ("POST", "/v1/organizations/workspaces/{workspace_id}/spend_notifications"),
    ("DELETE", "/v1/organizations/workspaces/{workspace_id}/spend_notifications/{notification_id}"),
}
# The SDK's endpoints Console does not serve, and why.
ENTERPRISE_ONLY = "Claude Enterprise only (shared/admin-api.md): not in Console"
NOT_SERVED = {
    "/v1/organizations/analytics/apps/": "claude.ai engagement: Console has no such data",
    "/v1/organizations/analytics/artifacts": "claude.ai engagement: Console has no such data",
    "/v1/organizations/analytics/connectors": "claude.ai engagement: Console has no such data",
    "/v1/organizations/analytics/plugins": "claude.ai engagement: Console has no such data",
    "/v1/organizations/analytics/projects": "claude.ai engagement: Console has no such data",
    "/v1/organizations/analytics/skills": "claude.ai engagement: Console has no such data",
    "/v1/organizations/analytics/summaries": "claude.ai engagement: Console has no such data",
    "/v1/organizations/analytics/users": "claude.ai engagement: Console has no such data",
    "/v1/organizations/analytics/user_cost_report": "the cost engine prices by workspace and "
    "model, not by key, so not by member",
    "/v1/organizations/claude_code/": ENTERPRISE_ONLY,
    "/v1/organizations/claude_tag/": ENTERPRISE_ONLY,
    "/v1/organizations/compliance_settings": ENTERPRISE_ONLY,
    "/v1/organizations/external_keys": ENTERPRISE_ONLY,
    "/v1/organizations/external_storage": ENTERPRISE_ONLY,
    "/v1/organizations/federation_": ENTERPRISE_ONLY,
    "/v1/organizations/plugin": ENTERPRISE_ONLY,
    "/v1/organizations/providers/": ENTERPRISE_ONLY,
    "/v1/organizations/rbac_": ENTERPRISE_ONLY,
    "/v1/organizations/service_accounts": ENTERPRISE_ONLY,
    "/v1/organizations/telemetry_destinations": ENTERPRISE_ONLY,
    "/v1/organizations/webhooks": ENTERPRISE_ONLY,
    "/v1/organizations/workspaces/{workspace_id}/service_accounts": ENTERPRISE_ONLY,
}


def _served() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, methods in DOCUMENT.items() for method in methods}


def test_the_document_is_the_covered_endpoints_and_ours():
    assert _served() == COVERED | OURS


def test_every_sdk_endpoint_is_served_or_out_of_scope():
    paths = {path for _method, path in sdk_endpoints()}
    for prefix in NOT_SERVED:
        assert any(path.startswith(prefix) for path in paths), f"the SDK has no {prefix}"
    for (method, path), callers in sdk_endpoints().items():
        reason = next((why for prefix, why in NOT_SERVED.items() if path.startswith(prefix)), None)
        if reason is None:
            assert (method, path) in COVERED, f"{method} {path} ({callers[0]}) is not served"
        else:
            assert (method, path) not in _served(), f"{method} {path} is served: {reason}?"


def test_every_covered_endpoint_was_fetched(request):
    """What the module's other tests fetched (they run first, in file order)."""
    selected = {
        item.originalname for item in request.session.items if item.module is request.module
    }
    defined = {name for name in vars(request.module) if name.startswith("test_")}
    if selected != defined:
        pytest.skip("checks what all the other tests of this module fetched")
    assert COVERED <= FETCHED, sorted(COVERED - FETCHED)
