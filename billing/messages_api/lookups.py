"""What the gateway reads on every request, cached in each process for
`LIMITER_CACHE_SECONDS` as the enforcement engine caches keys and limits: the routing table
(every enabled route, its catalog model and its upstream, loaded in one query) and the API
keys seen.

An entry in use is loaded again in the background during the last fifth of its life, so
a busy gateway never makes a request wait for the database to refresh it (that wait was
the slowest percent of requests), and no entry is served older than its lifetime as long
as the reload takes less than that fifth. An entry that expired unused is loaded before
the request goes on, as on a cold start."""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from billing import upstreams
from billing.messages_api import engine
from billing.models import ModelRoute
from console.secrets import hash_secret
from workspaces import services as workspace_services

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpstreamConfig:
    id: int
    name: str
    protocol: str
    base_url: str
    auth_header: str
    input_bound: str
    connect_timeout: float
    read_timeout: float
    max_connections: int
    version: float  # when it was last changed: a changed upstream gets a new connection pool
    credential: str = field(repr=False)


@dataclass(frozen=True)
class Route:
    model: str  # the catalog id the client names
    upstream_model: str
    display_name: str
    created_at: datetime
    upstream: UpstreamConfig


@dataclass(frozen=True)
class Caller:
    """An authenticated workspace API key."""

    api_key_id: int
    workspace_id: int
    organization_id: str
    expires_at: datetime | None


# -- Routes ------------------------------------------------------------------------------------


@dataclass
class _Table:
    routes: dict[str, Route]
    newest_first: list[Route]
    fresh_until: float


_table: _Table | None = None


def _load_table() -> _Table:
    upstreams_by_id: dict[int, UpstreamConfig | None] = {}
    routes = {}
    for row in ModelRoute.objects.filter(enabled=True, upstream__enabled=True).select_related(
        "model", "upstream"
    ):
        upstream = row.upstream
        if upstream.pk not in upstreams_by_id:
            try:
                credential = upstreams.decrypt_credential(upstream.credential_encrypted)
            except ImproperlyConfigured:
                # Its models answer 404 until staff fix the keys; the other upstreams serve.
                logger.exception("Upstream %s is not served.", upstream.name)
                upstreams_by_id[upstream.pk] = None
                continue
            upstreams_by_id[upstream.pk] = UpstreamConfig(
                id=upstream.pk,
                name=upstream.name,
                protocol=upstream.protocol,
                base_url=upstream.base_url.rstrip("/"),
                auth_header=upstream.auth_header,
                input_bound=upstream.input_bound,
                connect_timeout=upstream.connect_timeout_seconds,
                read_timeout=upstream.read_timeout_seconds,
                max_connections=upstream.max_connections,
                version=upstream.updated_at.timestamp(),
                credential=credential,
            )
        config = upstreams_by_id[upstream.pk]
        if config is None:
            continue
        routes[row.model.api_name] = Route(
            model=row.model.api_name,
            upstream_model=row.upstream_model,
            display_name=row.display_name or row.model.api_name,
            created_at=row.created_at,
            upstream=config,
        )
    newest_first = sorted(routes.values(), key=lambda r: (r.created_at, r.model), reverse=True)
    return _Table(routes, newest_first, time.monotonic() + settings.LIMITER_CACHE_SECONDS)


_load_table_in_pool = engine.in_pool(_load_table)
# Reloads running in the background, held here so that none is collected before it ends.
_reloads: dict[object, asyncio.Task] = {}
REFRESH_AHEAD = 0.2  # of LIMITER_CACHE_SECONDS


def _due(fresh_until: float, now: float) -> bool:
    """Whether an entry still fresh is in the last part of its life, to be reloaded."""
    return fresh_until - now < settings.LIMITER_CACHE_SECONDS * REFRESH_AHEAD


def _reload_in_background(key: object, reload) -> None:
    if key in _reloads:
        return

    async def run() -> None:
        try:
            await reload()
        except Exception:
            # The entry stays until it expires; the request then loads it itself.
            logger.exception("Reloading the gateway's cached %s failed.", key)
        finally:
            _reloads.pop(key, None)

    _reloads[key] = asyncio.get_running_loop().create_task(run())


# Bumped by `clear`: a reload that began before is not stored.
_generation = 0


async def _reload_table(generation: int) -> _Table:
    global _table
    table = await _load_table_in_pool()
    if generation == _generation:
        _table = table
    return table


async def routing_table() -> _Table:
    table = _table
    now = time.monotonic()
    if table is None or table.fresh_until <= now:
        return await _reload_table(_generation)
    if _due(table.fresh_until, now):
        generation = _generation
        _reload_in_background("routes", lambda: _reload_table(generation))
    return table


# -- Keys --------------------------------------------------------------------------------------

_callers: dict[str, tuple[float, Caller]] = {}


def _load_caller(secret: str) -> Caller | None:
    key = workspace_services.api_key_authenticate(secret)
    if key is None:
        return None
    return Caller(
        api_key_id=key.pk,
        workspace_id=key.workspace_id,
        organization_id=str(key.organization_id),
        expires_at=key.expires_at,
    )


_load_caller_in_pool = engine.in_pool(_load_caller)


async def authenticate(secret: str | None) -> Caller | None:
    """The key `secret` names, if it may call the API now (active, unexpired, of a workspace
    that is not archived); None otherwise. Only keys found are cached."""
    if not secret or len(secret) > 200:
        return None
    digest = hash_secret(secret)
    now = time.monotonic()
    hit = _callers.get(digest)
    if hit is not None and hit[0] > now:
        caller: Caller | None = hit[1]
        if _due(hit[0], now):
            generation = _generation
            _reload_in_background(digest, lambda: _reload_caller(secret, digest, generation))
    else:
        caller = await _reload_caller(secret, digest, _generation)
    if (
        caller is not None
        and caller.expires_at is not None
        and caller.expires_at <= datetime.now(UTC)
    ):
        return None
    return caller


async def _reload_caller(secret: str, digest: str, generation: int) -> Caller | None:
    caller = await _load_caller_in_pool(secret)
    if generation != _generation:
        return caller
    if caller is None:
        _callers.pop(digest, None)  # disabled or deleted meanwhile: refused from now on
    elif settings.LIMITER_CACHE_SECONDS > 0:
        if len(_callers) > 50_000:
            _callers.clear()
        _callers[digest] = (time.monotonic() + settings.LIMITER_CACHE_SECONDS, caller)
    return caller


def clear() -> None:
    """Forget every cached route and key (tests; staff changes otherwise wait for the TTL)."""
    global _table, _generation
    _table = None
    _generation += 1
    _callers.clear()
