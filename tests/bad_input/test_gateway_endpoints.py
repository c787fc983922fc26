"""Both gateway endpoints, `/v1/gateway/authorize` and `/v1/gateway/settle`: every field of a
full, valid body (nested ones included) with every class of bad value, fields left out,
bodies that are not JSON or too deep, forged reservation ids (signed, yet naming times and
ids that cannot be), and every kind of caller (the operator's token, another organization's,
a disabled one, none). Every answer is the JSON error envelope or a decision, never a 5xx, no
error is logged, and a refused request changes no row."""

import json
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from accounts.audit import Actor
from accounts.models import KeyStatus
from billing import enforcement, services
from billing.enforcement import reservations
from billing.models import GatewayToken, Limiter, Model, ModelGroup
from billing.pricing import SERVER_TOOL_KINDS
from tests.bad_input import corpus
from tests.bad_input.site import Judge

AUTHORIZE = reverse("billing:gateway_authorize")
SETTLE = reverse("billing:gateway_settle")


@pytest.fixture
def callers(world) -> dict[str, Client]:
    def bearer(token_secret: str | None) -> Client:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token_secret}"} if token_secret else {}
        return Client(raise_request_exception=False, **headers)

    _token, operator = services.gateway_token_create(name="edge")
    _theirs, other = services.gateway_token_create(name="theirs", organization=world.other.org)
    disabled, disabled_secret = services.gateway_token_create(name="off")
    GatewayToken.objects.filter(pk=disabled.pk).update(status=KeyStatus.INACTIVE)
    return {
        "operator": bearer(operator),
        "other": bearer(other),
        "disabled": bearer(disabled_secret),
        "nobody": bearer(None),
        "api_key": bearer(world.own.api_key_secret),
    }


def _authorize_body(world) -> dict:
    return {
        "api_key": world.own.api_key_secret,
        "model": "claude-sonnet-4-5",
        "input_tokens": 100,
        "max_tokens": 100,
    }


def _usage() -> dict:
    return {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_creation_input_tokens": 3,
        "cache_read_input_tokens": 2,
        "cache_creation": {"ephemeral_5m_input_tokens": 2, "ephemeral_1h_input_tokens": 1},
        "server_tool_use": dict.fromkeys(SERVER_TOOL_KINDS, 0),
        "service_tier": "standard",
        "inference_geo": "us",
        "speed": "standard",
    }


def _forged_reservations(world) -> list[str]:
    """Reservation ids this console signed, naming what no request could have been."""
    model = Model.objects.get(api_name="claude-sonnet-4-5")
    real = {
        "organization_id": str(world.own.org.pk),
        "workspace_id": world.own.workspace.pk,
        "api_key_id": world.own.api_key.pk,
        "model_id": model.pk,
        "at": 1_800_000_000.0,
    }
    changes = [
        {"at": 1e15},
        {"at": -1.0},
        {"at": 0.0},
        {"at": 253_402_300_800.0},  # year 10000
        {"workspace_id": 2**70},
        {"workspace_id": -1},
        {"api_key_id": world.other.api_key.pk},
        {"organization_id": str(uuid.uuid4())},
        {"organization_id": str(world.other.org.pk)},
        {"model_id": 10**12},
    ]
    return [reservations.issue(**{**real, **change}) for change in changes]


def _without_rate_limits(world) -> None:
    """Rate limits high enough that each successful settle's fresh reservation is admitted,
    so the corpus meets the checks and not a 429 for its hundredth request of the minute."""
    overrides = [
        (group, limiter, 10**9) for group in ModelGroup.objects.all() for limiter in Limiter.values
    ]
    services.organization_limits_change(
        actor=Actor.system("staff"), organization=world.own.org, overrides=overrides
    )


def test_both_gateway_endpoints_answer_bad_input_cleanly(world, callers):
    _without_rate_limits(world)
    operator = callers["operator"]
    judge = Judge()

    def post(client: Client, path: str, body=None, *, raw: str | bytes | None = None, **extra):
        data = raw if raw is not None else json.dumps(body)
        response = client.post(path, data, content_type="application/json", **extra)
        what = f"POST {path} {(str(body) if raw is None else repr(raw[:60]))[:200]}"
        judge.check(what, response, path, wrote=True)
        return response

    def reservation() -> str:
        decision = operator.post(AUTHORIZE, _authorize_body(world), "application/json").json()
        assert decision["admitted"], decision
        return decision["reservation_id"]

    open_reservation = {"id": ""}

    def unsettled() -> str:
        """A reservation not settled yet (one is taken only once a settle succeeded, so the
        rate limits are not used up)."""
        if not open_reservation["id"]:
            open_reservation["id"] = reservation()
        return open_reservation["id"]

    with judge:
        judge.start()
        authorize = _authorize_body(world)
        for path in ("authorize", "settle"):
            body = (
                authorize
                if path == "authorize"
                else {"reservation_id": unsettled(), "usage": _usage()}
            )
            address = AUTHORIZE if path == "authorize" else SETTLE
            for position, field in enumerate(corpus.field_paths(body)):
                good = corpus.value_at(body, field)
                samples = [*corpus.samples_for(position, json=True), *corpus.variants(str(good))]
                for _kind, value in samples:
                    if path == "settle":
                        body = {**body, "reservation_id": unsettled()}
                    answer = post(operator, address, corpus.with_value(body, field, value))
                    if path == "settle" and answer.status_code == 200:
                        open_reservation["id"] = ""
                post(operator, address, corpus.without(body, field))
            post(operator, address, {**body, "unknown_field": [1]})
            for raw in (
                "[" * 100_000 + "]" * 100_000,
                '{"a": ' * 50_000 + "1" + "}" * 50_000,
                "{not json",
                '{"model": "claude\\u0000"}',
                '{"model": "\\ud800"}',
                b"\xff\xfe",
                "[]",
                "1e999",
                "",
            ):
                post(operator, address, raw=raw)
            for who in ("other", "disabled", "nobody", "api_key"):
                post(callers[who], address, body, HTTP_HX_REQUEST="true")
            post(operator, address, body, HTTP_CONTENT_LENGTH="²")
            judge.check(f"GET {address}", operator.get(address), address, wrote=False)
        for forged in _forged_reservations(world):
            post(operator, SETTLE, {"reservation_id": forged, "usage": _usage()})
        # Settled twice: the second is `already_settled`, not an error.
        settled = reservation()
        post(operator, SETTLE, {"reservation_id": settled, "usage": _usage()})
        again = post(operator, SETTLE, {"reservation_id": settled, "usage": _usage()})
        assert again.json()["already_settled"] is True
    judge.assert_clean()
    enforcement.use_backend(None)
