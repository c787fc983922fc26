"""The gateway's HTTP endpoints: the token, and the exact answers for each case."""

import base64
import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import KeyStatus
from billing import enforcement, limiter, services
from billing.enforcement import reservations
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


def _settle(client, reservation, usage=None):
    return post(
        client,
        "settle",
        {"reservation_id": reservation, "usage": {"output_tokens": 5} if usage is None else usage},
    )


def _signed(**fields):
    values = {
        "organization_id": "00000000-0000-0000-0000-000000000000",
        "workspace_id": 1,
        "api_key_id": 1,
        "model_id": 1,
        "at": 1_790_000_000.0,
    } | fields
    return reservations.issue(**values)


@pytest.mark.parametrize("at", [10**15, -(10**9), 0, 1e20])
def test_a_reservation_id_with_a_huge_or_negative_time_is_a_400(gateway, key_secret, at):
    reservation = post(gateway, "authorize", authorize_body(key_secret)).json()["reservation_id"]
    info = reservations.verify(reservation)
    forged = _signed(
        organization_id=info.organization_id,
        workspace_id=info.workspace_id,
        api_key_id=info.api_key_id,
        model_id=info.model_id,
        at=at,
    )
    response = _settle(gateway, forged)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert not UsageRecord.objects.exists()


def test_reservation_ids_are_signed(gateway, key_secret, personas):
    """A made-up id naming another organization stores nothing, even when the counter store
    has no record of it (during an outage, or with LIMITER_FAIL_OPEN)."""
    reservation = post(gateway, "authorize", authorize_body(key_secret)).json()["reservation_id"]
    payload, _, signature = reservation.removeprefix("res_").partition(".")
    info = reservations.verify(reservation)
    text = base64.urlsafe_b64decode(payload + "==").decode()
    other = text.replace(info.organization_id, str(personas.other_org.pk))
    forged = "res_" + base64.urlsafe_b64encode(other.encode()).decode().rstrip("=")
    for bad in (f"{forged}.{signature}", forged, reservation + "x", reservation.upper()):
        response = _settle(gateway, bad)
        assert response.status_code == 400, bad
    assert not UsageRecord.objects.exists()
    assert _settle(gateway, reservation).status_code == 200


def test_an_id_whose_organization_workspace_and_key_do_not_belong_together(
    gateway, key_secret, personas
):
    reservation = post(gateway, "authorize", authorize_body(key_secret)).json()["reservation_id"]
    info = reservations.verify(reservation)
    other_workspace = WorkspaceFactory(organization=personas.other_org)
    for fields in (
        {"organization_id": str(personas.other_org.pk)},
        {"workspace_id": other_workspace.pk},
    ):
        mismatched = _signed(
            **{
                "organization_id": info.organization_id,
                "workspace_id": info.workspace_id,
                "api_key_id": info.api_key_id,
                "model_id": info.model_id,
                "at": info.at,
            }
            | fields
        )
        response = _settle(gateway, mismatched)
        assert response.status_code == 400
        assert "do not belong together" in response.json()["error"]["message"]
    assert not UsageRecord.objects.exists()


def test_a_token_for_one_organization_acts_for_it_alone(db, key_secret, personas):
    _token, secret = services.gateway_token_create(name="acme edge", organization=personas.org)
    own = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    _token, other_secret = services.gateway_token_create(
        name="other edge", organization=personas.other_org
    )
    other = Client(HTTP_AUTHORIZATION=f"Bearer {other_secret}")
    refused = post(other, "authorize", authorize_body(key_secret)).json()
    assert refused["admitted"] is False and refused["status"] == 401
    reservation = post(own, "authorize", authorize_body(key_secret)).json()["reservation_id"]
    response = _settle(other, reservation)
    assert (
        response.status_code == 400 and "unknown reservation" in response.json()["error"]["message"]
    )
    assert not UsageRecord.objects.exists()
    assert _settle(own, reservation).status_code == 200


@pytest.mark.parametrize(
    "usage",
    [
        {"output_tokens": 1, "cache_creation": []},
        {"output_tokens": 1, "cache_creation": "5m"},
        {"output_tokens": 1, "cache_creation": {"ephemeral_5m_input_tokens": "3"}},
        {"output_tokens": True},
        {"output_tokens": 1.5},
        {"output_tokens": 1, "server_tool_use": []},
        {"output_tokens": 1, "server_tool_use": {"web_search_requests": -1}},
        {"output_tokens": 1, "service_tier": 7},
        {"output_tokens": 1, "server_tool_use": {"web_fetch_requests": 1.5}},
        {"output_tokens": 1, "inference_geo": ["us"]},
        {"output_tokens": 1, "speed": {}},
        [],
    ],
)
def test_settle_refuses_wrong_types(gateway, key_secret, usage):
    reservation = post(gateway, "authorize", authorize_body(key_secret)).json()["reservation_id"]
    response = _settle(gateway, reservation, usage)
    assert (
        response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    )
    assert not UsageRecord.objects.exists()


def test_settle_stores_the_service_tier_and_the_cache_write_split(gateway, key_secret):
    reservation = post(gateway, "authorize", authorize_body(key_secret)).json()["reservation_id"]
    usage = {
        "input_tokens": 10,
        "cache_creation_input_tokens": 30,
        "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20},
        "cache_read_input_tokens": 40,
        "output_tokens": 50,
        "server_tool_use": {"web_search_requests": 1},
        "service_tier": "priority",
        "inference_geo": "us",
    }
    assert _settle(gateway, reservation, usage).status_code == 200
    record = UsageRecord.objects.get()
    assert (
        record.uncached_input_tokens,
        record.cache_creation_5m_tokens,
        record.cache_creation_1h_tokens,
        record.cache_read_tokens,
        record.output_tokens,
        record.service_tier,
        record.inference_geo,
        record.web_search_requests,
    ) == (10, 10, 20, 40, 50, "priority", "us", 1)


@pytest.mark.parametrize("name", ["authorize", "settle"])
@pytest.mark.parametrize(
    "raw",
    [
        '{"model": "claude\\u0000", "api_key": "k", "input_tokens": 1, "max_tokens": 1}',
        '{"reservation_id": "res_\\u0000"}',
        '{"model": "\\ud800"}',
        '{"a": ' * 100_000 + "1" + "}" * 100_000,
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["nul-model", "nul-reservation", "lone-surrogate", "deep-object", "deep-array"],
)
def test_unsafe_json_is_a_400_on_both_endpoints(gateway, name, raw):
    response = gateway.post(
        reverse(f"billing:gateway_{name}"), raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("model", ["claude\nsonnet", "claude\x1b[31m", "x" * 300])
def test_a_model_name_with_control_characters_is_a_400(gateway, key_secret, model):
    response = post(gateway, "authorize", authorize_body(key_secret, model=model))
    assert response.status_code == 400


class FailingStore(limiter.LocalBackend):
    """A counter store that fails in a way nobody planned for."""

    def check(self, request):
        raise RuntimeError("unexpected")

    def settle(self, request):
        raise RuntimeError("unexpected")


@pytest.mark.parametrize("name", ["authorize", "settle"])
def test_an_unexpected_failure_is_the_json_envelope_not_an_html_page(
    gateway, key_secret, name, caplog
):
    reservation = post(gateway, "authorize", authorize_body(key_secret)).json()["reservation_id"]
    enforcement.use_backend(FailingStore())
    body = (
        authorize_body(key_secret)
        if name == "authorize"
        else {"reservation_id": reservation, "usage": {"output_tokens": 1}}
    )
    response = post(gateway, name, body)
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["type"] == "api_error"
    assert "Unexpected failure" in caplog.text
    assert not UsageRecord.objects.exists()


def test_a_duplicate_settle_during_an_outage_is_already_settled(gateway, key_secret, settings):
    reservation = post(gateway, "authorize", authorize_body(key_secret)).json()["reservation_id"]
    enforcement.use_backend(limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.2))
    first = _settle(gateway, reservation)
    again = _settle(gateway, reservation, {"output_tokens": 999})
    assert first.status_code == again.status_code == 200
    assert first.json()["already_settled"] is False and again.json()["already_settled"] is True
    assert again.json()["cost"] == first.json()["cost"]
    assert UsageRecord.objects.get().output_tokens == 5
