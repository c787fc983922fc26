"""Refused requests, counted off the request path.

Each refusal adds one to its minute on Settings > Usage (`usage.count_refusal`), an SQL
write the refused client must not wait for: the engine hands the refusal to `count`, which
adds it to this process's tally, and a task of the event loop writes the tally every
`FLUSH_SECONDS`, one statement per key, model, limiter and minute, in the thread pool.
A tally that cannot be written (the database failing) is kept and written with the next;
a stopping server writes what is left before it goes. Only a process killed outright
loses its last second of refusals: they are statistics, not usage to bill.
"""

import asyncio
import logging
from datetime import datetime
from typing import Any

from django.db import DatabaseError

from billing import usage
from billing.messages_api import engine

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0

# (api_key_id, organization_id, workspace_id, model_id, limiter, minute) -> refusals
_Key = tuple[int, Any, int, int, str, datetime]
_tally: dict[_Key, int] = {}
_flusher: asyncio.Task | None = None


def count(
    *,
    api_key_id: int,
    organization_id: Any,
    workspace_id: int,
    model_id: int,
    limiter: str,
    at: datetime,
) -> None:
    """Count one refusal (what the engine calls, in the event loop)."""
    minute = at.replace(second=0, microsecond=0)
    key = (api_key_id, organization_id, workspace_id, model_id, limiter, minute)
    _tally[key] = _tally.get(key, 0) + 1
    _start_flusher()


def pending() -> int:
    """How many refusals wait to be written."""
    return sum(_tally.values())


def _start_flusher() -> None:
    global _flusher
    if _flusher is None or _flusher.done():
        _flusher = asyncio.get_running_loop().create_task(_flush_every_second())


async def _flush_every_second() -> None:
    while _tally:
        await asyncio.sleep(FLUSH_SECONDS)
        await flush()


def _write(taken: dict[_Key, int]) -> dict[_Key, int]:
    """Write `taken`; answer what could not be written."""
    left = dict(taken)
    for key, refused in taken.items():
        api_key_id, organization_id, workspace_id, model_id, limiter, minute = key
        try:
            usage.count_refusal(
                api_key_id=api_key_id,
                organization_id=organization_id,
                workspace_id=workspace_id,
                model_id=model_id,
                limiter=limiter,
                at=minute,
                count=refused,
            )
        except DatabaseError:
            logger.exception("Refusals could not be counted; they are kept for the next try.")
            return left
        del left[key]
    return left


_write_in_pool = engine.in_pool(_write)


async def flush() -> None:
    """Write the tally now (every second, and when the server stops)."""
    global _tally
    if not _tally:
        return
    taken, _tally = _tally, {}
    # Cancelled, the thread still writes what it took: nothing is put back then.
    try:
        left = await _write_in_pool(taken)
    except Exception:
        logger.exception("Refusals could not be counted; they are kept for the next try.")
        left = taken
    for key, refused in left.items():
        _tally[key] = _tally.get(key, 0) + refused
