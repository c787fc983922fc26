"""The enforcement engine as the gateway calls it: the one place that does.

A request is authorized with the engine's asynchronous twin, `aauthorize`: in the event
loop, one round trip on `redis.asyncio` (or none, with the in-process backend), no thread
and no SQL once the key, the model and the limits are cached. A refusal is counted off the
request path (`refusals`).

A request is settled with `asettle` when settles are queued in Redis (`USAGE_QUEUE`): one
round trip and no SQL. Without the queue a settle writes its record to the database, so it
runs the synchronous `settle` in the loop's thread pool, not pinned to one shared thread
(`thread_sensitive=False`): settles in flight do not queue behind each other's writes.

What the engine's twins load on a cache miss they load in a thread of their own; that
thread's database connection is dropped after a database error, as Django drops a broken
connection at the start of each request, so that the next miss reconnects.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from billing import enforcement

Decision = enforcement.Decision
Settlement = enforcement.Settlement
EnforcementError = enforcement.EnforcementError
SettleUnconfirmed = enforcement.SettleUnconfirmed


def in_pool[**P, R](function: Callable[P, R]) -> Callable[P, Any]:
    """`function` as a coroutine run in the loop's thread pool, on a database connection
    checked as Django checks it at the start of each request (dropped if broken or aged)."""

    @wraps(function)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        close_old_connections()
        return function(*args, **kwargs)

    return sync_to_async(checked, thread_sensitive=False)


# The engine's twins run their database work with sync_to_async's default, in one shared
# thread; this checks that thread's connection.
_check_engine_thread = sync_to_async(close_old_connections)


async def authorize(
    secret: str, model: str, input_tokens: int, max_tokens: int, *, count_refusal: Callable
) -> Decision:
    try:
        return await enforcement.aauthorize(
            secret, model, input_tokens, max_tokens, count_refusal=count_refusal
        )
    except DatabaseError:
        await _check_engine_thread()
        raise


def queues_settles() -> bool:
    """Whether a settle is one round trip to Redis and no SQL (`USAGE_QUEUE` with Redis)."""
    return bool(settings.USAGE_QUEUE and enforcement.backend().queues_usage)


def _settle(reservation_id: str, usage: dict[str, Any]) -> Settlement:
    return enforcement.settle(reservation_id, usage)


_settle_in_pool = in_pool(_settle)


async def settle(reservation_id: str, usage: dict[str, Any]) -> Settlement:
    if not queues_settles():
        return await _settle_in_pool(reservation_id, usage)
    try:
        return await enforcement.asettle(reservation_id, usage)
    except DatabaseError:
        await _check_engine_thread()
        raise
