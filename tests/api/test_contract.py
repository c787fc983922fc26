"""The Admin API, endpoint by endpoint: exact shapes, every rule of the pages, every error."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from accounts.audit import Actor
from accounts.models import AuditEvent, Invite, KeyStatus, OrganizationMember
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services
from workspaces.models import ApiKey, Workspace, WorkspaceMember

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")


def error(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert body["request_id"] == response["request-id"] and body["request_id"].startswith("req_")
    return body["error"]


# -- Authentication and envelope -------------------------------------------------------------------


def test_authentication(personas, admin_key):
    key, secret = admin_key
    assert Client(HTTP_X_API_KEY=secret).get("/v1/organizations/me").status_code == 200
    assert (
        Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/v1/organizations/me").status_code == 200
    )
    error(Client().get("/v1/organizations/me"), 401, "authentication_error")
    error(
        Client(HTTP_X_API_KEY="sk-ant-admin01-wrong").get("/v1/organizations/me"),
        401,
        "authentication_error",
    )
    _wk, workspace_secret = workspace_services.api_key_create(
        actor=Actor.system("t"),
        workspace=personas.default_workspace,
        name="w",
    )
    error(
        Client(HTTP_X_API_KEY=workspace_secret).get("/v1/organizations/me"),
        401,
        "authentication_error",
    )
    key.status = KeyStatus.INACTIVE
    key.save()
    error(Client(HTTP_X_API_KEY=secret).get("/v1/organizations/me"), 401, "authentication_error")


def test_me(api, personas):
    response = api.get("organizations/me")
    assert response.json() == {
        "type": "organization",
        "id": str(personas.org.id),
        "name": "Acme Test",
    }
    assert response["request-id"].startswith("req_")
    assert (
        api.client.get(
            "/v1/organizations/me", HTTP_ANTHROPIC_VERSION="2023-06-01", HTTP_ANTHROPIC_BETA="x"
        ).status_code
        == 200
    )


def test_unknown_paths_wrong_methods_and_big_bodies(api):
    error(api.get("organizations/nothing"), 404, "not_found_error")
    error(api.delete("organizations/me"), 405, "invalid_request_error")
    big = api.client.post(
        "/v1/organizations/workspaces", "x" * (1024 * 1024 + 1), content_type="application/json"
    )
    error(big, 413, "request_too_large")
    bad = api.client.post("/v1/organizations/workspaces", "{nope", content_type="application/json")
    assert "not valid JSON" in error(bad, 400, "invalid_request_error")["message"]
    assert (
        "JSON object"
        in error(api.post("organizations/workspaces", ["x"]), 400, "invalid_request_error")[
            "message"
        ]
    )


# -- Users -----------------------------------------------------------------------------------------


def test_users(api, personas):
    body = api.get("organizations/users").json()
    assert set(body) == {"data", "has_more", "first_id", "last_id"}
    user = next(u for u in body["data"] if u["email"] == "developer@acme.test")
    assert set(user) == {"type", "id", "email", "name", "role", "added_at"}
    assert user["type"] == "user" and user["role"] == "developer" and TIME.match(user["added_at"])
    assert [
        u["email"]
        for u in api.get("organizations/users", {"email": "BILLING@acme.test"}).json()["data"]
    ] == ["billing@acme.test"]
    admins_and_users = api.client.get("/v1/organizations/users?roles[]=admin&roles[]=user").json()[
        "data"
    ]
    assert sorted(u["role"] for u in admins_and_users) == ["admin", "user"]
    assert len(api.client.get("/v1/organizations/users?roles=admin&roles=user").json()["data"]) == 2
    error(api.get("organizations/users", {"roles[]": "owner"}), 400, "invalid_request_error")
    assert personas.outsider.email not in str(body)


def test_user_role_change_and_removal(api, personas):
    target = personas.user.public_id
    assert (
        api.post(f"organizations/users/{target}", {"role": "developer"}).json()["role"]
        == "developer"
    )
    error(
        api.post(f"organizations/users/{target}", {"role": "admin"}), 400, "invalid_request_error"
    )
    error(api.post(f"organizations/users/{target}", {}), 400, "invalid_request_error")
    error(
        api.post(f"organizations/users/{personas.admin.public_id}", {"role": "user"}),
        400,
        "invalid_request_error",
    )
    error(
        api.delete(f"organizations/users/{personas.admin.public_id}"), 400, "invalid_request_error"
    )
    assert api.delete(f"organizations/users/{target}").json() == {
        "id": target,
        "type": "user_deleted",
    }
    error(api.get(f"organizations/users/{target}"), 404, "not_found_error")
    error(api.get(f"organizations/users/{personas.outsider.public_id}"), 404, "not_found_error")
    event = AuditEvent.objects.filter(action="member.remove").get()
    assert event.actor_label.startswith("Admin API key “ops” (adminkey_")


# -- Invites ---------------------------------------------------------------------------------------


def test_invites(api, personas):
    created = api.post("organizations/invites", {"email": "New@X.test", "role": "developer"}).json()
    assert set(created) == {
        "type",
        "id",
        "email",
        "role",
        "status",
        "invited_at",
        "expires_at",
        "accepted_at",
        "rbac_group_ids",
    }
    assert created["accepted_at"] is None and created["rbac_group_ids"] == []
    assert (created["type"], created["email"], created["status"]) == (
        "invite",
        "new@x.test",
        "pending",
    )
    assert created["id"].startswith("invite_")
    already = error(
        api.post("organizations/invites", {"email": "new@x.test", "role": "user"}),
        400,
        "invalid_request_error",
    )
    assert already["details"] == {"error_code": "invite_already_exists"}
    error(
        api.post(
            "organizations/invites", {"email": "a@b.test", "role": "user", "rbac_group_ids": ["g"]}
        ),
        400,
        "invalid_request_error",
    )
    member = error(
        api.post("organizations/invites", {"email": "user@acme.test", "role": "user"}),
        400,
        "invalid_request_error",
    )
    assert member["details"] == {"error_code": "already_member"}
    error(
        api.post("organizations/invites", {"email": "a@b.test", "role": "admin"}),
        400,
        "invalid_request_error",
    )
    error(
        api.post("organizations/invites", {"email": "not-an-email", "role": "user"}),
        400,
        "invalid_request_error",
    )
    assert api.get(f"organizations/invites/{created['id']}").json() == created
    assert [i["id"] for i in api.get("organizations/invites").json()["data"]] == [created["id"]]
    assert api.delete(f"organizations/invites/{created['id']}").json() == {
        "id": created["id"],
        "type": "invite_deleted",
    }
    assert api.get(f"organizations/invites/{created['id']}").json()["status"] == "deleted"
    assert api.get("organizations/invites").json()["data"] == []  # revoked ones are left out
    error(api.delete(f"organizations/invites/{created['id']}"), 400, "invalid_request_error")
    error(api.get("organizations/invites/invite_nope"), 404, "not_found_error")
    assert Invite.objects.count() == 1


def test_the_default_invite_list_is_pending_accepted_and_expired(api, personas):
    admin = Actor.for_user(personas.admin)
    by_status = {}
    for status in ("pending", "accepted", "expired", "deleted"):
        invite, _token = account_services.invite_create(
            actor=admin, organization=personas.org, email=f"{status}@x.test", role="user"
        )
        by_status[status] = invite.public_id
    Invite.objects.filter(public_id=by_status["accepted"]).update(
        status="accepted", accepted_at=timezone.now()
    )
    Invite.objects.filter(public_id=by_status["expired"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    account_services.invite_revoke(
        actor=admin, invite=Invite.objects.get(public_id=by_status["deleted"])
    )

    def listed(params=None):
        data = api.get("organizations/invites", params).json()["data"]
        return {invite["email"].split("@")[0]: invite["status"] for invite in data}

    assert listed() == {"pending": "pending", "accepted": "accepted", "expired": "expired"}
    assert listed({"statuses[]": ["expired"]}) == {"expired": "expired"}
    assert listed({"statuses[]": ["pending", "accepted"]}) == {
        "pending": "pending",
        "accepted": "accepted",
    }
    error(
        api.get("organizations/invites", {"statuses[]": ["deleted"]}), 400, "invalid_request_error"
    )
    revoked = api.get(f"organizations/invites/{by_status['deleted']}").json()
    assert revoked["status"] == "deleted"


# -- Workspaces ------------------------------------------------------------------------------------


def test_workspaces(api, personas):
    created = api.post(
        "organizations/workspaces", {"name": "Prod", "display_color": "#3B82F6"}
    ).json()
    assert set(created) == {
        "type",
        "id",
        "name",
        "display_color",
        "created_at",
        "archived_at",
        "tags",
        "data_residency",
        "compartment_id",
        "external_key_id",
        "user_profile_id",
    }
    assert created["data_residency"] == {
        "workspace_geo": "us",
        "allowed_inference_geos": "unrestricted",
        "default_inference_geo": "global",
    }
    assert created["tags"] == {} and created["compartment_id"].startswith("cmpt_")
    assert (created["type"], created["name"], created["archived_at"]) == ("workspace", "Prod", None)
    listed = api.get("organizations/workspaces").json()["data"]
    assert [w["name"] for w in listed] == ["Prod"]
    assert [
        w["name"]
        for w in api.get("organizations/workspaces", {"include_default": "true"}).json()["data"]
    ] == ["Default", "Prod"]
    updated = api.post(f"organizations/workspaces/{created['id']}", {"name": "Production"}).json()
    assert updated["name"] == "Production" and updated["display_color"] == "#3B82F6"
    archived = api.post(f"organizations/workspaces/{created['id']}/archive").json()
    assert TIME.match(archived["archived_at"])
    assert api.get("organizations/workspaces").json()["data"] == []
    assert (
        len(api.get("organizations/workspaces", {"include_archived": "True"}).json()["data"]) == 1
    )
    error(
        api.get("organizations/workspaces", {"include_archived": "maybe"}),
        400,
        "invalid_request_error",
    )
    assert AuditEvent.objects.filter(actor_label__startswith="Admin API key").count() == 3


def test_external_key_id_and_user_profile_id_are_stored_and_returned(api, personas):
    created = api.post(
        "organizations/workspaces",
        {"name": "Referenced", "external_key_id": "ek_123", "user_profile_id": "uprof_9"},
    ).json()
    assert (created["external_key_id"], created["user_profile_id"]) == ("ek_123", "uprof_9")
    stored = Workspace.objects.get(public_id=created["id"])
    assert (stored.external_key_id, stored.user_profile_id) == ("ek_123", "uprof_9")
    assert api.get(f"organizations/workspaces/{created['id']}").json() == created
    listed = api.get("organizations/workspaces", {"ids[]": [created["id"]]}).json()["data"]
    assert listed == [created]
    # Set once: the same value again is fine, another one is refused and changes nothing.
    same = api.post(f"organizations/workspaces/{created['id']}", {"external_key_id": "ek_123"})
    assert same.json()["external_key_id"] == "ek_123"
    refused = error(
        api.post(
            f"organizations/workspaces/{created['id']}",
            {"external_key_id": "ek_other", "name": "Renamed"},
        ),
        400,
        "invalid_request_error",
    )
    assert "external_key_id" in refused["message"]
    assert api.get(f"organizations/workspaces/{created['id']}").json() == created
    # A workspace without them answers null, and can be given them later.
    plain = api.post("organizations/workspaces", {"name": "Plain"}).json()
    assert (plain["external_key_id"], plain["user_profile_id"]) == (None, None)
    later = api.post(
        f"organizations/workspaces/{plain['id']}", {"user_profile_id": "uprof_later"}
    ).json()
    assert (later["external_key_id"], later["user_profile_id"]) == (None, "uprof_later")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 41}, "40"),
        ({"name": 5}, "valid string"),
        ({"name": "ok", "display_color": "red"}, "#RRGGBB"),
        ({"name": "ok", "colour": "#000000"}, "Extra inputs"),
        ({}, "Field required"),
    ],
)
def test_workspace_bad_input(api, body, message):
    assert (
        message
        in error(api.post("organizations/workspaces", body), 400, "invalid_request_error")[
            "message"
        ]
    )


def test_workspace_rules(api, personas):
    default = personas.default_workspace.public_id
    error(
        api.post(f"organizations/workspaces/{default}", {"name": "Renamed"}),
        400,
        "invalid_request_error",
    )
    error(api.post(f"organizations/workspaces/{default}/archive"), 400, "invalid_request_error")
    WorkspaceFactory.create_batch(99, organization=personas.org)
    error(api.post("organizations/workspaces", {"name": "101st"}), 400, "invalid_request_error")
    other = WorkspaceFactory(organization=personas.other_org)
    error(api.get(f"organizations/workspaces/{other.public_id}"), 404, "not_found_error")
    error(api.post(f"organizations/workspaces/{other.public_id}/archive"), 404, "not_found_error")


def test_archived_workspaces_cannot_change(api, personas):
    workspace = WorkspaceFactory(organization=personas.org)
    api.post(f"organizations/workspaces/{workspace.public_id}/archive")
    error(
        api.post(f"organizations/workspaces/{workspace.public_id}", {"name": "again"}),
        400,
        "invalid_request_error",
    )
    error(
        api.post(f"organizations/workspaces/{workspace.public_id}/archive"),
        400,
        "invalid_request_error",
    )
    error(
        api.post(
            f"organizations/workspaces/{workspace.public_id}/members",
            {"user_id": personas.user.public_id, "workspace_role": "workspace_user"},
        ),
        400,
        "invalid_request_error",
    )
    error(
        api.post(f"organizations/workspaces/{workspace.public_id}/api_keys", {"name": "late"}),
        400,
        "invalid_request_error",
    )


# -- Members ---------------------------------------------------------------------------------------


def test_members(api, personas):
    workspace = WorkspaceFactory(organization=personas.org).public_id
    path = f"organizations/workspaces/{workspace}/members"
    added = api.post(
        path, {"user_id": personas.developer.public_id, "workspace_role": "workspace_developer"}
    ).json()
    assert added == {
        "type": "workspace_member",
        "user_id": personas.developer.public_id,
        "workspace_id": workspace,
        "workspace_role": "workspace_developer",
    }
    already = error(
        api.post(
            path, {"user_id": personas.developer.public_id, "workspace_role": "workspace_user"}
        ),
        400,
        "invalid_request_error",
    )
    assert already["details"] == {"error_code": "already_member"}
    error(
        api.post(path, {"user_id": personas.user.public_id, "workspace_role": "workspace_billing"}),
        400,
        "invalid_request_error",
    )
    error(
        api.post(path, {"user_id": personas.user.public_id, "workspace_role": "boss"}),
        400,
        "invalid_request_error",
    )
    error(
        api.post(
            path, {"user_id": personas.outsider.public_id, "workspace_role": "workspace_user"}
        ),
        404,
        "not_found_error",
    )
    error(
        api.post(path, {"user_id": personas.admin.public_id, "workspace_role": "workspace_user"}),
        400,
        "invalid_request_error",
    )
    error(
        api.post(path, {"user_id": personas.billing.public_id, "workspace_role": "workspace_user"}),
        400,
        "invalid_request_error",
    )
    raised = api.post(
        path, {"user_id": personas.billing.public_id, "workspace_role": "workspace_admin"}
    ).json()
    assert raised["workspace_role"] == "workspace_admin"
    listed = api.get(path).json()
    assert {m["user_id"] for m in listed["data"]} == {
        personas.developer.public_id,
        personas.billing.public_id,
    }
    one = f"{path}/{personas.developer.public_id}"
    assert (
        api.post(one, {"workspace_role": "workspace_admin"}).json()["workspace_role"]
        == "workspace_admin"
    )
    assert api.get(one).json()["workspace_role"] == "workspace_admin"
    assert api.delete(one).json() == {
        "user_id": personas.developer.public_id,
        "workspace_id": workspace,
        "type": "workspace_member_deleted",
    }
    error(api.get(one), 404, "not_found_error")
    error(
        api.delete(f"{path}/{personas.admin.public_id}"), 404, "not_found_error"
    )  # inherited: not a listed member


# -- API keys --------------------------------------------------------------------------------------


@pytest.fixture
def keys(api, personas):
    workspace = WorkspaceFactory(organization=personas.org)
    created = [
        api.post(
            f"organizations/workspaces/{workspace.public_id}/api_keys", {"name": f"k{i}"}
        ).json()
        for i in range(3)
    ]
    default_key = api.post(
        f"organizations/workspaces/{personas.default_workspace.public_id}/api_keys", {"name": "d"}
    ).json()
    return workspace, created, default_key


def test_api_keys(api, personas, keys):
    workspace, created, default_key = keys
    first = created[0]
    assert first["key"].startswith("sk-ant-api03-")
    shape = {
        "type",
        "id",
        "name",
        "status",
        "created_at",
        "created_by",
        "partial_key_hint",
        "workspace_id",
        "expires_at",
        "scope",
        "principal",
    }
    assert set(first) == shape | {"key"}
    assert first["created_by"] == {"id": personas.admin.public_id, "type": "user"}
    assert first["principal"] == {"type": "user_actor", "user_id": personas.admin.public_id}
    assert first["scope"] == {"type": "workspace", "workspace_id": workspace.public_id}
    # The Default workspace's keys: the deprecated top-level id is null, the scope names it.
    assert default_key["workspace_id"] is None
    assert default_key["scope"] == {
        "type": "workspace",
        "workspace_id": personas.default_workspace.public_id,
    }
    got = api.get(f"organizations/api_keys/{first['id']}").json()
    assert (
        set(got) == shape
        and "key" not in got
        and first["key"] not in str(api.get("organizations/api_keys").json())
    )
    assert (
        len(api.get("organizations/api_keys", {"workspace_id": workspace.public_id}).json()["data"])
        == 3
    )
    assert (
        len(
            api.get(
                "organizations/api_keys", {"created_by_user_id": personas.admin.public_id}
            ).json()["data"]
        )
        == 4
    )
    renamed = api.post(
        f"organizations/api_keys/{first['id']}", {"name": "renamed", "status": "inactive"}
    ).json()
    assert (renamed["name"], renamed["status"]) == ("renamed", "inactive")
    assert [
        k["id"] for k in api.get("organizations/api_keys", {"status": "inactive"}).json()["data"]
    ] == [first["id"]]
    assert (
        api.post(f"organizations/api_keys/{first['id']}", {"status": "archived"}).json()["status"]
        == "archived"
    )
    error(
        api.post(f"organizations/api_keys/{first['id']}", {"status": "active"}),
        400,
        "invalid_request_error",
    )
    error(
        api.post(
            f"organizations/api_keys/{created[1]['id']}",
            {"workspace_id": personas.default_workspace.public_id},
        ),
        400,
        "invalid_request_error",
    )
    assert ApiKey.objects.get(public_id=created[1]["id"]).workspace == workspace
    assert api.delete(f"organizations/api_keys/{created[2]['id']}").json() == {
        "id": created[2]["id"],
        "type": "api_key_deleted",
    }
    error(api.get("organizations/api_keys", {"status": "lost"}), 400, "invalid_request_error")
    error(
        api.post(f"organizations/api_keys/{created[1]['id']}", {"name": ""}),
        400,
        "invalid_request_error",
    )


def test_other_organizations_objects_are_404(api, other_api, personas, keys):
    workspace, created, _ = keys
    error(other_api.get(f"organizations/api_keys/{created[0]['id']}"), 404, "not_found_error")
    error(other_api.get(f"organizations/workspaces/{workspace.public_id}"), 404, "not_found_error")
    error(other_api.get(f"organizations/users/{personas.user.public_id}"), 404, "not_found_error")
    assert other_api.get("organizations/api_keys").json()["data"] == []


# -- Limits ----------------------------------------------------------------------------------------


def test_rate_limits(api, personas):
    workspace = WorkspaceFactory(organization=personas.org).public_id
    org = api.get("organizations/rate_limits").json()
    assert set(org) == {"data", "has_more", "next_page"} and org["next_page"] is None
    sonnet = next(e for e in org["data"] if e["id"] == "sonnet-4")
    assert sonnet["type"] == "rate_limit" and "claude-sonnet-4-5" in sonnet["models"]
    assert sonnet["group"] == {
        "type": "model_group",
        "id": "rlg_sonnet-4",
        "display_name": "Claude Sonnet 4.x",
    }
    assert {"type": "requests_per_minute", "value": 50} in sonnet["limits"]
    # Sonnet's cache reads do not count toward its input limit: Anthropic's cache-aware one.
    assert {"type": "input_tokens_per_minute_cache_aware", "value": 30_000} in sonnet["limits"]
    haiku_3 = next(e for e in org["data"] if e["id"] == "haiku-3")
    assert "input_tokens_per_minute" in {limit["type"] for limit in haiku_3["limits"]}
    assert [
        e["id"]
        for e in api.get("organizations/rate_limits", {"model": "claude-haiku-4-5"}).json()["data"]
    ] == ["haiku-4-5"]
    assert api.get("organizations/rate_limits", {"group_type": "batch"}).json()["data"] == []
    paged = api.get("organizations/rate_limits", {"limit": 2}).json()
    assert len(paged["data"]) == 2 and paged["next_page"]
    rest = api.get("organizations/rate_limits", {"limit": 2, "page": paged["next_page"]}).json()
    assert rest["data"][0]["id"] not in {e["id"] for e in paged["data"]}
    error(api.get("organizations/rate_limits", {"page": "forged"}), 400, "invalid_request_error")

    listed = f"organizations/workspaces/{workspace}/rate_limits"
    assert api.get(listed).json()["data"] == []  # nothing of its own yet
    assert len(api.get(listed, {"include_inherited": "true"}).json()["data"]) == 5
    path = f"{listed}/sonnet-4"
    changed = api.post(
        path,
        {
            "limits": [
                {"type": "requests_per_minute", "value": 20},
                {"type": "input_tokens_per_minute_cache_aware", "value": 10_000},
            ]
        },
    ).json()
    assert changed["type"] == "workspace_rate_limit" and changed["rate_limit_id"] == "sonnet-4"
    assert changed["workspace_id"] == workspace
    by_type = {limit["type"]: limit for limit in changed["limits"]}
    assert by_type["requests_per_minute"] == {
        "type": "requests_per_minute",
        "value": 20,
        "org_limit": 50,
        "source": {"type": "workspace"},
    }
    assert by_type["input_tokens_per_minute_cache_aware"]["value"] == 10_000
    assert by_type["output_tokens_per_minute"]["source"] == {"type": "organization"}
    assert [e["rate_limit_id"] for e in api.get(listed).json()["data"]] == ["sonnet-4"]
    error(
        api.post(path, {"limits": [{"type": "requests_per_minute", "value": 51}]}),
        400,
        "invalid_request_error",
    )
    refused = error(
        api.post(path, {"limits": [{"type": "tokens_per_day", "value": 5}]}),
        400,
        "invalid_request_error",
    )
    assert "does not enforce tokens_per_day" in refused["message"]
    assert refused["details"] == {"error_code": "unsupported_limit_type"}
    error(
        api.post(
            f"{listed}/haiku-3",
            {"limits": [{"type": "input_tokens_per_minute_cache_aware", "value": 5}]},
        ),
        400,
        "invalid_request_error",
    )
    error(api.post(f"{listed}/gpt-9", {"limits": []}), 404, "not_found_error")
    cleared = api.post(path, {"limits": [{"type": "requests_per_minute", "value": None}]}).json()
    rpm = next(limit for limit in cleared["limits"] if limit["type"] == "requests_per_minute")
    assert rpm == {**rpm, "value": 50, "source": {"type": "organization"}}
    error(
        api.post(
            f"organizations/workspaces/{personas.default_workspace.public_id}/rate_limits/sonnet-4",
            {"limits": [{"type": "requests_per_minute", "value": 5}]},
        ),
        400,
        "invalid_request_error",
    )


def test_spend_limit_and_notifications(api, personas):
    workspace = WorkspaceFactory(organization=personas.org).public_id
    path = f"organizations/workspaces/{workspace}/spend_limit"
    first = api.get(path).json()
    assert first["amount_cents"] is None and first["amount"] is None
    assert first["organization_limit_cents"] == "10000" and first["organization_limit"] == "100.00"
    changed = api.post(path, {"amount_cents": "5025"}).json()
    assert (changed["amount_cents"], changed["amount"]) == ("5025", "50.25")
    assert changed["effective_cents"] == "5025" and changed["month_to_date_cents"] == "0"
    assert api.post(path, {"amount": "40.00"}).json()["amount_cents"] == "4000"  # deprecated
    error(api.post(path, {"amount_cents": "10000"}), 400, "invalid_request_error")  # not below $100
    error(api.post(path, {"amount": "1.234"}), 400, "invalid_request_error")
    error(api.post(path, {"amount_cents": "12.5"}), 400, "invalid_request_error")
    error(api.post(path, {"amount": "lots"}), 400, "invalid_request_error")
    error(api.post(path, {}), 400, "invalid_request_error")
    assert api.post(path, {"amount_cents": None}).json()["amount_cents"] is None
    notifications = f"organizations/workspaces/{workspace}/spend_notifications"
    created = api.post(notifications, {"amount_cents": "2500"}).json()
    assert created == {
        "type": "spend_notification",
        "id": "2500",
        "workspace_id": workspace,
        "amount_cents": "2500",
        "amount": "25.00",
        "currency": "USD",
    }
    error(api.post(notifications, {"amount": "25"}), 400, "invalid_request_error")  # exists
    assert [n["id"] for n in api.get(notifications).json()["data"]] == ["2500"]
    assert api.delete(f"{notifications}/2500").json() == {
        "id": "2500",
        "type": "spend_notification_deleted",
    }
    error(api.delete(f"{notifications}/2500"), 404, "not_found_error")
    error(api.delete(f"{notifications}/%C2%B2"), 404, "not_found_error")


def test_spend_limits_answer_the_services_rules(api, personas):
    workspace = WorkspaceFactory(organization=personas.org)
    limits = api.get("organizations/spend_limits").json()["data"]
    tier = next(limit for limit in limits if limit["scope"]["type"] == "usage_tier")
    for refused in (
        api.post(f"organizations/spend_limits/{tier['id']}", {"amount": "500"}),
        api.delete(f"organizations/spend_limits/{tier['id']}"),
    ):
        assert error(refused, 400, "invalid_request_error")["details"] == {
            "error_code": "read_only_spend_limit"
        }
    assert api.get(f"organizations/spend_limits/{tier['id']}").json() == tier
    scoped = {"scope": {"type": "workspace", "workspace_id": workspace.public_id}}
    refused = error(
        api.post("organizations/spend_limits", {"amount": None, **scoped}),
        400,
        "invalid_request_error",
    )
    assert "delete the limit" in refused["message"]
    user_scope = {"type": "user", "user_id": personas.user.public_id}
    refused = error(
        api.post("organizations/spend_limits", {"amount": "100", "scope": user_scope}),
        400,
        "invalid_request_error",
    )
    assert refused["details"] == {"error_code": "unsupported_scope"}
    weekly = api.post("organizations/spend_limits", {"amount": "100", "period": "weekly", **scoped})
    assert error(weekly, 400, "invalid_request_error")["details"] == {
        "error_code": "unsupported_period"
    }
    assert [limit["scope"]["type"] for limit in limits] == ["usage_tier"]
    assert api.get("organizations/spend_limits", {"scope_type[]": ["user"]}).json()["data"] == []
    path = f"organizations/workspaces/{workspace.public_id}/spend_limit"
    missing = error(api.post(path, {}), 400, "invalid_request_error")
    assert missing["message"] == "amount_cents: Field required (null removes the limit)."
    both = error(
        api.post(path, {"amount": "1", "amount_cents": "100"}), 400, "invalid_request_error"
    )
    assert both["message"] == "Give amount_cents or amount, not both."
    notifications = f"organizations/workspaces/{workspace.public_id}/spend_notifications"
    for body in ({}, {"amount_cents": None}, {"amount": None}):
        error(api.post(notifications, body), 400, "invalid_request_error")
    assert api.get(notifications).json()["data"] == []


def test_increase_requests_list_by_current_status_and_leave_former_members_out(api, personas):
    from datetime import timedelta

    from django.utils import timezone

    from accounts import services as account_services
    from billing import services as billing_services
    from billing.models import SpendLimitIncreaseRequest
    from tests.factories import WorkspaceMemberFactory

    workspace = WorkspaceFactory(organization=personas.org)
    for user in (personas.developer, personas.user):
        WorkspaceMemberFactory(workspace=workspace, user=user, role="workspace_developer")
    lapsed, pending = (
        billing_services.spend_limit_increase_request_create(
            actor=Actor.for_user(user), workspace=workspace, amount_cents=5_000
        )
        for user in (personas.developer, personas.user)
    )
    SpendLimitIncreaseRequest.objects.filter(pk=lapsed.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    path = "organizations/spend_limit_increase_requests"

    def listed(statuses):
        data = api.get(path, {"status[]": statuses}).json()["data"]
        return [(r["id"], r["status"]) for r in data]

    assert listed(["denied"]) == [(lapsed.public_id, "denied")]
    assert listed(["pending"]) == [(pending.public_id, "pending")]
    account_services.member_remove(
        actor=Actor.for_user(personas.admin),
        member=OrganizationMember.objects.get(organization=personas.org, user=personas.user),
    )
    assert listed(["pending", "denied"]) == [(lapsed.public_id, "denied")]
    error(api.get(f"{path}/{pending.public_id}"), 404, "not_found_error")


def test_writes_record_the_admin_key_as_actor(api, personas, admin_key):
    api.post("organizations/workspaces", {"name": "Audited"})
    event = AuditEvent.objects.get(action="workspace.create")
    assert event.actor_label == f"Admin API key “ops” ({admin_key[0].public_id})"
    assert Workspace.objects.get(name="Audited").created_by == personas.admin
    assert OrganizationMember.objects.filter(organization=personas.org).count() == 4
    assert not WorkspaceMember.objects.exists()


def test_answers_name_the_organization(api, personas):
    response = api.get("organizations/workspaces")
    assert response["anthropic-organization-id"] == str(personas.org.id)
    assert "anthropic-organization-id" not in Client().get("/v1/organizations/me")


def test_workspace_ids_filter_takes_up_to_100(api, personas):
    workspaces = WorkspaceFactory.create_batch(3, organization=personas.org)
    wanted = [workspaces[0].public_id, workspaces[2].public_id]
    listed = api.client.get("/v1/organizations/workspaces", {"ids[]": wanted}).json()["data"]
    assert [w["id"] for w in listed] == wanted
    same = api.client.get("/v1/organizations/workspaces", {"ids": wanted}).json()["data"]
    assert [w["id"] for w in same] == wanted
    error(
        api.client.get(
            "/v1/organizations/workspaces", {"ids[]": [f"wrkspc_{i}" for i in range(101)]}
        ),
        400,
        "invalid_request_error",
    )
