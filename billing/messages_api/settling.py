"""Settling every admitted request, whatever fails on the way: no request goes unrecorded.

A settle that fails is tried again: the engine stores a record exactly once, so trying
the same reservation with the same usage again is always safe (a settle that did store
answers `already_settled`).

- **A transient failure** (the database failing, Redis down while the database fails too,
  anything but a refusal of the input) is retried in the process with growing pauses
  (`RETRY_PAUSES`, about four seconds in all). From the first failure on, the settle is
  also kept on disk, in the settle spool (`GATEWAY_SETTLE_SPOOL_DIR`, one small JSON file
  per reservation, written atomically), so that a process that stops or dies before it
  succeeds loses nothing: every gateway process drains the spool when it starts, and keeps
  draining it while it holds anything (every `DRAIN_SECONDS`, longer after failures), and
  `manage.py gateway_settle_spool --drain` drains it by hand.
- **A usage report the engine refuses** (a count or a string of a shape it does not take)
  is recorded all the same: the report is reduced to its whole token and tool counts,
  clamped to what a record holds (`sanitized`), and settled again, with a warning that
  names the request. Only a reservation the engine no longer knows (its API key or model
  deleted from the database) cannot be recorded; it is logged as an error and moved to the
  spool's `rejected/` folder with the usage, for staff to see.
"""

import asyncio
import hashlib
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from billing.messages_api import engine

logger = logging.getLogger(__name__)

RETRY_PAUSES = (0.05, 0.2, 0.5, 1.0, 2.0)
DRAIN_SECONDS = 5.0
MAX_DRAIN_SECONDS = 60.0
MAX_COUNT = 100_000_000
_COUNTS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)
_COUNT_OBJECTS = {
    "cache_creation": ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"),
    "server_tool_use": ("web_search_requests", "web_fetch_requests"),
}


class Rejected(Exception):
    """The engine refuses this settle whatever its usage says."""


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
        return None
    return min(max(int(value), 0), MAX_COUNT)


def sanitized(usage: Any) -> dict[str, Any]:
    """`usage` reduced to what any settle takes: the token and server tool counts, each a
    whole number from 0 to a record's maximum; everything else left out."""
    if not isinstance(usage, dict):
        return {}
    clean: dict[str, Any] = {}
    for name in _COUNTS:
        if (count := _whole(usage.get(name))) is not None:
            clean[name] = count
    for name, fields in _COUNT_OBJECTS.items():
        reported = usage.get(name)
        if isinstance(reported, dict):
            inner = {f: c for f in fields if (c := _whole(reported.get(f))) is not None}
            if inner:
                clean[name] = inner
    return clean


async def _stored(reservation_id: str, usage: dict[str, Any]) -> engine.Settlement:
    try:
        return await engine.settle(reservation_id, usage)
    except engine.SettleUnconfirmed as unconfirmed:
        # Stored; only a repeat of it could not be told apart, and this process settles
        # each request once.
        return unconfirmed.settlement


async def _settle_once(reservation_id: str, usage: dict[str, Any]) -> engine.Settlement:
    """One try; `Rejected` when no usage report can make the engine take it."""
    try:
        return await _stored(reservation_id, usage)
    except engine.EnforcementError as error:
        clean = sanitized(usage)
        if clean == usage:
            raise Rejected(error.message) from None
        logger.warning(
            "The usage reported for %s was refused (%s); it is recorded with its counts only: %s",
            reservation_id,
            error.message,
            json.dumps(clean, sort_keys=True),
        )
        try:
            return await _stored(reservation_id, clean)
        except engine.EnforcementError as again:
            raise Rejected(again.message) from None


# -- The spool ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spooled:
    reservation_id: str
    usage: dict[str, Any]
    path: Path


def spool_dir() -> Path:
    return Path(settings.GATEWAY_SETTLE_SPOOL_DIR)


def _path(reservation_id: str) -> Path:
    digest = hashlib.sha256(reservation_id.encode()).hexdigest()[:40]
    return spool_dir() / f"{digest}.json"


def _write_atomically(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(content, file, sort_keys=True)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    # The rename itself must reach the disk, or a power cut could forget the file.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def spool(reservation_id: str, usage: dict[str, Any]) -> bool:
    """Keep a settle on disk until it succeeds. Whether it could be written."""
    try:
        _write_atomically(
            _path(reservation_id),
            {"reservation_id": reservation_id, "usage": usage, "spooled_at": time.time()},
        )
    except OSError:
        # The last place the usage is kept: the log line itself.
        logger.exception(
            "The settle of %s could not be written to the spool %s; usage: %s",
            reservation_id,
            spool_dir(),
            json.dumps(usage, sort_keys=True),
        )
        return False
    return True


def _unspool(reservation_id: str) -> None:
    # Another process may have drained it first.
    _path(reservation_id).unlink(missing_ok=True)


def _reject(reservation_id: str, usage: dict[str, Any], reason: str) -> None:
    logger.error(
        "The settle of %s was refused and cannot be recorded (%s); usage: %s",
        reservation_id,
        reason,
        json.dumps(usage, sort_keys=True),
    )
    try:
        _write_atomically(
            spool_dir() / "rejected" / _path(reservation_id).name,
            {"reservation_id": reservation_id, "usage": usage, "reason": reason},
        )
    except OSError:
        logger.exception("The refused settle of %s could not be kept on disk.", reservation_id)
    _unspool(reservation_id)


def spooled() -> list[Spooled]:
    """The settles waiting in the spool, oldest first."""
    entries = []
    try:
        paths = sorted(spool_dir().glob("*.json"), key=lambda p: p.stat().st_mtime)
    except FileNotFoundError:
        return []
    for path in paths:
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
            entries.append(Spooled(content["reservation_id"], content["usage"], path))
        except FileNotFoundError:
            continue  # drained meanwhile
        except (OSError, ValueError, KeyError, TypeError):
            logger.exception("The spooled settle %s cannot be read; it is left in place.", path)
    return entries


def rejected() -> list[Path]:
    return sorted((spool_dir() / "rejected").glob("*.json"))


# -- Settling ----------------------------------------------------------------------------------


async def settle(reservation_id: str, usage: dict[str, Any]) -> None:
    """Settle `reservation_id` with `usage`, or keep it in the spool until it is; never
    raises (the client has its answer already)."""
    kept = False
    for pause in (0.0, *RETRY_PAUSES):
        if pause:
            await asyncio.sleep(pause)
        try:
            await _settle_once(reservation_id, usage)
        except Rejected as error:
            _reject(reservation_id, usage, str(error))
            return
        except Exception:
            logger.warning(
                "Settling %s failed; it will be tried again.", reservation_id, exc_info=True
            )
            if not kept:
                kept = spool(reservation_id, usage)
            continue
        if kept:
            _unspool(reservation_id)
        return
    logger.error("Settling %s keeps failing; it waits in the spool.", reservation_id)
    start_draining()


async def drain() -> tuple[int, int]:
    """Settle what waits in the spool. Answers how many were settled, how many are left."""
    done = left = 0
    for entry in spooled():
        try:
            await _settle_once(entry.reservation_id, entry.usage)
        except Rejected as error:
            _reject(entry.reservation_id, entry.usage, str(error))
            continue
        except Exception:
            logger.warning(
                "The spooled settle of %s failed again.", entry.reservation_id, exc_info=True
            )
            left += 1
            continue
        _unspool(entry.reservation_id)
        done += 1
    if done:
        logger.warning("%d spooled settles were recorded; %d are left.", done, left)
    return done, left


_drainer: asyncio.Task | None = None


def draining() -> bool:
    return _drainer is not None and not _drainer.done()


def start_draining() -> None:
    """Drain the spool in a task of this event loop until it is empty."""
    global _drainer
    if not draining():
        _drainer = asyncio.get_running_loop().create_task(_drain_until_empty())


async def _drain_until_empty() -> None:
    pause = DRAIN_SECONDS
    while True:
        try:
            done, left = await drain()
        except Exception:
            logger.exception("Draining the settle spool failed.")
            done, left = 0, 1
        if not left:
            return
        pause = DRAIN_SECONDS if done else min(pause * 2, MAX_DRAIN_SECONDS)
        await asyncio.sleep(pause)


def drain_now() -> tuple[int, int]:
    """`drain` for a management command, in a loop of its own: in a thread of its own when
    this thread already runs one (a command called from asynchronous code)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(drain())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, drain()).result()
