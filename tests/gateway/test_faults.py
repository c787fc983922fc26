"""Whatever fails, each request is settled exactly once, with exactly the tokens the
upstream reported (and, when the client leaves mid-stream, at least what it was sent)."""

import time

import anthropic
import httpx2
import pytest

from billing import upstreams
from billing.messages_api import lookups

TOKENS = ("uncached_input_tokens", "cache_creation_5m_tokens", "cache_read_tokens", "output_tokens")


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def tokens(record) -> tuple[int, ...]:
    return tuple(getattr(record, name) for name in TOKENS)


def test_529_before_the_stream(gateway):
    with pytest.raises(anthropic.OverloadedError):
        gateway.sdk().messages.create(
            model="claude-sonnet-4-5", max_tokens=10, messages=ask("fake: status code=529")
        )
    (record,) = gateway.settled()
    assert tokens(record) == (0, 0, 0, 0)


def test_upstream_429_passes_its_retry_after_on(gateway):
    with pytest.raises(anthropic.RateLimitError) as refused:
        gateway.sdk().messages.create(
            model="claude-sonnet-4-5", max_tokens=10, messages=ask("fake: status code=429")
        )
    assert refused.value.response.headers["retry-after"] == "7"
    gateway.settled()


@pytest.mark.parametrize(
    "directive",
    [
        "status code=401",
        "status code=402 type=billing_error",
        "status code=403 type=authentication_error",
        "status code=404",
    ],
)
def test_upstream_refusing_console_itself_is_an_internal_error(gateway, directive, caplog):
    """Its credential, its account, its route: nothing the client can change."""
    with pytest.raises(anthropic.InternalServerError) as failed:
        gateway.sdk().messages.create(
            model="claude-sonnet-4-5", max_tokens=10, messages=ask(f"fake: {directive}")
        )
    assert failed.value.status_code == 500
    assert failed.value.body["error"] == {"type": "api_error", "message": "Internal server error"}
    assert "Upstream fake" in caplog.text
    (record,) = gateway.settled()
    assert tokens(record) == (0, 0, 0, 0)


def test_upstream_permission_error_is_a_403_for_the_client(gateway):
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        gateway.sdk().messages.create(
            model="claude-sonnet-4-5", max_tokens=10, messages=ask("fake: status code=403")
        )
    assert refused.value.status_code == 403
    # The upstream's words, with the model named as the client named it.
    assert refused.value.body["error"] == {
        "type": "permission_error",
        "message": "fake 403 for claude-sonnet-4-5",
    }
    assert refused.value.response.headers["anthropic-ratelimit-requests-limit"] == "50"
    gateway.settled()


@pytest.mark.parametrize(
    ("code", "status", "error_type"),
    [
        (400, 400, "invalid_request_error"),
        (422, 400, "invalid_request_error"),
        (409, 400, "invalid_request_error"),
        (413, 413, "request_too_large"),
        (500, 500, "api_error"),
        (502, 502, "api_error"),
        (503, 529, "overloaded_error"),
        (504, 502, "api_error"),
    ],
)
def test_upstream_statuses_are_answered_as_the_messages_api_answers(
    gateway, code, status, error_type
):
    response = httpx2.post(
        f"{gateway.url}/v1/messages",
        headers={"x-api-key": gateway.secret, "anthropic-version": "2023-06-01"},
        json={
            "model": "claude-sonnet-4-5",
            "max_tokens": 5,
            "messages": ask(f"fake: status code={code}"),
        },
    )
    assert response.status_code == status
    assert response.json()["error"]["type"] == error_type
    gateway.settled()


def test_overloaded_error_mid_stream(gateway):
    stream = gateway.sdk().messages.create(
        model="claude-sonnet-4-5",
        max_tokens=50,
        stream=True,
        messages=ask("fake: overloaded after=3 input=400 cache_read=20 cache_5m=10"),
    )
    seen = []
    with pytest.raises(anthropic.APIStatusError) as failed:
        seen.extend(event.type for event in stream)
    assert "overloaded_error" in str(failed.value)
    assert seen.count("content_block_delta") == 3
    (record,) = gateway.settled()
    # What message_start reported; the output count stays the upstream's (1).
    assert tokens(record) == (400, 10, 20, 1)


@pytest.mark.parametrize(
    ("scenario", "error_type"), [("stall", "overloaded_error"), ("drop", "api_error")]
)
def test_upstream_stalls_or_drops_mid_stream(gateway, scenario, error_type):
    stream = gateway.sdk().messages.create(
        model="claude-sonnet-4-5",
        max_tokens=50,
        stream=True,
        messages=ask(f"fake: {scenario} after=2 input=300"),
    )
    started = time.monotonic()
    with pytest.raises(anthropic.APIStatusError) as failed:
        list(stream)
    assert error_type in str(failed.value)
    assert time.monotonic() - started < 10
    (record,) = gateway.settled()
    assert tokens(record) == (300, 0, 0, 1)


def test_upstream_timeout_before_answering_is_529(gateway):
    with pytest.raises(anthropic.OverloadedError):
        gateway.sdk().messages.create(
            model="claude-sonnet-4-5", max_tokens=10, messages=ask("fake: reply delay_ms=3000")
        )
    (record,) = gateway.settled()
    assert tokens(record) == (0, 0, 0, 0)


def test_upstream_unreachable_is_502(gateway):
    upstreams.upstream_configure(name="fake", base_url="http://127.0.0.1:9")
    lookups.clear()
    with pytest.raises(anthropic.InternalServerError) as failed:
        gateway.sdk().messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=ask("hi"))
    assert failed.value.status_code == 502
    (record,) = gateway.settled()
    assert tokens(record) == (0, 0, 0, 0)


def test_client_leaving_mid_stream_closes_the_upstream_and_settles_what_it_was_sent(gateway):
    with gateway.sdk().messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=50,
        messages=ask("fake: stall after=5 input=700 cache_read=30"),
    ) as stream:
        words = [text for _, text in zip(range(5), stream.text_stream, strict=False)]
    assert len(words) == 5
    (record,) = gateway.settled()
    # Input as message_start reported it; output: the 5 words streamed, though the upstream
    # had reported 1 so far.
    assert tokens(record) == (700, 0, 30, 5)
    deadline = time.monotonic() + 5
    while gateway.upstream_log()[-1]["ended"] != "closed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gateway.upstream_log()[-1]["ended"] == "closed"


def test_client_leaving_after_the_final_usage_settles_the_reported_totals(gateway):
    with gateway.sdk().messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=50,
        messages=ask("fake: reply output=40 input=100"),
    ) as stream:
        next(iter(stream.text_stream))
    (record,) = gateway.settled()
    assert record.uncached_input_tokens == 100
    assert 1 <= record.output_tokens <= 40


def test_client_leaving_before_any_event_settles_nothing_used(gateway):
    with gateway.sdk().messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=50,
        messages=ask("fake: reply start_ms=3000"),
    ) as stream:
        stream.close()
    (record,) = gateway.settled()
    assert tokens(record) == (0, 0, 0, 0)
