"""`POST /v1/messages`: check, forward, pass the answer on, settle exactly once.

The request is settled in a `finally` that cancellation cannot skip (the settle runs in a
task of its own, shielded), with what the answer's usage says at that moment:

| what happened | usage settled | the client gets |
|---|---|---|
| the answer ended | the upstream's totals | the answer |
| the upstream refused before answering (4xx, 5xx, 529) | none | its error, in the envelope |
| the upstream timed out or could not be reached | none | 529 `overloaded_error` or 502 `api_error` |
| an `error` event mid-stream (e.g. `overloaded_error`) | the totals reported so far | the event |
| the upstream stalled past its read timeout, or dropped, mid-stream | the totals so far | an `error` event |
| the client left mid-stream | the totals so far, output at least what was streamed | - |

The upstream connection is closed as soon as the client leaves, so the model stops
generating. Settling happens after the last byte is sent, so it adds nothing to the
client's latency; a settle that fails is retried, and kept on disk until it is recorded
(`settling`).
"""

import asyncio
import json
import logging
from typing import Any

from django.conf import settings

from billing.messages_api import bounds, clients, engine, lookups, refusals, settling
from billing.messages_api.exchange import ClientGone, Exchange, GatewayError
from billing.messages_api.metering import UsageMeter
from billing.models import InputBound, UpstreamProtocol

logger = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024

# Requests between their check and their settle, and settles still running: a stopping
# server waits for them, and `busy` tells whether any is left.
in_flight: set[asyncio.Future] = set()
settle_tasks: set[asyncio.Future] = set()


def busy() -> bool:
    return bool(in_flight or settle_tasks)


def _payload_field_errors(payload: dict) -> None:
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "invalid_request_error", "model: Field required")
    max_tokens = payload.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise GatewayError(400, "invalid_request_error", "max_tokens: Field required")
    if max_tokens < 1:
        raise GatewayError(
            400, "invalid_request_error", "max_tokens: Input should be greater than or equal to 1"
        )
    if not isinstance(payload.get("messages"), list):
        raise GatewayError(400, "invalid_request_error", "messages: Field required")
    if not isinstance(payload.get("stream", False), bool):
        raise GatewayError(400, "invalid_request_error", "stream: Input should be a valid boolean")


def upstream_body(body: bytes, payload: dict, route: lookups.Route) -> bytes:
    """The request as the upstream must see it: under the upstream's name for the model."""
    if route.upstream_model == route.model:
        return body
    return json.dumps(
        {**payload, "model": route.upstream_model}, ensure_ascii=False, separators=(",", ":")
    ).encode()


def upstream_headers(exchange: Exchange, upstream: lookups.UpstreamConfig) -> dict:
    return clients.upstream_headers(
        upstream,
        version=exchange.header("anthropic-version") or "",
        beta=exchange.header("anthropic-beta"),
    )


async def routed(model: str) -> lookups.Route:
    """The route of `model`; 404 as for an unknown model (asked once the key is known to
    be good, so a caller without one learns nothing about the catalog)."""
    route = (await lookups.routing_table()).routes.get(model)
    if route is None:
        raise GatewayError(404, "not_found_error", f"model: {model[:200]}")
    return route


async def authenticated(exchange: Exchange) -> tuple[str, lookups.Caller]:
    """The key and who it is, checked first on every path (401 before any other error),
    then the `anthropic-version` header every request must carry."""
    secret = exchange.api_key()
    if secret is None:
        raise GatewayError(401, "authentication_error", "x-api-key header is required")
    caller = await lookups.authenticate(secret)
    if caller is None:
        raise GatewayError(401, "authentication_error", "invalid x-api-key")
    if exchange.header("anthropic-version") is None:
        raise GatewayError(400, "invalid_request_error", "anthropic-version: header is required")
    return secret, caller


_bound_in_pool = engine.in_pool(bounds.input_bound)


async def size_bound(body: bytes, payload: dict, blocks: list[dict]) -> int:
    """The bound from the request's size (`bounds`), PDFs read in a thread."""
    if bounds.reads_pdfs(blocks):
        return (await _bound_in_pool(body, payload, blocks)).tokens
    return bounds.input_bound(body, payload, blocks).tokens


def asks_upstream_to_count(upstream: lookups.UpstreamConfig, blocks: list[dict]) -> bool:
    """Whether the upstream's count_tokens bounds the input: when it is configured so, and
    for a request with documents given by URL or file id, whose size it does not show."""
    return upstream.protocol != UpstreamProtocol.DEMO and (
        upstream.input_bound == InputBound.COUNT_TOKENS or bounds.unseen_documents(blocks) > 0
    )


async def upstream_count(exchange: Exchange, route: lookups.Route, payload: dict) -> int | None:
    """The upstream's count of the request's input tokens; None when it gives none."""
    upstream = route.upstream
    counted = {k: v for k, v in payload.items() if k not in {"max_tokens", "stream"}}
    counted["model"] = route.upstream_model
    answer = None
    try:
        answer = await clients.send(
            upstream,
            "/v1/messages/count_tokens",
            json.dumps(counted, ensure_ascii=False).encode(),
            payload=counted,
            headers=upstream_headers(exchange, upstream),
        )
        result = json.loads(await answer.read(MAX_ERROR_BYTES)) if answer.status == 200 else None
    except (clients.UpstreamFailure, ValueError):
        result = None
    finally:
        if answer is not None:
            answer.close()
    count = result.get("input_tokens") if isinstance(result, dict) else None
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count
    logger.warning("Upstream %s did not count the tokens; the size bound is used.", upstream.name)
    return None


async def _input_bound(exchange: Exchange, route: lookups.Route, body: bytes, payload: dict) -> int:
    blocks = bounds.source_blocks(payload)
    if asks_upstream_to_count(route.upstream, blocks):
        count = await upstream_count(exchange, route, payload)
        if count is not None:
            return count
    return await size_bound(body, payload, blocks)


async def create_message(exchange: Exchange) -> None:
    secret, _caller = await authenticated(exchange)
    body = await exchange.read_body(settings.GATEWAY_MAX_BODY_BYTES)
    payload = exchange.parse_json(body)
    _payload_field_errors(payload)
    model, max_tokens = payload["model"], payload["max_tokens"]
    route = await routed(model)
    input_bound = await _input_bound(exchange, route, body, payload)
    try:
        decision = await engine.authorize(
            secret, model, input_bound, max_tokens, count_refusal=refusals.count
        )
    except engine.EnforcementError as error:
        raise GatewayError(error.status, error.error_type, error.message) from None
    if not decision.admitted:
        await exchange.send_json(
            decision.status,
            {**(decision.body or {}), "request_id": exchange.request_id},
            headers=decision.headers,
        )
        return
    exchange.extra_headers = decision.headers
    reservation_id = decision.reservation_id
    assert reservation_id is not None  # an admitted request always has its reservation
    request = asyncio.current_task()
    if request is not None:
        in_flight.add(request)
    meter = UsageMeter(client_model=model, upstream_model=route.upstream_model)
    client_left = False
    answer = None
    try:
        answer = await clients.send(
            route.upstream,
            "/v1/messages",
            upstream_body(body, payload, route),
            payload={**payload, "model": route.upstream_model},
            headers=upstream_headers(exchange, route.upstream),
        )
        if answer.status != 200:
            await pass_on_error(exchange, answer, route)
        elif payload.get("stream"):
            client_left = await _stream(exchange, answer, meter)
        else:
            await _complete(exchange, answer, meter)
    except clients.UpstreamFailure as failure:
        await exchange.send_error(*failure_answer(failure))
    except ClientGone:
        client_left = True
    finally:
        if answer is not None:
            answer.close()
        usage = meter.settled_usage(client_left=client_left, max_tokens=max_tokens)
        task = asyncio.ensure_future(settling.settle(reservation_id, usage))
        settle_tasks.add(task)
        task.add_done_callback(settle_tasks.discard)
        try:
            await asyncio.shield(task)
        finally:
            if request is not None:
                in_flight.discard(request)


def failure_answer(failure: clients.UpstreamFailure) -> tuple[int, str, str]:
    logger.warning("Upstream failure: %s", failure)
    if failure.kind == "timeout":
        return 529, "overloaded_error", "The model server did not answer in time."
    return 502, "api_error", "The model server cannot be reached."


async def pass_on_error(exchange: Exchange, answer: clients.Answer, route: lookups.Route) -> None:
    """An upstream's refusal, answered as the Messages API would answer it (see
    `upstream_error_answer`)."""
    try:
        envelope = json.loads(await answer.read(MAX_ERROR_BYTES))
    except (clients.UpstreamFailure, ValueError):
        envelope = None
    error = envelope.get("error") if isinstance(envelope, dict) else None
    error = error if isinstance(error, dict) else {}
    status, error_type, message = upstream_error_answer(
        answer.status, error.get("type"), error.get("message"), route
    )
    headers = {}
    if status == 429 and "retry-after" in answer.headers:
        headers["retry-after"] = answer.headers["retry-after"]
    await exchange.send_error(status, error_type, message, headers=headers)


# Statuses that say the upstream refuses Console itself (its credential, its account): the
# client can do nothing about them, so they are Console's internal errors.
_CONSOLES_FAULT = {401, 402, 407}


def upstream_error_answer(
    status: int, upstream_type: Any, upstream_message: Any, route: lookups.Route
) -> tuple[int, str, str]:
    """The status, error type and message the client gets for an upstream's error answer.

    The client's own business passes on with the upstream's words (the model's name in
    them as the client knows it): a bad request (400, and the other 4xx as 400), 403
    `permission_error`, 413, 429 (with its `retry-after`), an overloaded server (503 and
    529 as 529). What is Console's fault is a 500 `api_error` that says nothing more, and
    is logged for staff: the upstream refusing Console's credential (401, 402, 407, and a
    403 that is not a `permission_error`), and a 404 (the route names a model the upstream
    does not serve). 500 stays 500, 502 and 504 are 502."""
    message = upstream_message if isinstance(upstream_message, str) else ""
    if route.upstream_model != route.model and route.upstream_model:
        message = message.replace(route.upstream_model, route.model)
    upstream = route.upstream.name
    if status in _CONSOLES_FAULT or (status == 403 and upstream_type != "permission_error"):
        logger.error(
            "Upstream %s refused Console's credential (%s %s): check it in the admin.",
            upstream,
            status,
            upstream_type,
        )
        return 500, "api_error", "Internal server error"
    if status == 404:
        logger.error(
            "Upstream %s answered 404 for %s (its model %s): check the route.",
            upstream,
            route.model,
            route.upstream_model,
        )
        return 500, "api_error", "Internal server error"
    if status == 403:
        answer_status, error_type = 403, "permission_error"
        fallback = "Your API key does not have permission to use the specified resource."
    elif status == 413:
        answer_status, error_type = 413, "request_too_large"
        fallback = "Request exceeds the maximum allowed number of bytes."
    elif status == 429:
        answer_status, error_type = 429, "rate_limit_error"
        fallback = "The model server is receiving too many requests; retry later."
    elif 400 <= status < 500:
        answer_status, error_type = 400, "invalid_request_error"
        fallback = "The model server refused the request."
    elif status in (503, 529):
        answer_status, error_type, fallback = 529, "overloaded_error", "Overloaded"
    elif status in (502, 504):
        answer_status, error_type = 502, "api_error"
        fallback = "The model server answered an error."
    else:
        answer_status, error_type = 500, "api_error"
        fallback = "The model server answered an error."
    return answer_status, error_type, (message or fallback)[:2000]


async def _complete(exchange: Exchange, answer: clients.Answer, meter: UsageMeter) -> None:
    raw = await answer.read(MAX_ANSWER_BYTES)
    try:
        body = meter.read_message(raw)
    except ValueError:
        logger.warning("An upstream answered a message that is not JSON.")
        await exchange.send_error(502, "api_error", "The model server's answer is not valid JSON.")
        return
    await exchange.send_bytes(200, body, content_type="application/json")


def _error_event(error_type: str, message: str) -> bytes:
    data = {"type": "error", "error": {"type": error_type, "message": message}}
    return b"event: error\ndata: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


async def _stream(exchange: Exchange, answer: clients.Answer, meter: UsageMeter) -> bool:
    """Pass the events on as they arrive. Returns whether the client left before the end."""
    await exchange.start(
        200,
        content_type="text/event-stream; charset=utf-8",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
    relay = asyncio.ensure_future(_relay(exchange, answer, meter))
    gone = asyncio.ensure_future(exchange.disconnected())
    try:
        await asyncio.wait({relay, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not relay.done():
            relay.cancel()
            answer.close()
        await asyncio.gather(relay, gone, return_exceptions=True)
    if relay.cancelled():
        return True
    relay.result()
    return False


async def _relay(exchange: Exchange, answer: clients.Answer, meter: UsageMeter) -> None:
    try:
        async for chunk in answer.chunks():
            events = meter.feed(chunk)
            if events:
                await exchange.send_body(events)
        rest = meter.finish()
        if rest:
            await exchange.send_body(rest)
        if not meter.finished and meter.error is None:
            await exchange.send_body(
                _error_event("api_error", "The model server ended the answer early.")
            )
    except clients.UpstreamFailure as failure:
        logger.warning("Upstream failed mid-stream: %s", failure)
        if failure.kind == "timeout":
            await exchange.send_body(
                _error_event("overloaded_error", "The model server stopped responding.")
            )
        else:
            await exchange.send_body(
                _error_event("api_error", "The model server closed the connection mid-answer.")
            )
    await exchange.send_body(b"", more=False)
