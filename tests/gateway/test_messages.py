"""The official SDK against Console's Messages API, in front of the fake upstream."""

from decimal import Decimal

import anthropic
import httpx2
import pytest

from billing import upstreams
from billing.messages_api import bounds, lookups
from billing.models import InputBound

HELLO = [{"role": "user", "content": "Hello"}]


def KEYED(gateway) -> dict:
    """The headers every request carries: the key and the API version."""
    return {"x-api-key": gateway.secret, "anthropic-version": "2023-06-01"}


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_create(gateway):
    sdk = gateway.sdk(
        default_headers={"anthropic-beta": "tools-2099-01-01", "anthropic-version": "2023-06-01"}
    )
    raw = sdk.messages.with_raw_response.create(
        model="claude-sonnet-4-5",
        max_tokens=64,
        messages=ask("fake: reply input=1200 cache_read=300 output=6"),
    )
    message = raw.parse()
    assert message.content[0].text == "w0 w1 w2 w3 w4 w5"
    # The client sees the model it asked for, not the upstream's name for it.
    assert message.model == "claude-sonnet-4-5"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (1200, 300)
    assert raw.headers["request-id"].startswith("req_")
    assert raw.headers["anthropic-ratelimit-requests-limit"] == "50"
    assert raw.headers["anthropic-ratelimit-requests-remaining"] == "49"
    (received,) = gateway.upstream_log()
    headers = {name.lower(): value for name, value in received["headers"].items()}
    assert headers["x-api-key"] == "upstream-secret"
    assert gateway.secret not in str(received["headers"])
    assert headers["anthropic-beta"] == "tools-2099-01-01"
    assert headers["anthropic-version"] == "2023-06-01"
    assert received["body"]["model"] == "fake-model"
    (record,) = gateway.settled()
    assert (record.uncached_input_tokens, record.cache_read_tokens, record.output_tokens) == (
        1200,
        300,
        6,
    )
    assert record.api_key_id == gateway.key.pk and record.request_id.startswith("res_")
    # $3/M input, $0.30/M cache reads, $15/M output.
    assert record.cost_cents == Decimal("0.378")


def test_stream(gateway):
    sdk = gateway.sdk()
    with sdk.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=64,
        messages=ask(
            "fake: reply input=900 cache_read=50 cache_5m=40 cache_1h=30 output=12 event_ms=2"
        ),
    ) as stream:
        text = list(stream.text_stream)
        final = stream.get_final_message()
    assert text == ["w0", *(f" w{i}" for i in range(1, 12))]
    assert final.model == "claude-sonnet-4-5"
    usage = final.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens) == (900, 12, 50)
    assert usage.cache_creation.ephemeral_1h_input_tokens == 30
    (record,) = gateway.settled()
    assert (
        record.uncached_input_tokens,
        record.cache_creation_5m_tokens,
        record.cache_creation_1h_tokens,
        record.cache_read_tokens,
        record.output_tokens,
    ) == (900, 40, 30, 50, 12)
    # 1-hour writes at $6/M, 5-minute writes at $3.75/M: each at its own price.
    expected = (900 * 3 + 40 * Decimal("3.75") + 30 * 6 + 50 * Decimal("0.3") + 12 * 15) / 10_000
    assert record.cost_cents == expected


def test_running_totals_in_message_delta_are_not_counted_twice(gateway):
    with gateway.sdk().messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=64,
        messages=ask(
            "fake: reply input=500 cache_read=70 output=4 full_delta=1 web_search=2 tier=priority"
        ),
    ) as stream:
        stream.until_done()
    (record,) = gateway.settled()
    assert (record.uncached_input_tokens, record.cache_read_tokens, record.output_tokens) == (
        500,
        70,
        4,
    )


def test_stream_with_the_raw_events(gateway):
    response = httpx2.post(
        f"{gateway.url}/v1/messages",
        headers={"x-api-key": gateway.secret, "anthropic-version": "2023-06-01"},
        json={
            "model": "claude-sonnet-4-5",
            "max_tokens": 10,
            "stream": True,
            "messages": ask("fake: reply output=2"),
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_repeated_beta_headers_are_passed_on_as_one_list(gateway):
    response = httpx2.post(
        f"{gateway.url}/v1/messages",
        headers=[
            ("x-api-key", gateway.secret),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "one-2099-01-01"),
            ("anthropic-beta", "two-2099-01-01"),
        ],
        json={"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": HELLO},
    )
    assert response.status_code == 200
    headers = {k.lower(): v for k, v in gateway.upstream_log()[-1]["headers"].items()}
    assert headers["anthropic-beta"] == "one-2099-01-01,two-2099-01-01"
    gateway.settled()


def test_bearer_authentication(gateway):
    client = anthropic.Anthropic(auth_token=gateway.secret, base_url=gateway.url, max_retries=0)
    message = client.messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=HELLO)
    assert message.usage.input_tokens == 25
    gateway.settled()


def test_count_tokens_is_the_size_bound_unless_the_upstream_counts(gateway):
    sdk = gateway.sdk()
    messages = ask("fake: reply input=77")
    counted = sdk.messages.count_tokens(model="claude-sonnet-4-5", messages=messages)
    assert counted.input_tokens > bounds.REQUEST_TOKENS
    upstreams.upstream_configure(name="fake", input_bound=InputBound.COUNT_TOKENS)
    lookups.clear()
    assert (
        sdk.messages.count_tokens(model="claude-sonnet-4-5", messages=messages).input_tokens == 77
    )
    assert gateway.upstream_log()[-1]["body"]["model"] == "fake-model"
    # Counting records no usage.
    assert not gateway.settled(count=0)


def test_the_upstreams_count_bounds_the_reservation(gateway):
    upstreams.upstream_configure(name="fake", input_bound=InputBound.COUNT_TOKENS)
    lookups.clear()
    raw = gateway.sdk().messages.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=10, messages=ask("fake: reply input=3000 output=1")
    )
    # Tier 1: 30,000 input tokens per minute; the counted 3,000 were taken.
    assert raw.headers["anthropic-ratelimit-input-tokens-remaining"] == "27000"
    assert [e["body"].get("max_tokens") for e in gateway.upstream_log()] == [None, 10]
    gateway.settled()


def test_models(gateway):
    sdk = gateway.sdk()
    models = list(sdk.models.list())
    assert [(m.id, m.display_name, m.type) for m in models] == [
        ("claude-sonnet-4-5", "Claude Sonnet 4.5", "model")
    ]
    assert sdk.models.retrieve("claude-sonnet-4-5").display_name == "Claude Sonnet 4.5"
    with pytest.raises(anthropic.NotFoundError):
        sdk.models.retrieve("claude-opus-4-5")
    with pytest.raises(anthropic.AuthenticationError):
        gateway.sdk(api_key="sk-ant-api03-wrong").models.list()


def test_models_are_paged_newest_first(gateway):
    for name in ("claude-haiku-4-5", "claude-opus-4-5"):
        upstreams.model_route_set(
            model=upstreams.Model.objects.get(api_name=name), upstream=gateway.upstream
        )
    lookups.clear()
    sdk = gateway.sdk()
    first = sdk.models.list(limit=2)
    assert [m.id for m in first.data] == ["claude-opus-4-5", "claude-haiku-4-5"]
    assert first.has_more is True
    rest = sdk.models.list(limit=2, after_id=first.last_id)
    assert [m.id for m in rest.data] == ["claude-sonnet-4-5"] and rest.has_more is False
    before = sdk.models.list(limit=1, before_id="claude-sonnet-4-5")
    assert [m.id for m in before.data] == ["claude-haiku-4-5"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"model": "claude-sonnet-4-5\\u0000", "max_tokens": 5, "messages": []}', "NUL"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"{not json", "not valid JSON"),
        (b'{"model": "claude-sonnet-4-5", "messages": []}', "max_tokens"),
        (b'{"model": "claude-sonnet-4-5", "max_tokens": 5}', "messages"),
        (b'{"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [], "stream": 1}', "stream"),
        (b"[1, 2]", "JSON object"),
    ],
)
def test_bad_requests_are_400_in_the_envelope(gateway, body, message):
    response = httpx2.post(
        f"{gateway.url}/v1/messages",
        headers={**KEYED(gateway), "content-type": "application/json"},
        content=body,
    )
    assert response.status_code == 400
    envelope = response.json()
    assert envelope["type"] == "error" and envelope["error"]["type"] == "invalid_request_error"
    assert message in envelope["error"]["message"]
    assert envelope["request_id"] == response.headers["request-id"]
    assert not gateway.upstream_log()


def test_body_over_the_limit_is_413(gateway, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 1_000
    response = httpx2.post(
        f"{gateway.url}/v1/messages",
        headers=KEYED(gateway),
        content=b"x" * 1_001,
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"


def test_wrong_method_is_405(gateway):
    response = httpx2.get(f"{gateway.url}/v1/messages", headers={"x-api-key": gateway.secret})
    assert response.status_code == 405 and response.headers["allow"] == "POST"
