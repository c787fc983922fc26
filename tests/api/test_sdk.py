"""The official `anthropic` SDK, pointed at a running Console, manages it as it would the
hosted Admin API."""

import anthropic
import pytest

from accounts import services
from accounts.audit import Actor
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services


@pytest.fixture
def sdk(transactional_db, catalog, personas, live_server):
    _key, secret = services.admin_key_create(
        actor=Actor.for_user(personas.admin), organization=personas.org, name="sdk"
    )
    # Closed after each test, so no keep-alive connection leaves the server a thread waiting.
    with anthropic.Anthropic(api_key=secret, base_url=live_server.url, max_retries=0) as client:
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
