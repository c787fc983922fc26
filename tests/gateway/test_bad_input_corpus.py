"""The Messages API (`/v1/messages`, `/v1/messages/count_tokens`, `/v1/models`,
`/v1/models/{id}`) thrown the bad-input suite's corpus: every field of a full, valid request
(nested ones included), fields left out, bodies that are not JSON or nest 100,000 deep, bad
model ids, bad query parameters and headers, every kind of caller. Every answer is the JSON
error envelope or a real answer, never a 5xx, and a refused request changes no row.

The routes are the gateway's own (an ASGI application in front of Django), not the URL
resolver's: `test_the_routes_are_the_gateways` fails when it answers a path this suite does
not send its corpus to.
"""

import json
import socket
import time
from urllib.parse import urlsplit

import httpx2
import pytest

from billing import enforcement
from billing import limiter as limiter_module
from billing import services as billing_services
from billing.messages_api import forwarding, lookups
from billing.messages_api.app import is_gateway_path
from billing.models import Limiter, ModelGroup
from tests.bad_input import corpus
from tests.bad_input.openapi import DOCUMENT
from tests.bad_input.site import Judge, form_encoded

# The corpus reaches no counter it would not reach on another store: one store is enough.
on_local_counters = pytest.mark.parametrize("gateway", ["local"], indirect=True)

ROUTES = ("/v1/messages", "/v1/messages/count_tokens", "/v1/models", "/v1/models/{model_id}")


class Answer:
    """An httpx answer as the judge reads answers."""

    def __init__(self, response: httpx2.Response) -> None:
        self.status_code = response.status_code
        self.content = response.content
        self.headers = response.headers

    def get(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)


def _quiet() -> None:
    """Wait for settles in flight: the judge then reads a database nobody is writing."""
    deadline = time.monotonic() + 10
    while forwarding.busy() and time.monotonic() < deadline:
        time.sleep(0.01)


def _message() -> dict:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "fake: reply input=10 output=2"}],
        "system": "Be brief.",
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 5,
        "stop_sequences": ["END"],
        "stream": False,
        "metadata": {"user_id": "someone"},
        "tools": [
            {"name": "lookup", "description": "Looks up", "input_schema": {"type": "object"}}
        ],
        "tool_choice": {"type": "auto"},
        "service_tier": "auto",
    }


def _count() -> dict:
    return {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "hello"}],
        "system": "Be brief.",
        "tools": [
            {"name": "lookup", "description": "Looks up", "input_schema": {"type": "object"}}
        ],
    }


def _raw_request(url: str, request: bytes) -> int:
    """Send `request` as it is (httpx would refuse a malformed header); the status line's
    code, or 0 when the server closed the connection without one."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(request)
        answer = connection.recv(4096)
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


# Written on purpose by refusals: a 429 counts the refused request for the Usage page; a
# request the upstream refused was reserved and is settled with no usage, which records it.
REFUSALS_COUNTED = ("billing_refusalminute",)
# What the gateway reads itself (the rest it passes on for the upstream to check): these get
# the values in their own shape too (numbers and times just out of range).
# Headers passed on unread: the upstream answers them (its own 400 for a 10,000-byte one).
PASSED_ON_UNREAD = {"anthropic-beta", "anthropic-version"}
READ_BY_THE_GATEWAY = {"model", "max_tokens", "messages", "stream", "system", "tools"}
SETTLED = ("billing_usage", "billing_rollupcursor")


def _without_rate_limits(gateway) -> None:
    """Limits high enough that the corpus meets the checks, not a 429 for its hundredth
    request of the minute."""
    overrides = [
        (group, limiter, 10**9) for group in ModelGroup.objects.all() for limiter in Limiter.values
    ]
    billing_services.organization_limits_change(
        actor=gateway.actor, organization=gateway.org, overrides=overrides
    )
    enforcement.use_backend(limiter_module.LocalBackend())
    lookups.clear()


@on_local_counters
def test_the_messages_api_answers_bad_input_cleanly(gateway, settings):
    settings.USAGE_ROLLUP_INLINE = False  # the usage records are what tells; rollups cost
    _without_rate_limits(gateway)
    judge = Judge()
    client = httpx2.Client(base_url=gateway.url, timeout=30)
    upstream = httpx2.Client(base_url=gateway.upstream_url, timeout=30)
    key = {"x-api-key": gateway.secret, "anthropic-version": "2023-06-01"}

    def send(method: str, path: str, *, body=None, raw=None, headers=None, params=None, note=""):
        content = raw if raw is not None else (json.dumps(body) if body is not None else None)
        upstream.delete("/_log")  # so its log shows what reached it
        response = client.request(
            method,
            f"{path}?{form_encoded(params)}" if params else path,
            content=content.encode("utf-8", "surrogatepass")
            if isinstance(content, str)
            else content,
            headers={"content-type": "application/json", **key, **(headers or {})},
        )
        _quiet()
        upstream_refused = 400 <= response.status_code < 500 and (
            upstream.get("/_log").json() or set(headers or {}) & PASSED_ON_UNREAD
        )
        shown = note or str(body if raw is None else raw[:60])[:200]
        what = f"{method} {path} {shown} {params or ''} {headers or ''}"[:400]
        judge.check(
            what,
            Answer(response),
            path,
            wrote=response.status_code < 300,
            may_change=REFUSALS_COUNTED + (SETTLED if upstream_refused else ()),
        )
        return response

    with judge:
        judge.start()
        for path, body in (("/v1/messages", _message()), ("/v1/messages/count_tokens", _count())):
            for position, field in enumerate(corpus.field_paths(body)):
                good = corpus.value_at(body, field)
                read = field[0] in READ_BY_THE_GATEWAY
                for kind, value in [
                    *corpus.samples_for(position, json=True),
                    *(corpus.variants(str(good)) if read else []),
                ]:
                    changed = corpus.with_value(body, field, value)
                    send("POST", path, body=changed, note=f"{field}={kind}:{str(value)[:60]!r}")
                send("POST", path, body=corpus.without(body, field), note=f"without {field}")
            for raw in (
                "[" * 100_000 + "]" * 100_000,
                '{"a": ' * 50_000 + "1" + "}" * 50_000,
                "{not json",
                '{"model": "claude\\u0000"}',
                '{"model": "\\ud800", "max_tokens": 1, "messages": []}',
                b"\xff\xfe",
                "[]",
                "1e999",
                "",
            ):
                send("POST", path, raw=raw)
            for headers in (
                {"x-api-key": "sk-ant-api03-" + "x" * 300},
                {"x-api-key": ""},
                {"x-api-key": "\u202e\u200b".encode()},
                {"authorization": "Bearer " + "y" * 10_000},
                {"anthropic-version": "9999-99-99"},
                {"anthropic-beta": "x" * 10_000},
                {"content-type": "text/plain"},
            ):
                send("POST", path, body=body, headers=headers)
            send("GET", path, body=body)
        for position, name in enumerate(("limit", "after_id", "before_id")):
            for _kind, value in [*corpus.samples_for(position), *corpus.variants("20")]:
                send("GET", "/v1/models", params={name: value})
        for segment in [*corpus.BAD_PATH_SEGMENTS, "claude-sonnet-4-5%00", "a" * 5_000]:
            send("GET", f"/v1/models/{segment}")
        send("POST", "/v1/models")
    judge.assert_clean()


@on_local_counters
def test_a_content_length_that_is_not_a_number_is_400(gateway):
    """ "²".isdigit() is true, yet it is no length: the server refuses the request."""
    body = json.dumps(_message()).encode()
    request = (
        b"POST /v1/messages HTTP/1.1\r\nHost: console\r\ncontent-type: application/json\r\n"
        + f"x-api-key: {gateway.secret}\r\n".encode()
        + "content-length: ²\r\n\r\n".encode()
        + body
    )
    assert 400 <= _raw_request(gateway.url, request) < 500


def test_the_routes_are_the_gateways():
    """Every path the gateway answers is one of ROUTES; every other /v1/ path (the Admin
    API's, and Anthropic's other endpoints) is Django's, whose suite covers it."""
    probes = [
        *(route.replace("{model_id}", "claude-sonnet-4-5") for route in ROUTES),
        *DOCUMENT["paths"],
        "/v1/messages/batches",
        "/v1/messages/batches/x",
        "/v1/messages/x",
        "/v1/complete",
        "/v1/files",
        "/v1/models/x/y",
        "/v1/gateway/authorize",
        "/v1/gateway/settle",
    ]
    answered = {path for path in probes if is_gateway_path(path)}
    expected = {
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/models",
        "/v1/models/claude-sonnet-4-5",
    }
    assert answered == expected
