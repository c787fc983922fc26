"""Connections to the upstreams: one aiohttp connection pool per upstream and event loop
(each worker process has one loop), kept open between requests; and the built-in demo
upstream, which answers in process.

aiohttp rather than httpx: on the same fake upstream, aiohttp's client takes a fraction of
httpx's time per request and per streamed event (figures in docs/performance.md).
"""

import asyncio
import json
import math
import weakref
from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp

from billing.messages_api.lookups import UpstreamConfig
from billing.models import UpstreamAuthHeader, UpstreamProtocol
from console.ids import new_id

USER_AGENT = "Console-gateway"


class UpstreamFailure(Exception):
    """The upstream could not be reached, or stopped answering: `timeout` or `connection`."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class Answer(Protocol):
    status: int
    headers: dict[str, str]

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def read(self, limit: int) -> bytes: ...

    def close(self) -> None: ...


# -- Servers -----------------------------------------------------------------------------------


class _HttpAnswer:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers = {name.lower(): value for name, value in response.headers.items()}

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except TimeoutError as error:
            raise UpstreamFailure("timeout", "The upstream stopped sending.") from error
        except aiohttp.ClientError as error:
            raise UpstreamFailure(
                "connection", f"The upstream connection broke: {error}"
            ) from error

    async def read(self, limit: int) -> bytes:
        body = bytearray()
        async for chunk in self.chunks():
            body += chunk
            if len(body) > limit:
                raise UpstreamFailure("connection", "The upstream's answer is too large.")
        return bytes(body)

    def close(self) -> None:
        if self._response.content.is_eof():
            self._response.release()  # back to the pool for the next request
        else:
            # A connection left mid-answer cannot be reused, and closing it is how the
            # upstream learns to stop generating.
            self._response.close()


_pools: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, float], aiohttp.ClientSession]]" = weakref.WeakKeyDictionary()


def _session(upstream: UpstreamConfig) -> aiohttp.ClientSession:
    pools = _pools.setdefault(asyncio.get_running_loop(), {})
    key = (upstream.id, upstream.version)
    session = pools.get(key)
    if session is None or session.closed:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=upstream.max_connections, limit_per_host=0, ttl_dns_cache=300
            ),
            timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=upstream.connect_timeout,
                sock_read=upstream.read_timeout,
            ),
            headers={"user-agent": USER_AGENT},
            # One session serves every client: a cookie an upstream sets must not follow
            # another client's request.
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        pools[key] = session
    return session


async def close_pools() -> None:
    """Close this event loop's connections (at shutdown)."""
    sessions = _pools.pop(asyncio.get_running_loop(), {})
    await asyncio.gather(*(session.close() for session in sessions.values()))


def upstream_headers(upstream: UpstreamConfig, *, version: str, beta: str | None) -> dict:
    """The headers sent upstream: built from nothing, so the client's own headers, its
    Console key above all, never leave Console."""
    headers = {
        "content-type": "application/json",
        "accept-encoding": "identity",
        "anthropic-version": version,
    }
    if beta:
        headers["anthropic-beta"] = beta
    if upstream.credential:
        if upstream.auth_header == UpstreamAuthHeader.BEARER:
            headers["authorization"] = f"Bearer {upstream.credential}"
        else:
            headers["x-api-key"] = upstream.credential
    return headers


async def send(
    upstream: UpstreamConfig, path: str, body: bytes, *, payload: dict, headers: dict
) -> Answer:
    """POST `body` to the upstream's `path`; the answer once its status and headers came."""
    if upstream.protocol == UpstreamProtocol.DEMO:
        return demo_answer(path, payload)
    try:
        response = await _session(upstream).post(
            upstream.base_url + path, data=body, headers=headers
        )
    except TimeoutError as error:
        raise UpstreamFailure("timeout", "The upstream did not answer in time.") from error
    except aiohttp.ClientError as error:
        raise UpstreamFailure("connection", f"The upstream cannot be reached: {error}") from error
    return _HttpAnswer(response)


# -- The demo ----------------------------------------------------------------------------------

DEMO_WORD_SECONDS = 0.01
DEMO_REPLY = (
    "Hello from console-demo, the demo model Console serves itself. Your request was checked "
    "against every rate limit and spend limit of its workspace and organization, then "
    "answered here and metered: it is on Settings, Usage and Cost now. Put real model "
    "servers behind Console as upstreams, and the same key calls them. You said:"
)


def _text_bytes(value: Any) -> int:
    pending, total = [value], 0
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item.encode())
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return total


def demo_input_tokens(payload: dict) -> int:
    """The demo's count: a token per four bytes of the request's text, as a real tokenizer
    roughly counts English."""
    text = _text_bytes([payload.get("system"), payload.get("messages"), payload.get("tools")])
    return max(1, math.ceil(text / 4))


def _last_user_text(payload: dict) -> str:
    messages = payload.get("messages") or []
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(
                    b.get("text", "")
                    for b in content
                    if isinstance(b, dict) and isinstance(b.get("text"), str)
                )
    return ""


def _demo_words(payload: dict) -> list[str]:
    said = _last_user_text(payload).split()[:24]
    return [*DEMO_REPLY.split(), *(said or ["nothing."])]


class _DemoAnswer:
    def __init__(self, status: int, body: bytes = b"", events: list[bytes] | None = None) -> None:
        self.status = status
        self.headers = {
            "content-type": "text/event-stream" if events is not None else "application/json"
        }
        self._body = body
        self._events = events

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._events is None:
            yield self._body
            return
        for index, event in enumerate(self._events):
            if index > 2:
                await asyncio.sleep(DEMO_WORD_SECONDS)
            yield event

    async def read(self, limit: int) -> bytes:
        return self._body

    def close(self) -> None:
        self._events = []


def _sse(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def demo_answer(path: str, payload: dict) -> Answer:
    """What the demo model answers: the same words for the same request, a token a word."""
    input_tokens = demo_input_tokens(payload)
    if path.endswith("/count_tokens"):
        return _DemoAnswer(200, json.dumps({"input_tokens": input_tokens}).encode())
    max_tokens = payload.get("max_tokens")
    words = _demo_words(payload)
    limit = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else len(words)
    stop_reason = "end_turn" if len(words) <= limit else "max_tokens"
    words = words[:limit]
    usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": len(words),
        "service_tier": "standard",
    }
    message: dict[str, Any] = {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": payload.get("model"),
        "content": [{"type": "text", "text": " ".join(words)}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }
    if not payload.get("stream"):
        return _DemoAnswer(200, json.dumps(message, separators=(",", ":")).encode())
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events = [
        _sse("message_start", {"type": "message_start", "message": start}),
        _sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        _sse("ping", {"type": "ping"}),
    ]
    events += [
        _sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": word if i == 0 else f" {word}"},
            },
        )
        for i, word in enumerate(words)
    ]
    events += [
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": len(words)},
            },
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]
    return _DemoAnswer(200, events=events)
