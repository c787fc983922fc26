"""The analytics reports: what Console's usage is in Anthropic's analytics vocabulary, their
ranges, ranking and paging, and their numbers, which are the other reports' to the token."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts import services as account_services
from accounts.audit import Actor
from accounts.models import OrganizationMember
from billing import usage
from billing.models import Model
from tests.api.test_contract import error
from tests.factories import MemberFactory, WorkspaceFactory
from workspaces import services as workspace_services

DAY = datetime(2026, 11, 2, tzinfo=UTC)
WINDOW = {"starting_at": DAY.isoformat(), "ending_at": (DAY + timedelta(days=1)).isoformat()}


@pytest.fixture
def spenders(personas):
    """Three keys: the admin's in the Default workspace, a member's who will leave, and one
    whose creator's account is gone."""
    model = Model.objects.get(api_name="claude-haiku-4-5")
    workspace = WorkspaceFactory(organization=personas.org)
    leaver = MemberFactory(organization=personas.org, role="developer").user
    gone = MemberFactory(organization=personas.org, role="developer").user
    keys = {}
    for name, user, where, tokens in (
        ("admin", personas.admin, personas.default_workspace, 300),
        ("leaver", leaver, workspace, 200),
        ("gone", gone, workspace, 100),
    ):
        key, _ = workspace_services.api_key_create(
            actor=Actor.for_user(user), workspace=where, name=name
        )
        usage.record(
            api_key=key,
            model=model,
            tokens={"uncached_input_tokens": tokens, "output_tokens": tokens // 100},
            at=DAY + timedelta(hours=5),
        )
        keys[name] = key
    account_services.member_remove(
        actor=Actor.for_user(personas.admin),
        member=OrganizationMember.objects.get(organization=personas.org, user=leaver),
    )
    gone.delete()
    return {"keys": keys, "leaver": leaver, "workspace": workspace}


def _rows(api, **params):
    return api.get("organizations/analytics/usage", {**WINDOW, **params}).json()["data"]


def test_usage_is_credited_to_the_member_who_made_the_key(api, personas, spenders):
    rows = _rows(api, **{"group_by[]": ["actor"]})
    actors = {
        (row["group"]["actor"]["type"], row["usage"]["uncached_input_tokens"]): row["group"][
            "actor"
        ]
        for row in rows
    }
    assert set(actors) == {("user_actor", 300), ("user_actor", 200), ("api_actor", 100)}
    assert actors[("user_actor", 300)]["user_id"] == personas.admin.public_id
    assert actors[("user_actor", 200)]["deleted"] is True  # no longer a member
    assert actors[("api_actor", 100)] == {
        "type": "api_actor",
        "api_key_id": spenders["keys"]["gone"].public_id,
    }
    kept = _rows(api, **{"group_by[]": ["actor"], "exclude_deleted_users": "true"})
    assert sorted(row["usage"]["uncached_input_tokens"] for row in kept) == [100, 300]
    only = _rows(api, **{"actor_ids[]": [personas.admin.public_id]})
    assert [row["usage"]["uncached_input_tokens"] for row in only] == [300]
    key = _rows(api, **{"actor_ids[]": [spenders["keys"]["gone"].public_id]})
    assert [row["usage"]["uncached_input_tokens"] for row in key] == [100]
    users = _rows(api, **{"actor_types[]": ["user_actor"]})
    assert [row["usage"]["uncached_input_tokens"] for row in users] == [500]
    members = api.get("organizations/analytics/user_usage_report", WINDOW).json()["data"]
    assert [(m["actor"]["user_id"], m["actor"]["deleted"]) for m in members] == [
        (personas.admin.public_id, False),
        (spenders["leaver"].public_id, True),
    ]


def test_the_default_workspace_has_its_id(api, personas, spenders):
    rows = _rows(api, **{"group_by[]": ["workspace_id"], "order": "asc"})
    assert [(r["group"]["workspace_id"], r["usage"]["uncached_input_tokens"]) for r in rows] == [
        (personas.default_workspace.public_id, 300),
        (spenders["workspace"].public_id, 300),
    ]


def test_rows_are_ranked_and_paged_once_each(api, spenders):
    seen, page = [], None
    while True:
        body = api.get(
            "organizations/analytics/usage",
            {
                **WINDOW,
                "group_by[]": ["api_key_id"],
                "limit": 1,
                **({"page": page} if page else {}),
            },
        ).json()
        seen += [row["usage"]["uncached_input_tokens"] for row in body["data"]]
        page = body["next_page"]
        if page is None:
            break
    assert seen == [300, 200, 100]
    ascending = _rows(api, **{"group_by[]": ["api_key_id"], "order": "asc"})
    assert [row["usage"]["uncached_input_tokens"] for row in ascending] == [100, 200, 300]


def test_the_numbers_are_the_other_reports(api, spenders):
    messages = api.get(
        "organizations/usage_report/messages", {**WINDOW, "group_by[]": ["api_key_id"]}
    ).json()["data"][0]["results"]
    analytics = _rows(api, **{"group_by[]": ["api_key_id"]})
    assert {(r["api_key_id"], r["uncached_input_tokens"]) for r in messages} == {
        (r["group"]["api_key_id"], r["usage"]["uncached_input_tokens"]) for r in analytics
    }
    cost = api.get("organizations/cost_report", WINDOW).json()["data"][0]["results"]
    enterprise = api.get("organizations/analytics/cost_report", WINDOW).json()["data"][0]
    ranked = api.get("organizations/analytics/cost", WINDOW).json()["data"]
    assert cost[0]["amount"] == enterprise["results"][0]["amount"] == ranked[0]["cost"]["amount"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ending_at": (DAY + timedelta(days=32)).isoformat()}, "ending_at"),
        ({"ending_at": (DAY - timedelta(hours=1)).isoformat()}, "ending_at"),
        (
            {"ending_at": (DAY + timedelta(hours=25)).isoformat(), "time_bucket_width": "1m"},
            "ending_at",
        ),
        ({"time_bucket_width": "1h", "ending_at": None}, "ending_at"),
        ({"exclude_deleted_users": "true"}, "exclude_deleted_users"),
        (
            {"group_by[]": ["model", "speed", "actor", "api_key_id", "product", "service_tier"]},
            "group_by",
        ),
        ({"group_by[]": ["agent"]}, "group_by"),
    ],
)
def test_ranges_and_groupings_the_api_refuses(api, params, field):
    query = {**WINDOW, **params}
    query = {name: value for name, value in query.items() if value is not None}
    refused = error(api.get("organizations/analytics/usage", query), 400, "invalid_request_error")
    assert field in refused["message"]


def test_costs_are_not_broken_out_by_key(api, spenders):
    for group in ("actor", "api_key_id", "speed"):
        refused = error(
            api.get("organizations/analytics/cost", {**WINDOW, "group_by[]": [group]}),
            400,
            "invalid_request_error",
        )
        assert refused["details"] == {"error_code": "unsupported_group_by"}
    by_key = api.get(
        "organizations/analytics/cost",
        {**WINDOW, "api_key_ids[]": [spenders["keys"]["admin"].public_id]},
    ).json()["data"]
    everything = api.get("organizations/analytics/cost", WINDOW).json()["data"]
    assert 0 < float(by_key[0]["cost"]["amount"]) < float(everything[0]["cost"]["amount"])


def test_what_console_has_none_of_matches_nothing(api, spenders):
    for params in (
        {"products[]": ["claude_code"]},
        {"rbac_group_ids[]": ["rbac_group_1"]},
        {"slack_channel_ids[]": ["C1"]},
        {"actor_types[]": ["service_account_actor"]},
    ):
        assert _rows(api, **params) == [], params
    assert len(_rows(api, **{"products[]": ["messages_api"]})) == 1
    bucket = api.get(
        "organizations/analytics/usage_report", {**WINDOW, "products[]": ["chat"]}
    ).json()["data"]
    assert bucket[0]["results"] == []
