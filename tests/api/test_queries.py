"""Admin API lists issue a fixed number of queries, whatever the number of rows."""

from datetime import UTC, datetime

import pytest

from accounts.audit import Actor
from billing import services as billing_services
from billing import usage
from billing.models import ModelGroup
from tests.api.test_pagination import _keys
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory, WorkspaceMemberFactory


def _workspaces_with_limits(personas, count: int) -> None:
    group = ModelGroup.objects.get(slug="sonnet-4")
    for workspace in WorkspaceFactory.create_batch(count, organization=personas.org):
        billing_services.workspace_rate_limit_set(
            actor=Actor.for_user(personas.admin),
            workspace=workspace,
            model_group=group,
            limiter="requests_per_minute",
            value=5,
        )
        billing_services.workspace_spend_limit_set(
            actor=Actor.for_user(personas.admin), workspace=workspace, amount_cents=500
        )
        developer = MemberFactory(organization=personas.org, role="developer")
        member = WorkspaceMemberFactory(
            workspace=workspace, user=developer.user, role="workspace_developer"
        )
        billing_services.spend_limit_increase_request_create(
            actor=Actor.for_user(member.user), workspace=workspace, amount_cents=600
        )


def _invites(personas, count: int) -> None:
    from accounts import services as account_services

    for _ in range(count):
        account_services.invite_create(
            actor=Actor.for_user(personas.admin),
            organization=personas.org,
            email=UserFactory.build().email,
            role="user",
        )


LISTS = [
    ("organizations/users", lambda p, n: MemberFactory.create_batch(n, organization=p.org), 2),
    ("organizations/workspaces", _workspaces_with_limits, 2),
    ("organizations/api_keys", lambda p, n: _keys(p, n, offset=n * 7), 2),
    ("organizations/invites", lambda p, n: _invites(p, n), 2),
    ("organizations/rate_limits", _workspaces_with_limits, 7),
    ("organizations/spend_limits", _workspaces_with_limits, 4),
    ("organizations/spend_limits/effective", _workspaces_with_limits, 8),
    ("organizations/spend_limit_increase_requests", _workspaces_with_limits, 6),
]


@pytest.mark.parametrize(("path", "fill", "queries"), LISTS)
def test_list_queries_do_not_grow(api, personas, django_assert_num_queries, path, fill, queries):
    api.get("organizations/me")  # the key's first use records when it was last used
    fill(personas, 3)
    with django_assert_num_queries(queries):
        assert api.get(path, {"limit": 100}).status_code == 200
    fill(personas, 12)
    with django_assert_num_queries(queries):
        body = api.get(path, {"limit": 100}).json()
    assert body["data"]


def test_reports_queries_do_not_grow(api, personas, django_assert_num_queries):
    from billing.models import Model
    from workspaces import services as workspace_services

    api.get("organizations/me")
    model = Model.objects.get(api_name="claude-sonnet-4-5")
    for count in (2, 20):
        for i in range(count):
            workspace = WorkspaceFactory(organization=personas.org)
            key, _ = workspace_services.api_key_create(
                actor=Actor.for_user(personas.admin), workspace=workspace, name=f"k{i}"
            )
            usage.record(
                api_key=key,
                model=model,
                tokens={"output_tokens": 5},
                at=datetime(2026, 11, 1 + i % 7, 12, tzinfo=UTC),
            )
        params = {"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-08T00:00:00Z"}
        for path, group_by, queries in (
            ("usage_report/messages", ["workspace_id", "api_key_id", "model"], 3),
            ("cost_report", ["workspace_id", "description"], 4),
        ):
            with django_assert_num_queries(queries):
                api.get(f"organizations/{path}", {**params, "group_by[]": group_by})
        with django_assert_num_queries(4):
            api.get("organizations/usage_report/claude_code", {"starting_at": "2026-11-01"})
