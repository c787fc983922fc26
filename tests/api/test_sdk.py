"""The official `anthropic` SDK, pointed at a running Console, manages it as it would the
hosted Admin API: every method of the SDK whose endpoint Console serves is called here, and
answers."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import anthropic
import pytest
from django.urls import reverse

from accounts import services
from accounts.audit import Actor
from console.api_urls import api as admin_api
from tests.api.sdk_endpoints import sdk_endpoints, template_of
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services

# The last test checks what the others fetched: the module runs in one test process.

# What the SDK asked of the server in this module's tests: (method, path template) pairs.
CALLED: set[tuple[str, str]] = set()
SDK_TEMPLATES = {path for _method, path in sdk_endpoints()}


def _note(request) -> None:
    template = template_of(request.url.path, SDK_TEMPLATES)
    if template is not None:
        CALLED.add((request.method, template))


@pytest.fixture
def sdk(transactional_db, catalog, personas, live_server):
    _key, secret = services.admin_key_create(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="sdk"
    )
    # Closed after each test, so no keep-alive connection leaves the server a thread waiting.
    with anthropic.Anthropic(
        api_key=secret,
        base_url=live_server.url,
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(event_hooks={"request": [_note]}),
    ) as client:
        yield client


def test_organization_users_and_invites(sdk, personas):
    org = sdk.organization.retrieve()
    assert (org.id, org.name) == (str(personas.org.id), "Acme Test")
    users = list(sdk.organization.users.list())
    assert {u.email for u in users} == {
        "admin@acme.test",
        "billing@acme.test",
        "developer@acme.test",
        "user@acme.test",
    }
    assert [u.email for u in sdk.organization.users.list(roles=["billing"])] == [
        "billing@acme.test"
    ]
    got = sdk.organization.users.retrieve(personas.developer.public_id)
    assert (got.email, got.role) == ("developer@acme.test", "developer")
    updated = sdk.organization.users.update(personas.user.public_id, role="developer")
    assert updated.role == "developer"
    invite = sdk.organization.invites.create(email="sdk@acme.test", role="user")
    assert (
        invite.status == "pending"
        and sdk.organization.invites.retrieve(invite.id).email == "sdk@acme.test"
    )
    assert [i.id for i in sdk.organization.invites.list()] == [invite.id]
    sdk.organization.invites.delete(invite.id)
    removed = sdk.organization.users.remove(personas.user.public_id)
    assert removed.id == personas.user.public_id
    with pytest.raises(anthropic.BadRequestError):
        sdk.organization.invites.create(email="developer@acme.test", role="user")
    with pytest.raises(anthropic.NotFoundError):
        sdk.organization.users.retrieve(personas.outsider.public_id)


def test_workspaces_and_members(sdk, personas):
    workspace = sdk.organization.workspaces.create(name="From the SDK", display_color="#3B82F6")
    assert workspace.name == "From the SDK"
    assert sdk.organization.workspaces.retrieve(workspace.id) == workspace
    renamed = sdk.organization.workspaces.update(workspace.id, name="Renamed")
    assert renamed.name == "Renamed"
    member = sdk.organization.workspaces.members.add(
        workspace.id, user_id=personas.developer.public_id, workspace_role="workspace_developer"
    )
    assert member.workspace_role == "workspace_developer"
    updated = sdk.organization.workspaces.members.update(
        personas.developer.public_id, workspace_id=workspace.id, workspace_role="workspace_admin"
    )
    assert updated.workspace_role == "workspace_admin"
    got = sdk.organization.workspaces.members.retrieve(
        personas.developer.public_id, workspace_id=workspace.id
    )
    assert (got.user_id, got.workspace_role) == (personas.developer.public_id, "workspace_admin")
    assert [m.user_id for m in sdk.organization.workspaces.members.list(workspace.id)] == [
        personas.developer.public_id
    ]
    sdk.organization.workspaces.members.remove(
        personas.developer.public_id, workspace_id=workspace.id
    )
    with pytest.raises(anthropic.BadRequestError):
        sdk.organization.workspaces.members.add(
            workspace.id, user_id=personas.user.public_id, workspace_role="workspace_billing"
        )
    archived = sdk.organization.workspaces.archive(workspace.id)
    assert archived.archived_at is not None
    assert [w.id for w in sdk.organization.workspaces.list()] == []
    assert [w.id for w in sdk.organization.workspaces.list(include_archived=True)] == [workspace.id]
    with pytest.raises(anthropic.BadRequestError):
        sdk.organization.workspaces.update(personas.default_workspace.public_id, name="No")
    with pytest.raises(anthropic.NotFoundError):
        sdk.organization.workspaces.retrieve(
            WorkspaceFactory(organization=personas.other_org).public_id
        )


def test_api_keys_with_auto_pagination(sdk, personas):
    workspace = WorkspaceFactory(organization=personas.org)
    actor = Actor.for_user(personas.developer)
    created = [
        workspace_services.api_key_create(actor=actor, workspace=workspace, name=f"key {i}")[0]
        for i in range(7)
    ]
    seen = [key.id for key in sdk.organization.api_keys.list(limit=3)]
    assert seen == [key.public_id for key in created]  # three pages, in creation order
    filtered = sdk.organization.api_keys.list(
        workspace_id=workspace.public_id, created_by_user_id=personas.developer.public_id
    )
    assert len(filtered.data) == 7
    key = sdk.organization.api_keys.update(created[0].public_id, name="renamed", status="inactive")
    assert (key.name, key.status) == ("renamed", "inactive")
    assert [k.id for k in sdk.organization.api_keys.list(status="inactive")] == [
        created[0].public_id
    ]
    assert (
        sdk.organization.api_keys.retrieve(created[1].public_id).partial_key_hint == created[1].hint
    )


def test_error_classes(sdk, personas, live_server):
    with pytest.raises(anthropic.NotFoundError):
        sdk.organization.api_keys.retrieve("apikey_nope")
    with pytest.raises(anthropic.BadRequestError):
        sdk.organization.workspaces.create(name="")
    with (
        anthropic.Anthropic(
            api_key="sk-ant-admin01-wrong", base_url=live_server.url, max_retries=0
        ) as wrong,
        pytest.raises(anthropic.AuthenticationError),
    ):
        wrong.organization.retrieve()
    _key, workspace_secret = workspace_services.api_key_create(
        actor=Actor.for_user(personas.admin), workspace=personas.default_workspace, name="w"
    )
    with (
        anthropic.Anthropic(api_key=workspace_secret, base_url=live_server.url, max_retries=0) as w,
        pytest.raises((anthropic.AuthenticationError, anthropic.PermissionDeniedError)),
    ):
        w.organization.retrieve()


def test_workspace_fields_and_filters(sdk, personas):
    workspace = sdk.organization.workspaces.create(
        name="Tagged",
        display_color="#0A0B0C",
        tags={"team": "ml", "tier": "gold"},
        data_residency={"allowed_inference_geos": ["us"], "default_inference_geo": "us"},
    )
    assert workspace.display_color == "#0A0B0C" and workspace.tags == {"team": "ml", "tier": "gold"}
    assert workspace.data_residency.workspace_geo == "us"
    assert workspace.compartment_id.startswith("cmpt_")
    updated = sdk.organization.workspaces.update(workspace.id, tags={"tier": None, "new": "x"})
    assert updated.tags == {"team": "ml", "new": "x"}
    other = sdk.organization.workspaces.create(name="Other")
    assert [w.id for w in sdk.organization.workspaces.list(ids=[other.id])] == [other.id]
    invite = sdk.organization.invites.create(email="cc@acme.test", role="claude_code_user")
    assert invite.role == "claude_code_user" and invite.rbac_group_ids == []
    assert [
        i.id
        for i in sdk.organization.invites.list(statuses=["pending"], roles=["claude_code_user"])
    ] == [invite.id]
    assert list(sdk.organization.invites.list(statuses=["accepted"])) == []
    assert [u.email for u in sdk.organization.users.list(email="user@acme.test")] == [
        "user@acme.test"
    ]
    assert (
        sdk.organization.users.update(personas.user.public_id, role="claude_code_user").role
        == "claude_code_user"
    )


def test_rate_limits(sdk, personas):
    workspace = WorkspaceFactory(organization=personas.org)
    groups = list(sdk.organization.rate_limits.list())
    sonnet = next(g for g in groups if g.id == "sonnet-4")
    assert sonnet.group.type == "model_group" and sonnet.group.id == "rlg_sonnet-4"
    assert [g.id for g in sdk.organization.rate_limits.list(model="claude-haiku-4-5")] == [
        "haiku-4-5"
    ]
    assert list(sdk.organization.workspaces.rate_limits.list(workspace.public_id)) == []
    inherited = list(
        sdk.organization.workspaces.rate_limits.list(workspace.public_id, include_inherited=True)
    )
    assert len(inherited) == 5
    assert {limit.source.type for g in inherited for limit in g.limits} == {"organization"}
    updated = sdk.organization.workspaces.rate_limits.update(
        "sonnet-4",
        workspace_id=workspace.public_id,
        limits=[
            {"type": "requests_per_minute", "value": 25},
            {"type": "input_tokens_per_minute_cache_aware", "value": 9_000},
        ],
    )
    by_type = {limit.type: limit for limit in updated.limits}
    assert by_type["requests_per_minute"].value == 25
    assert by_type["requests_per_minute"].source.type == "workspace"
    assert by_type["requests_per_minute"].org_limit == 50
    with pytest.raises(anthropic.BadRequestError):
        sdk.organization.workspaces.rate_limits.update(
            "sonnet-4",
            workspace_id=workspace.public_id,
            limits=[{"type": "tokens_per_day", "value": 1}],
        )
    assert [
        g.rate_limit_id for g in sdk.organization.workspaces.rate_limits.list(workspace.public_id)
    ] == ["sonnet-4"]


def test_spend_limits_effective_and_increase_requests(sdk, personas):
    from billing import services as billing_services

    workspace = WorkspaceFactory(organization=personas.org)
    beta = sdk.beta.organization.spend_limits
    set_limit = beta.set(
        amount="5000", scope={"type": "workspace", "workspace_id": workspace.public_id}
    )
    assert (set_limit.amount, set_limit.period, set_limit.scope.type) == (
        "5000",
        "monthly",
        "workspace",
    )
    again = beta.set(
        amount="4000", scope={"type": "workspace", "workspace_id": workspace.public_id}
    )
    assert again.id == set_limit.id and again.amount == "4000"  # an upsert on scope and period
    listed = list(beta.list())
    assert {limit.scope.type for limit in listed} == {"workspace", "usage_tier"}
    assert [limit.id for limit in beta.list(workspace_id=workspace.public_id)] == [set_limit.id]
    assert beta.retrieve(set_limit.id).amount == "4000"
    effective = list(sdk.organization.spend_limits.effective.list())
    mine = [row for row in effective if row.actor.user_id == personas.developer.public_id]
    assert {row.scope.type for row in mine} == {"organization", "workspace"}
    assert list(sdk.organization.spend_limits.effective.list(period=["daily"])) == []
    only = list(sdk.organization.spend_limits.effective.list(user_ids=[personas.admin.public_id]))
    assert {row.actor.user_id for row in only} == {personas.admin.public_id}
    assert any(row.source.type == "workspace" and row.amount == "4000" for row in only)

    increase = billing_services.spend_limit_increase_request_create(
        actor=Actor.for_user(personas.developer), workspace=workspace, amount_cents=6_000
    )
    requests = sdk.organization.spend_limits.increase_requests
    assert [r.id for r in requests.list(status=["pending"])] == [increase.public_id]
    pending = requests.retrieve(increase.public_id)
    assert pending.status == "pending" and pending.spend_summary.amount == "4000"
    approved = requests.approve(increase.public_id, amount="6000", suppress_notification=True)
    assert approved.status == "approved" and approved.spend_limit.amount == "6000"
    with pytest.raises(anthropic.BadRequestError):
        requests.deny(increase.public_id)
    again = billing_services.spend_limit_increase_request_create(
        actor=Actor.for_user(personas.developer), workspace=workspace, amount_cents=7_000
    )
    denied = requests.deny(again.public_id, suppress_notification=True)
    assert (denied.id, denied.status, denied.spend_summary) == (again.public_id, "denied", None)
    assert denied.resolved_by is not None
    assert denied.resolved_by.user_id == personas.admin.public_id
    assert [r.id for r in requests.list(status=["denied"])] == [again.public_id]
    beta.delete(set_limit.id)
    with pytest.raises(anthropic.NotFoundError):
        beta.retrieve(set_limit.id)


def test_reports_page_with_the_sdks_report_cursor(sdk, personas):
    from datetime import UTC, datetime

    from anthropic.pagination import SyncPageCursor
    from anthropic.types.beta.organization import (
        BetaAnalyticsCostReportTimeBucket,
        BetaAnalyticsUsageReportTimeBucket,
    )

    from billing import usage
    from billing.models import Model

    key, _ = workspace_services.api_key_create(
        actor=Actor.for_user(personas.admin), workspace=personas.default_workspace, name="r"
    )
    model = Model.objects.get(api_name="claude-haiku-4-5")
    for day in (1, 2, 3):
        usage.record(
            api_key=key,
            model=model,
            tokens={"uncached_input_tokens": 100 * day, "output_tokens": day},
            at=datetime(2026, 11, day, 12, tzinfo=UTC),
        )
    usage = sdk.get_api_list(
        "/v1/organizations/usage_report/messages",
        model=BetaAnalyticsUsageReportTimeBucket,
        page=SyncPageCursor[BetaAnalyticsUsageReportTimeBucket],
        options={
            "params": {
                "starting_at": "2026-11-01T00:00:00Z",
                "ending_at": "2026-11-04T00:00:00Z",
                "limit": 1,
                "group_by[]": ["model"],
            }
        },
    )
    buckets = list(usage)  # three pages of one bucket
    assert [b.starting_at.day for b in buckets] == [1, 2, 3]
    assert [b.results[0].uncached_input_tokens for b in buckets] == [100, 200, 300]
    cost = sdk.get_api_list(
        "/v1/organizations/cost_report",
        model=BetaAnalyticsCostReportTimeBucket,
        page=SyncPageCursor[BetaAnalyticsCostReportTimeBucket],
        options={
            "params": {
                "starting_at": "2026-11-01T00:00:00Z",
                "ending_at": "2026-11-04T00:00:00Z",
                "limit": 2,
            }
        },
    )
    assert len(list(cost)) == 3


def test_signing_a_user_out_ends_their_sessions(sdk, personas, client):
    signed_in = client(personas.developer)
    home = reverse("workspaces:workspace_list")
    assert signed_in.get(home).status_code == 200
    user = sdk.beta.organization.users.sign_out(personas.developer.public_id)
    assert (user.id, user.role) == (personas.developer.public_id, "developer")
    response = signed_in.get(home)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk.beta.organization.users.sign_out(personas.admin.public_id)  # the key's creator
    assert refused.value.body["error"]["details"] == {"error_code": "cannot_sign_out_self"}
    with pytest.raises(anthropic.NotFoundError):
        sdk.beta.organization.users.sign_out(personas.outsider.public_id)


def test_analytics_reports(sdk, personas):
    from billing import usage
    from billing.models import Model

    workspace = WorkspaceFactory(organization=personas.org)
    key, _ = workspace_services.api_key_create(
        actor=Actor.for_user(personas.developer), workspace=workspace, name="dev"
    )
    haiku, sonnet = (Model.objects.get(api_name=f"claude-{n}-4-5") for n in ("haiku", "sonnet"))
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    usage.record(
        api_key=key,
        model=haiku,
        tokens={"uncached_input_tokens": 100, "output_tokens": 10},
        at=day + timedelta(hours=3),
    )
    usage.record(
        api_key=key,
        model=sonnet,
        tokens={"uncached_input_tokens": 5, "output_tokens": 1},
        at=day + timedelta(days=1, hours=3),
    )
    window = {"starting_at": day, "ending_at": day + timedelta(days=2)}
    analytics = sdk.beta.organization.analytics

    buckets = list(analytics.usage_report.list(**window, group_by=["model"], limit=1))
    assert [b.starting_at for b in buckets] == [day, day + timedelta(days=1)]  # two pages
    assert [[r.model for r in b.results] for b in buckets] == [
        ["claude-haiku-4-5"],
        ["claude-sonnet-4-5"],
    ]
    mine = list(analytics.usage_report.list(**window, user_ids=[personas.developer.public_id]))
    assert sum(r.output_tokens for b in mine for r in b.results) == 11
    # Console's usage is no claude.ai surface's.
    assert all(b.results == [] for b in analytics.usage_report.list(**window, products=["chat"]))

    costs = list(analytics.cost_report.list(**window, group_by=["model", "token_type"]))
    amounts = {(r.model, r.token_type): r.amount for b in costs for r in b.results}
    assert set(amounts) == {
        ("claude-haiku-4-5", "uncached_input_tokens"),
        ("claude-haiku-4-5", "output_tokens"),
        ("claude-sonnet-4-5", "uncached_input_tokens"),
        ("claude-sonnet-4-5", "output_tokens"),
    }
    with pytest.raises(anthropic.BadRequestError):
        list(analytics.cost_report.list(**window, group_by=["speed"]))

    rows = list(
        analytics.usage.list(**window, group_by=["model", "actor"], order_by="output_tokens")
    )
    assert [(r.group.model, r.usage.output_tokens) for r in rows] == [
        ("claude-haiku-4-5", 10),
        ("claude-sonnet-4-5", 1),
    ]
    assert {r.group.actor.user_id for r in rows} == {personas.developer.public_id}
    assert [
        r.group.workspace_id for r in analytics.usage.list(**window, group_by=["workspace_id"])
    ] == [workspace.public_id]
    by_day = list(
        analytics.usage.list(**window, time_bucket_width="1d", order_by="time", order="asc")
    )
    assert [r.starting_at for r in by_day] == [day, day + timedelta(days=1)]

    spent = list(analytics.cost.list(**window, group_by=["model"], order_by="amount"))
    assert [r.group.model for r in spent] == ["claude-haiku-4-5", "claude-sonnet-4-5"]
    assert Decimal(spent[0].cost.amount) > Decimal(spent[1].cost.amount) > 0

    members = list(analytics.user_usage_report.list(**window))
    assert [(m.actor.user_id, m.output_tokens) for m in members] == [
        (personas.developer.public_id, 11)
    ]


def test_anthropics_reports_the_sdk_has_no_method_for(sdk, personas):
    """The Claude Code report, read through the SDK's own client as its generic list."""
    from anthropic import BaseModel
    from anthropic.pagination import SyncPageCursor

    from billing import usage
    from billing.models import Model

    class Record(BaseModel):
        actor: dict[str, str]
        model_breakdown: list[dict[str, Any]]

    key, _ = workspace_services.api_key_create(
        actor=Actor.for_user(personas.admin), workspace=personas.default_workspace, name="cc"
    )
    usage.record(
        api_key=key,
        model=Model.objects.get(api_name="claude-haiku-4-5"),
        tokens={"uncached_input_tokens": 10, "output_tokens": 2},
        at=datetime(2026, 11, 2, 12, tzinfo=UTC),
    )
    records = list(
        sdk.get_api_list(
            "/v1/organizations/usage_report/claude_code",
            model=Record,
            page=SyncPageCursor[Record],
            options={"params": {"starting_at": "2026-11-02"}},
        )
    )
    assert [r.actor for r in records] == [{"type": "api_actor", "api_key_name": "cc"}]
    assert records[0].model_breakdown[0]["tokens"]["output"] == 2


def test_every_sdk_method_console_serves_was_called(request):
    """What the module's other tests called (they run first, in file order)."""
    selected = {
        item.originalname for item in request.session.items if item.module is request.module
    }
    defined = {name for name in vars(request.module) if name.startswith("test_")}
    if selected != defined:
        pytest.skip("checks what all the other tests of this module called")
    document = admin_api.get_openapi_schema(path_prefix="/v1/")["paths"]
    served = {(m.upper(), path) for path, methods in document.items() for m in methods}
    assert set(sdk_endpoints()) & served <= CALLED, sorted(set(sdk_endpoints()) & served - CALLED)
