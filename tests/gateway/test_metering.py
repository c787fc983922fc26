"""Reading usage from a stream, and bounding input tokens before forwarding."""

import json

from billing.messages_api import bounds
from billing.messages_api.clients import demo_answer, demo_input_tokens
from billing.messages_api.metering import UsageMeter


def event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


START = event(
    "message_start",
    {
        "type": "message_start",
        "message": {
            "model": "upstream-name",
            "usage": {
                "input_tokens": 10,
                "cache_read_input_tokens": 500,
                "cache_creation": {"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 4},
                "output_tokens": 1,
                "service_tier": "standard",
            },
        },
    },
)


def delta(text: str, kind: str = "text_delta", field: str = "text") -> bytes:
    return event(
        "content_block_delta", {"type": "content_block_delta", "delta": {"type": kind, field: text}}
    )


def test_totals_replace_field_by_field_and_keep_what_the_delta_leaves_out():
    meter = UsageMeter(client_model="claude", upstream_model="claude")
    meter.feed(START)
    meter.feed(
        event(
            "message_delta",
            {
                "type": "message_delta",
                "usage": {
                    "output_tokens": 42,
                    "input_tokens": 10,
                    "cache_read_input_tokens": None,
                    "server_tool_use": {"web_search_requests": 2},
                },
            },
        )
    )
    meter.feed(event("message_stop", {"type": "message_stop"}))
    assert meter.settled_usage(client_left=True, max_tokens=100) == {
        "input_tokens": 10,
        "cache_read_input_tokens": 500,
        "cache_creation": {"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 4},
        "output_tokens": 42,
        "service_tier": "standard",
        "server_tool_use": {"web_search_requests": 2},
    }


def test_a_client_that_left_pays_at_least_the_tokens_it_was_sent_never_above_max_tokens():
    meter = UsageMeter(client_model="claude", upstream_model="claude")
    meter.feed(START + delta("a") + delta("") + delta("b"))
    meter.feed(
        delta("", "input_json_delta", "partial_json") + delta("c", "thinking_delta", "thinking")
    )
    meter.feed(delta("sig", "signature_delta", "signature"))
    assert meter.streamed_output == 3
    assert meter.settled_usage(client_left=True, max_tokens=100)["output_tokens"] == 3
    assert meter.settled_usage(client_left=True, max_tokens=2)["output_tokens"] == 2
    assert meter.settled_usage(client_left=False, max_tokens=100)["output_tokens"] == 1


def test_the_model_is_renamed_only_in_message_start_and_other_bytes_pass_unchanged():
    meter = UsageMeter(client_model="claude-sonnet-4-5", upstream_model="upstream-name")
    chunk = START + delta("hi")
    out = meter.feed(chunk)
    assert b'"model":"claude-sonnet-4-5"' in out and b"upstream-name" not in out
    assert out.endswith(delta("hi"))
    same = UsageMeter(client_model="upstream-name", upstream_model="upstream-name")
    assert same.feed(chunk) is chunk


def test_garbage_counts_are_ignored_and_huge_ones_capped():
    meter = UsageMeter(client_model="m", upstream_model="m")
    meter.read_message(
        json.dumps(
            {
                "usage": {
                    "input_tokens": -5,
                    "output_tokens": "many",
                    "cache_read_input_tokens": 10**12,
                }
            }
        ).encode()
    )
    assert meter.usage == {"input_tokens": 0, "cache_read_input_tokens": 100_000_000}


def test_carriage_returns_and_split_events():
    meter = UsageMeter(client_model="m", upstream_model="m")
    crlf = START.replace(b"\n", b"\r\n")
    assert meter.feed(crlf[:20]) == b""
    assert meter.feed(crlf[20:]) == crlf
    assert meter.usage["input_tokens"] == 10


def test_the_size_bound_is_above_what_the_demo_counts():
    text = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "é" * 1000}]}
    body = json.dumps(text).encode()
    assert bounds.input_tokens_bound(body, text) >= 2000 > demo_input_tokens(text)


def test_the_demo_is_deterministic_and_honours_max_tokens():
    payload = {
        "model": "console-demo",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    first, second = demo_answer("/v1/messages", payload), demo_answer("/v1/messages", payload)
    one, two = json.loads(first._body), json.loads(second._body)  # type: ignore[attr-defined]
    assert one["content"] == two["content"] and one["stop_reason"] == "max_tokens"
    assert one["usage"]["output_tokens"] == 5 == len(one["content"][0]["text"].split())
