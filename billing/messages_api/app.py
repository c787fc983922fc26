"""The ASGI application in front of Django: the Messages API's paths are answered here,
everything else by Django (`console/asgi.py` puts them together)."""

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings

from billing.messages_api import bounds, clients, forwarding, lookups, refusals, settling
from billing.messages_api.exchange import ClientGone, Exchange, GatewayError
from billing.models import InputBound, UpstreamProtocol

logger = logging.getLogger(__name__)

MODELS_PREFIX = "/v1/models/"
EPOCH = "1970-01-01T00:00:00Z"


def _model_object(route: lookups.Route) -> dict[str, Any]:
    return {
        "type": "model",
        "id": route.model,
        "display_name": route.display_name,
        "created_at": route.created_at.isoformat(timespec="seconds").replace("+00:00", "Z")
        if route.created_at
        else EPOCH,
        "lifecycle": "active",
        "deprecated_at": None,
        "retires_at": None,
    }


async def list_models(exchange: Exchange) -> None:
    """`GET /v1/models`: the models a key can call, newest first, paged as the API pages
    (`limit`, `after_id`, `before_id`)."""
    await forwarding.authenticated(exchange)
    query = _query(exchange)
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 1000:
        raise GatewayError(400, "invalid_request_error", "limit: must be between 1 and 1000.")
    routes = (await lookups.routing_table()).newest_first
    ids = [route.model for route in routes]
    start, end = 0, len(routes)
    if "after_id" in query:
        start = ids.index(query["after_id"]) + 1 if query["after_id"] in ids else len(ids)
    if "before_id" in query:
        end = ids.index(query["before_id"]) if query["before_id"] in ids else 0
    window = routes[start:end]
    page = window[-limit:] if "before_id" in query and "after_id" not in query else window[:limit]
    more = len(window) > len(page)
    await exchange.send_json(
        200,
        {
            "data": [_model_object(route) for route in page],
            "has_more": more,
            "first_id": page[0].model if page else None,
            "last_id": page[-1].model if page else None,
        },
    )


async def get_model(exchange: Exchange, model_id: str) -> None:
    await forwarding.authenticated(exchange)
    route = (await lookups.routing_table()).routes.get(model_id)
    if route is None:
        raise GatewayError(404, "not_found_error", f"model: {model_id[:200]}")
    await exchange.send_json(200, _model_object(route))


async def count_tokens(exchange: Exchange) -> None:
    """`POST /v1/messages/count_tokens`: the upstream's count when it offers one, the demo's
    own, else the size bound Console reserves (an upper bound, see `bounds`)."""
    await forwarding.authenticated(exchange)
    body = await exchange.read_body(settings.GATEWAY_MAX_BODY_BYTES)
    payload = exchange.parse_json(body)
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise GatewayError(400, "invalid_request_error", "model: Field required")
    if not isinstance(payload.get("messages"), list):
        raise GatewayError(400, "invalid_request_error", "messages: Field required")
    route = await forwarding.routed(model)
    upstream = route.upstream
    if (
        upstream.protocol != UpstreamProtocol.DEMO
        and upstream.input_bound != InputBound.COUNT_TOKENS
    ):
        blocks = bounds.source_blocks(payload)
        count = None
        if forwarding.asks_upstream_to_count(upstream, blocks):
            count = await forwarding.upstream_count(exchange, route, payload)
        if count is None:
            count = await forwarding.size_bound(body, payload, blocks)
        await exchange.send_json(200, {"input_tokens": count})
        return
    answer = await clients.send(
        upstream,
        "/v1/messages/count_tokens",
        forwarding.upstream_body(body, payload, route),
        payload={**payload, "model": route.upstream_model},
        headers=forwarding.upstream_headers(exchange, upstream),
    )
    try:
        if answer.status != 200:
            await forwarding.pass_on_error(exchange, answer, route)
            return
        await exchange.send_bytes(
            200, await answer.read(forwarding.MAX_ERROR_BYTES), content_type="application/json"
        )
    finally:
        answer.close()


def _query(exchange: Exchange) -> dict[str, str]:
    return dict(parse_qsl(exchange.scope.get("query_string", b"").decode("latin-1")))


async def gateway(scope: dict, receive: Any, send: Any) -> None:
    exchange = Exchange(scope, receive, send)
    path, method = scope["path"], scope["method"]
    try:
        if path == "/v1/messages":
            _allow(method, "POST")
            await forwarding.create_message(exchange)
        elif path == "/v1/messages/count_tokens":
            _allow(method, "POST")
            await count_tokens(exchange)
        elif path == "/v1/models":
            _allow(method, "GET")
            await list_models(exchange)
        else:
            _allow(method, "GET")
            await get_model(exchange, path.removeprefix(MODELS_PREFIX))
    except GatewayError as error:
        if not exchange.started:
            await exchange.send_error(
                error.status, error.error_type, error.message, headers=error.headers
            )
    except ClientGone:
        pass
    except clients.UpstreamFailure as failure:
        if not exchange.started:
            await exchange.send_error(*forwarding.failure_answer(failure))
    except Exception:
        logger.exception("The gateway failed to answer %s %s.", method, path)
        if not exchange.started:
            await exchange.send_error(500, "api_error", "Internal server error")


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise GatewayError(
            405, "invalid_request_error", f"Use {allowed}.", headers={"allow": allowed}
        )


def is_gateway_path(path: str) -> bool:
    return path in ("/v1/messages", "/v1/messages/count_tokens", "/v1/models") or (
        path.startswith(MODELS_PREFIX)
        and "/" not in path[len(MODELS_PREFIX) :]
        and len(path) > len(MODELS_PREFIX)
    )


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            # Settles a process left in the spool (it stopped, or died) are recorded now.
            if settling.spooled():
                settling.start_draining()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            # Requests still settling finish before the process goes; what cannot be
            # settled waits in the spool for the next process.
            if forwarding.busy():
                await asyncio.wait(forwarding.in_flight | forwarding.settle_tasks, timeout=30)
            await refusals.flush()
            await clients.close_pools()
            await send({"type": "lifespan.shutdown.complete"})
            return


def with_gateway(django_application: Any) -> Any:
    """An ASGI application answering the gateway's paths itself and the rest with Django's."""

    async def application(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and is_gateway_path(scope["path"]):
            await gateway(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)
        else:
            await django_application(scope, receive, send)

    return application
