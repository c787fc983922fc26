"""A model server speaking the Anthropic Messages API, run as a process of its own by the
gateway tests and the gateway benchmark: `python -m tests.gateway.fake_upstream --port 0`
prints the port it listens on.

What it answers is told by the last user message, in a line such as
`fake: reply input=1200 cache_read=300 cache_5m=100 cache_1h=50 output=8 event_ms=5`:

- `reply` (the default): a message (streamed with `ping`s, or whole) of `output` words, a
  token each, with the usage given; `delay_ms` before the answer starts, `start_ms`
  between the stream's headers and its first event, `event_ms` between events;
  `full_delta=1` repeats the input side in `message_delta`, as newer servers do;
  `web_search=N` and `web_fetch=N` report server tool use; `tier=priority` the service
  tier, `geo=us` the inference geography, `speed=fast` the speed; `bad_usage=1` a
  `cache_creation` that is text, not an object (a report no settle takes as it is); `data_only=1`
  streams events without their `event:` lines, each opened by an `id:` line.
- `overloaded`: after `after` words, an SSE `error` event (`overloaded_error`), then the end.
- `status code=529`: that HTTP status with an error envelope, before any stream (its error
  type the Messages API's for the status, or `type=...`; its message names the model).
- `stall`: after `after` words, silence for a minute (past any test's read timeout).
- `drop`: after `after` words, the connection is cut.

A body the API would refuse (no model, messages that are not a list of messages with a role
and content) is answered 400 in the error envelope, as the API does.

`GET /_log` answers what it received (headers and bodies) and how each answer ended
(`complete`, or `closed` when the caller hung up first); `DELETE /_log` empties it.
"""

import argparse
import asyncio
import json
import re

from aiohttp import web

DIRECTIVE = re.compile(r"fake:\s*(\w+)((?:\s+\w+=[\w.]+)*)")
LOG: list[dict] = []


def _directive(payload: dict) -> tuple[str, dict[str, str]]:
    for message in reversed(payload.get("messages") or []):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(b.get("text", "") for b in content if isinstance(b, dict))
        found = DIRECTIVE.search(content or "")
        if found:
            params = dict(p.split("=", 1) for p in found.group(2).split())
            return found.group(1), params
        break
    return "reply", {}


def _usage(params: dict[str, str], output: int) -> dict:
    five, hour = int(params.get("cache_5m", 0)), int(params.get("cache_1h", 0))
    usage = {
        "input_tokens": int(params.get("input", 25)),
        "cache_creation_input_tokens": five + hour,
        "cache_read_input_tokens": int(params.get("cache_read", 0)),
        "cache_creation": {"ephemeral_5m_input_tokens": five, "ephemeral_1h_input_tokens": hour},
        "output_tokens": output,
        "service_tier": params.get("tier", "standard"),
    }
    tools = {
        f"{name}_requests": int(params[name])
        for name in ("web_search", "web_fetch")
        if name in params
    }
    if tools:
        usage["server_tool_use"] = tools
    if "geo" in params:
        usage["inference_geo"] = params["geo"]
    if params.get("bad_usage"):
        usage["cache_creation"] = "none"
    if "speed" in params:
        usage["speed"] = params["speed"]
    return usage


def _refusal(payload: object) -> web.Response | None:
    """A 400 in the API's envelope for a body the API would refuse (the gateway passes on
    what it need not read itself, as the API's own checks come after it)."""
    problem = None
    messages = payload.get("messages") if isinstance(payload, dict) else None
    if not isinstance(payload, dict):
        problem = "The request body must be an object."
    elif not isinstance(payload.get("model"), str):
        problem = "model: Input should be a valid string"
    elif not isinstance(messages, list) or not all(
        isinstance(m, dict)
        and m.get("role") in ("user", "assistant")
        and isinstance(m.get("content"), (str, list))
        for m in messages
    ):
        problem = "messages: each message needs a role and content"
    elif not isinstance(payload.get("stream", False), bool):
        problem = "stream: Input should be a valid boolean"
    if problem is None:
        return None
    return web.json_response(
        {"type": "error", "error": {"type": "invalid_request_error", "message": problem}},
        status=400,
    )


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _data_only(event: bytes, number: int) -> bytes:
    """The same event without its `event:` line, opened by an `id:` line."""
    return f"id: {number}\n".encode() + event.split(b"\n", 1)[1]


async def messages(request: web.Request) -> web.StreamResponse:
    payload = await request.json()
    entry = {"headers": dict(request.headers), "body": payload, "ended": "started"}
    LOG.append(entry)
    del LOG[:-200]
    refused = _refusal(payload)
    if refused is not None:
        entry["ended"] = "complete"
        return refused
    scenario, params = _directive(payload)
    await asyncio.sleep(int(params.get("delay_ms", 0)) / 1000)
    if scenario == "status":
        code = int(params.get("code", 529))
        kind = {
            529: "overloaded_error",
            429: "rate_limit_error",
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            400: "invalid_request_error",
            422: "invalid_request_error",
        }
        entry["ended"] = "complete"
        return web.json_response(
            {
                "type": "error",
                "error": {
                    "type": params.get("type", kind.get(code, "api_error")),
                    "message": f"fake {code} for {payload.get('model')}",
                },
            },
            status=code,
            headers={"retry-after": "7"} if code == 429 else None,
        )
    words = int(params.get("output", 8))
    cut = int(params.get("after", 3)) if scenario in {"overloaded", "stall", "drop"} else None
    text = [f"w{i}" if i == 0 else f" w{i}" for i in range(words)]
    usage = _usage(params, words)
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": payload.get("model"),
        "content": [{"type": "text", "text": "".join(text)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    if not payload.get("stream"):
        entry["ended"] = "complete"
        return web.json_response(message)
    response = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await response.prepare(request)
    pause = int(params.get("event_ms", 0)) / 1000
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    final_usage = {"output_tokens": words}
    if params.get("full_delta"):
        final_usage = {**usage, "output_tokens": words}
    events = [
        _event("message_start", {"type": "message_start", "message": start}),
        _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        _event("ping", {"type": "ping"}),
    ]
    events += [
        _event(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}},
        )
        for t in text[:cut]
    ]
    if cut is None:
        events += [
            _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            _event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": final_usage,
                },
            ),
            _event("message_stop", {"type": "message_stop"}),
        ]
    elif scenario == "overloaded":
        events.append(
            _event(
                "error",
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            )
        )
    if params.get("data_only"):
        events = [_data_only(event, number) for number, event in enumerate(events)]
    try:
        await asyncio.sleep(int(params.get("start_ms", 0)) / 1000)
        for index, event in enumerate(events):
            if pause and index:
                await asyncio.sleep(pause)
            await response.write(event)
        if scenario == "stall":
            await asyncio.sleep(60)
        if scenario == "drop":
            assert request.transport is not None
            request.transport.abort()
            entry["ended"] = "dropped"
            return response
        await response.write_eof()
        entry["ended"] = "complete"
    except (ConnectionResetError, asyncio.CancelledError):
        entry["ended"] = "closed"
        raise
    return response


async def count_tokens(request: web.Request) -> web.Response:
    payload = await request.json()
    LOG.append({"headers": dict(request.headers), "body": payload, "ended": "complete"})
    refused = _refusal(payload)
    if refused is not None:
        return refused
    _scenario, params = _directive(payload)
    return web.json_response({"input_tokens": int(params.get("input", 25))})


async def log(request: web.Request) -> web.Response:
    if request.method == "DELETE":
        LOG.clear()
    return web.json_response(LOG)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    app.router.add_route("*", "/_log", log)

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"listening on {port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
