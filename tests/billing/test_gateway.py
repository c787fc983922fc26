"""The gateway's HTTP endpoints: the token, and the exact answers for each case."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import KeyStatus
from billing import enforcement, limiter, services
from billing.models import GatewayToken, UsageRecord
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services


@pytest.fixture(autouse=True)
def local_engine(settings):
    settings.LIMITER_CACHE_SECONDS = 60
    enforcement.use_backend(limiter.LocalBackend())
    yield
    enforcement.use_backend(None)


@pytest.fixture
def gateway(db):
    token, secret = services.gateway_token_create(name="edge")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.token = token
    return client


@pytest.fixture
def key_secret(personas):
    workspace = WorkspaceFactory(organization=personas.org)
    _key, secret = workspace_services.api_key_create(
        actor=Actor.for_user(personas.admin), workspace=workspace, name="k"
    )
    return secret


def post(client, name, body, **extra):
    return client.post(
        reverse(f"billing:gateway_{name}"),
        json.dumps(body),
        content_type="application/json",
        **extra,
    )


def authorize_body(secret, **overrides):
    return {
        "api_key": secret,
        "model": "claude-sonnet-4-5",
        "input_tokens": 100,
        "max_tokens": 100,
        **overrides,
    }


def test_gateway_token_is_required(db, key_secret):
    anonymous = Client()
    response = post(anonymous, "authorize", authorize_body(key_secret))
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
    assert body["request_id"] == response["request-id"] and response["request-id"].startswith(
        "req_"
    )
    # A workspace API key is not a gateway token.
    with_key = Client(HTTP_AUTHORIZATION=f"Bearer {key_secret}")
    assert post(with_key, "authorize", authorize_body(key_secret)).status_code == 401


def test_disabled_gateway_token_is_refused(gateway, key_secret):
    GatewayToken.objects.update(status=KeyStatus.INACTIVE)
    assert post(gateway, "authorize", authorize_body(key_secret)).status_code == 401


def test_a_token_disabled_after_use_is_refused_once_the_cache_lapses(gateway, key_secret, settings):
    assert post(gateway, "authorize", authorize_body(key_secret)).status_code == 200
    GatewayToken.objects.update(status=KeyStatus.INACTIVE)
    # Cached for LIMITER_CACHE_SECONDS, as API keys are: one lookup, not one per request.
    assert post(gateway, "authorize", authorize_body(key_secret)).status_code == 200
    enforcement.clear_caches()
    assert post(gateway, "authorize", authorize_body(key_secret)).status_code == 401
    settings.LIMITER_CACHE_SECONDS = 0
    GatewayToken.objects.update(status=KeyStatus.ACTIVE)
    assert post(gateway, "authorize", authorize_body(key_secret)).status_code == 200
    GatewayToken.objects.update(status=KeyStatus.INACTIVE)
    assert post(gateway, "authorize", authorize_body(key_secret)).status_code == 401


def test_admitted(gateway, key_secret):
    response = post(gateway, "authorize", authorize_body(key_secret))
    assert response.status_code == 200
    body = response.json()
    assert body["admitted"] is True and body["reservation_id"].startswith("res_")
    assert body["api_key_id"].startswith("apikey_") and body["workspace_id"].startswith("wrkspc_")
    assert body["headers"]["anthropic-ratelimit-requests-limit"] == "50"
    assert set(body) == {"admitted", "reservation_id", "api_key_id", "workspace_id", "headers"}


def test_rate_limited(gateway, key_secret):
    for _ in range(50):
        post(gateway, "authorize", authorize_body(key_secret))
    body = post(gateway, "authorize", authorize_body(key_secret)).json()
    assert body["admitted"] is False and body["status"] == 429
    assert body["error"]["type"] == "error" and body["error"]["error"]["type"] == "rate_limit_error"
    assert int(body["headers"]["retry-after"]) >= 1
    assert body["headers"]["anthropic-ratelimit-requests-remaining"] == "0"


def test_bad_api_key_is_a_401_to_pass_on(gateway):
    body = post(gateway, "authorize", authorize_body("sk-ant-api03-nope")).json()
    assert body == {
        "admitted": False,
        "status": 401,
        "error": {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        },
        "headers": {},
    }


def test_spend_limit_is_a_400_to_pass_on(gateway, key_secret, personas):
    services.organization_spend_limit_set(
        actor=Actor.system("t"), organization=personas.org, amount_cents=1
    )
    body = post(gateway, "authorize", authorize_body(key_secret, max_tokens=1_000)).json()
    assert body["status"] == 400
    assert body["error"]["error"]["message"].startswith(
        "You have reached your specified API usage limits"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": "gpt-9"}, "unknown model"),
        ({"input_tokens": -5}, "input_tokens"),
        ({"max_tokens": 10**15}, "max_tokens"),
        ({"max_tokens": "many"}, "whole number"),
    ],
)
def test_bad_authorize_input(gateway, key_secret, overrides, message):
    response = post(gateway, "authorize", authorize_body(key_secret, **overrides))
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert message in response.json()["error"]["message"]


def test_malformed_json_and_wrong_shapes(gateway):
    response = gateway.post(
        reverse("billing:gateway_authorize"), "{not json", content_type="application/json"
    )
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]["message"]
    assert post(gateway, "authorize", [1, 2]).status_code == 400
    assert gateway.get(reverse("billing:gateway_authorize")).status_code == 405


def test_body_over_one_megabyte_is_413(gateway):
    response = gateway.post(
        reverse("billing:gateway_authorize"),
        "x" * (1024 * 1024 + 1),
        content_type="application/json",
    )
    assert response.status_code == 413 and response.json()["error"]["type"] == "request_too_large"


def test_settle(gateway, key_secret):
    reservation = post(gateway, "authorize", authorize_body(key_secret)).json()["reservation_id"]
    usage = {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_read_input_tokens": 1_000,
        "cache_creation_input_tokens": 0,
    }
    response = post(gateway, "settle", {"reservation_id": reservation, "usage": usage})
    assert response.status_code == 200
    # 100 x $3/M + 1,000 x $0.30/M + 50 x $15/M = $0.00135 = 0.135 cents
    assert response.json() == {
        "reservation_id": reservation,
        "cost": {"amount": "0.135", "currency": "USD", "unit": "cents"},
        "already_settled": False,
        "overage": None,
    }
    again = post(gateway, "settle", {"reservation_id": reservation, "usage": usage}).json()
    assert again["already_settled"] is True and again["cost"]["amount"] == "0.135"
    assert UsageRecord.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"reservation_id": "res_unknown", "usage": {"output_tokens": 1}},
        {"usage": {"output_tokens": 1}},
        {"reservation_id": "RES", "usage": "lots"},
    ],
)
def test_bad_settle_input(gateway, body):
    response = post(gateway, "settle", body)
    assert (
        response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    )


def test_bad_usage_counts(gateway, key_secret):
    reservation = post(gateway, "authorize", authorize_body(key_secret)).json()["reservation_id"]
    response = post(
        gateway, "settle", {"reservation_id": reservation, "usage": {"output_tokens": -1}}
    )
    assert response.status_code == 400 and "output_tokens" in response.json()["error"]["message"]
    assert not UsageRecord.objects.exists()
