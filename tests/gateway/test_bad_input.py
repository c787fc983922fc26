"""Bad input on every path of the Messages API is a 4xx in the API's envelope, never a 5xx:
the key is checked first (401 before anything else), then the `anthropic-version` header,
then the request."""

import json

import httpx2
import pytest

from billing.messages_api import app

# Nothing here reaches the counters: one counter store is enough.
pytestmark = pytest.mark.parametrize("gateway", ["local"], indirect=True)

VERSION = {"anthropic-version": "2023-06-01"}
PATHS = [
    ("POST", "/v1/messages"),
    ("POST", "/v1/messages/count_tokens"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/claude-sonnet-4-5"),
]


def send(gateway, method: str, path: str, *, headers: dict | None = None, **options):
    return httpx2.request(method, f"{gateway.url}{path}", headers=headers or {}, **options)


def assert_envelope(response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    envelope = response.json()
    assert envelope["type"] == "error"
    assert envelope["request_id"] == response.headers["request-id"]
    return envelope["error"]


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_the_key_is_checked_before_anything_else(gateway, method, path):
    bad_body = {"content": b"{not json"} if method == "POST" else {}
    for headers in ({}, {"x-api-key": "sk-ant-api03-wrong"}):
        error = assert_envelope(send(gateway, method, path, headers=headers, **bad_body), 401)
        assert error["type"] == "authentication_error"
    assert not gateway.upstream_log()


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_a_missing_anthropic_version_is_a_400(gateway, method, path):
    body = {"json": {"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": []}}
    response = send(
        gateway,
        method,
        path,
        headers={"x-api-key": gateway.secret},
        **(body if method == "POST" else {}),
    )
    error = assert_envelope(response, 400)
    assert error == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }
    assert not gateway.upstream_log()
    gateway.settled(count=0)


DEEP = b'{"model": "claude-sonnet-4-5", "messages": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
BAD_BODIES = [
    (b'{"model": "claude-sonnet-4-5\\u0000", "messages": []}', 400),
    (b'{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "a\\u0000"}]}', 400),
    (b'{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "\\ud800"}]}', 400),
    (b'{"model": "\\udfff", "messages": []}', 400),
    (DEEP, 400),
    (b"[" * 200_000, 400),
    (b'{"model": 5, "messages": []}', 400),
    (b'{"model": ["claude-sonnet-4-5"], "messages": []}', 400),
    (b'{"model": "claude-sonnet-4-5", "messages": {"role": "user"}}', 400),
    (b'{"model": "claude-sonnet-4-5", "messages": "hi"}', 400),
    (b'{"model": "claude-sonnet-4-5"}', 400),
    (b'{"model": "claude-sonnet-4-5", "messages": [], "max_tokens": ' + b"9" * 5_000 + b"}", 400),
    (b'{"model": "claude-sonnet-4-5", "messages": [1e999, -1e999, 1e-999]}', None),
    (b'{"model": "claude-sonnet-4-5", "messages": [null, 5, "x", [], {}]}', None),
    (b'{"model": "' + b"m" * 100_000 + b'", "messages": []}', 404),
    (b'{"model": "nope", "messages": []}', 404),
    (b'"just a string"', 400),
    (b"", 400),
    (b"\xff\xfe\x00", 400),
]


@pytest.mark.parametrize(("body", "status"), BAD_BODIES)
def test_count_tokens_with_bad_bodies(gateway, body, status):
    response = send(
        gateway,
        "POST",
        "/v1/messages/count_tokens",
        headers={"x-api-key": gateway.secret, **VERSION, "content-type": "application/json"},
        content=body,
    )
    if status is None:
        # Shapes only the model server judges: counted, or refused as a bad request.
        assert response.status_code < 500, response.text
        if response.status_code != 200:
            assert_envelope(response)
        return
    assert_envelope(response, status)


MODEL_QUERIES = [
    "limit=abc",
    "limit=0",
    "limit=-1",
    "limit=1.5",
    "limit=1001",
    "limit=" + "9" * 5_000,
    "limit=%00",
    "limit=%ED%A0%80",
]


@pytest.mark.parametrize("query", MODEL_QUERIES)
def test_models_list_with_a_bad_limit(gateway, query):
    response = send(
        gateway, "GET", f"/v1/models?{query}", headers={"x-api-key": gateway.secret, **VERSION}
    )
    error = assert_envelope(response, 400)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "query",
    [
        "after_id=%00",
        "before_id=%ED%A0%80",
        "after_id=" + "x" * 10_000,
        "after_id=claude-sonnet-4-5&after_id=%FF",
        "before_id=%F0%9F%98%80&after_id=%00",
        "unknown=%00",
    ],
)
def test_models_list_with_odd_cursors_is_never_a_5xx(gateway, query):
    response = send(
        gateway, "GET", f"/v1/models?{query}", headers={"x-api-key": gateway.secret, **VERSION}
    )
    if response.status_code == 200:
        assert response.json()["data"] == [] or response.json()["data"][0]["type"] == "model"
    else:
        assert_envelope(response, 400)


@pytest.mark.parametrize(
    "model_id",
    ["%00", "%ED%A0%80", "%FF%FE", "x" * 5_000, "%F0%9F%98%80", "%0A%0D", "claude-sonnet-4-5%00"],
)
def test_models_retrieve_with_odd_ids_is_a_404(gateway, model_id):
    response = send(
        gateway, "GET", f"/v1/models/{model_id}", headers={"x-api-key": gateway.secret, **VERSION}
    )
    error = assert_envelope(response, 404)
    assert error["type"] == "not_found_error"
    assert len(error["message"]) < 300


def test_a_content_length_that_is_not_ascii_digits_is_a_400(gateway):
    """ "²" is a digit to str.isdigit(), not to int(): that was a 500."""
    answers: list[dict] = []

    async def ask() -> None:
        messages = [{"type": "http.request", "body": b"{}", "more_body": False}]

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def respond(message):
            answers.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/messages",
            "query_string": b"",
            "headers": [
                (b"x-api-key", gateway.secret.encode()),
                (b"anthropic-version", b"2023-06-01"),
                (b"content-length", "²".encode("latin-1")),
            ],
        }
        await app.gateway(scope, receive, respond)

    gateway.server.run(ask())
    assert answers[0]["status"] == 400
    body = json.loads(answers[1]["body"])
    assert body["error"]["type"] == "invalid_request_error"
