"""Every answer of every endpoint validates with the `anthropic` SDK's own type for it, with
every field the type declares present: clients typed from the SDK read Console as they read
Anthropic's API."""

from datetime import UTC, datetime, timedelta

import pytest
from anthropic.types import OrganizationInfo
from anthropic.types.beta.organization import (
    BetaAnalyticsCostReportTimeBucket,
    BetaAnalyticsUsageReportTimeBucket,
    BetaSpendLimit,
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
from pydantic import BaseModel

from accounts import services as account_services
from accounts.audit import Actor
from accounts.roles import OrgRole, WorkspaceRole
from billing import services as billing_services
from billing import usage
from billing.models import Model
from console.api_urls import api as admin_api
from tests.factories import MemberFactory, UserFactory, WorkspaceMemberFactory
from workspaces import services as workspace_services


class ClaudeCodeRecord(BaseModel):
    """Anthropic's Claude Code usage report record (the SDK has no type for it)."""

    class Actor(BaseModel):
        type: str
        api_key_name: str

    class ModelBreakdown(BaseModel):
        model: str
        tokens: dict[str, int]
        estimated_cost: dict[str, str | int]

    date: datetime
    actor: Actor
    organization_id: str
    customer_type: str
    terminal_type: str
    core_metrics: dict
    tool_actions: dict
    model_breakdown: list[ModelBreakdown]


def conforms(model: type[BaseModel], data: dict) -> BaseModel:
    """`data` validates with `model` and holds every field `model` declares."""
    missing = {
        (info.alias or name)
        for name, info in model.model_fields.items()
        if (info.alias or name) not in data
    }
    assert not missing, f"{model.__name__} lacks {sorted(missing)} in {data}"
    return model.model_validate(data)


def page_of(model: type[BaseModel], body: dict, *, at_least: int = 1) -> None:
    assert set(body) >= {"data"}
    assert len(body["data"]) >= at_least, body
    for item in body["data"]:
        conforms(model, item)


@pytest.fixture
def world(api, personas):
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


def test_organization_users_and_invites(api, personas, world):
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


def test_workspaces_members_and_keys(api, personas, world):
    prod = world["prod"].public_id
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
    key = world["key"].public_id
    conforms(APIKey, api.get(f"organizations/api_keys/{key}").json())
    conforms(APIKey, api.post(f"organizations/api_keys/{key}", {"name": "renamed"}).json())
    conforms(APIKey, api.post(f"organizations/workspaces/{prod}/api_keys", {"name": "new"}).json())
    conforms(Workspace, api.post(f"organizations/workspaces/{created['id']}/archive").json())


def test_rate_limits(api, world):
    prod = world["prod"].public_id
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


def test_spend_limits_and_increase_requests(api, personas, world):
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
    increase = world["increase"].public_id
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
        actor=Actor.for_user(personas.developer), workspace=world["prod"], amount_cents=4_000
    )
    denied = api.post(
        f"organizations/spend_limit_increase_requests/{again.public_id}/deny", {}
    ).json()
    assert conforms(SpendLimitIncreaseRequest, denied).status == "denied"
    workspace_limit = f"spendlimit_{world['prod'].public_id}"
    conforms(
        SpendLimitDeleteResponse, api.delete(f"organizations/spend_limits/{workspace_limit}").json()
    )


def test_reports(api, world):
    day = world["day"]
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    for params in (
        {},
        {
            "group_by[]": [
                "api_key_id",
                "workspace_id",
                "model",
                "service_tier",
                "context_window",
                "inference_geo",
                "speed",
            ]
        },
    ):
        for width in ("1d", "1h", "1m"):
            body = api.client.get(
                "/v1/organizations/usage_report/messages",
                {"starting_at": start.isoformat(), "bucket_width": width, **params},
            ).json()
            page_of(BetaAnalyticsUsageReportTimeBucket, body)
            assert set(body) == {"data", "has_more", "next_page"}
    for params in ({}, {"group_by[]": ["workspace_id", "description"]}):
        body = api.client.get(
            "/v1/organizations/cost_report", {"starting_at": start.isoformat(), **params}
        ).json()
        page_of(BetaAnalyticsCostReportTimeBucket, body)
    described = [r for bucket in body["data"] for r in bucket["results"]]
    assert {r["cost_type"] for r in described} == {"tokens", "web_search"}
    code = api.get(
        "organizations/usage_report/claude_code", {"starting_at": day.isoformat()}
    ).json()
    page_of(ClaudeCodeRecord, code, at_least=2)


COVERED = {
    "/v1/organizations/me",
    "/v1/organizations/users",
    "/v1/organizations/users/{user_id}",
    "/v1/organizations/invites",
    "/v1/organizations/invites/{invite_id}",
    "/v1/organizations/workspaces",
    "/v1/organizations/workspaces/{workspace_id}",
    "/v1/organizations/workspaces/{workspace_id}/archive",
    "/v1/organizations/workspaces/{workspace_id}/members",
    "/v1/organizations/workspaces/{workspace_id}/members/{user_id}",
    "/v1/organizations/workspaces/{workspace_id}/api_keys",
    "/v1/organizations/api_keys",
    "/v1/organizations/api_keys/{api_key_id}",
    "/v1/organizations/rate_limits",
    "/v1/organizations/workspaces/{workspace_id}/rate_limits",
    "/v1/organizations/workspaces/{workspace_id}/rate_limits/{rate_limit_id}",
    "/v1/organizations/spend_limits",
    "/v1/organizations/spend_limits/{spend_limit_id}",
    "/v1/organizations/spend_limits/effective",
    "/v1/organizations/spend_limit_increase_requests",
    "/v1/organizations/spend_limit_increase_requests/{request_id}",
    "/v1/organizations/spend_limit_increase_requests/{request_id}/approve",
    "/v1/organizations/spend_limit_increase_requests/{request_id}/deny",
    "/v1/organizations/usage_report/messages",
    "/v1/organizations/usage_report/claude_code",
    "/v1/organizations/cost_report",
}
# Beyond Anthropic's API: no SDK type to hold them to; test_contract checks their shapes.
OURS = {
    "/v1/organizations/workspaces/{workspace_id}/spend_limit",
    "/v1/organizations/workspaces/{workspace_id}/spend_notifications",
    "/v1/organizations/workspaces/{workspace_id}/spend_notifications/{notification_id}",
}


def test_every_endpoint_is_covered():
    documented = set(admin_api.get_openapi_schema(path_prefix="/v1/")["paths"])
    assert documented == COVERED | OURS
