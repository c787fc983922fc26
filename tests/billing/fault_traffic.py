"""Gateway processes for the fault-injection tests.

Each process sets Django up on the tests' database and then, on command, sends traffic as
a gateway does: authorize, and for every admitted request a settle, retried until it is
answered (a gateway must retry a settle that did not answer 200). It reports what it saw,
with the times (`time.monotonic`, one clock for every process of the machine) the tests need
to tell whether a refusal was due:

- `requests`: for each admitted request, when its authorize started and ended, when the
  settle that was answered started and ended, its cost, and `released`: a time after which
  its reservation no longer held its worst case in the counters (the settle's end; for a
  settle written to the database alone while the store could not be reached, the moment this
  process had sent the store what it missed).
- `unavailable`: the checks answered 529, with `released` the same way (such a check may
  have run in the store and left a hold, cancelled once the store is reached again).
- `spend_refusals`: when each spend refusal was asked for and answered, and the counter's
  value it names (`used`, micro-cents).

`settle_then_hang` is a gateway that stops for good between the two steps of a settle (the
counter store settled, the database transaction not committed), to be killed there.
"""

import os
import time
import traceback
from collections import Counter
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

NEVER = float("inf")


def _setup(environment: dict[str, str]) -> None:
    os.environ.update(environment)
    import django

    django.setup()


def serve(channel: Connection, environment: dict[str, str]) -> None:
    _setup(environment)
    channel.send("ready")
    while True:
        command = channel.recv()
        if command is None:
            return
        try:
            channel.send(traffic(**command))
        except Exception:
            channel.send({"crashed": traceback.format_exc()})


def _micro(cents: str | Decimal) -> int:
    return int(Decimal(cents) * 1_000_000)


def _use_store(redis_url: str, cluster: bool, queued: bool):
    from django.conf import settings

    from billing import enforcement, limiter

    settings.USAGE_QUEUE = queued
    settings.USAGE_ROLLUP_INLINE = False
    settings.LIMITER_FAIL_OPEN = False
    backend = limiter.RedisBackend(redis_url, cluster=cluster, timeout=0.25)
    enforcement.use_backend(backend)
    return backend


class _Releases:
    """Reservations whose hold waits for this process to send the store what it missed:
    each is released at the first moment afterwards that nothing is left to send."""

    def __init__(self) -> None:
        self.waiting: list[dict] = []

    def after_call(self, entry: dict | None, ended: float) -> None:
        from billing import enforcement

        if enforcement.missed_settles_pending():
            if entry is not None:
                entry["released"] = NEVER
                self.waiting.append(entry)
            return
        if entry is not None:
            entry["released"] = ended
        for waiting in self.waiting:
            waiting["released"] = ended
        self.waiting.clear()


def traffic(
    *,
    redis_url: str,
    cluster: bool,
    queued: bool,
    secret: str,
    seconds: float,
    request: dict[str, Any],
    usage: dict[str, Any],
    pause: float,
    settle_deadline: float,
) -> dict[str, Any]:
    from django.db import connections

    from billing import enforcement

    _use_store(redis_url, cluster, queued)
    releases = _Releases()
    requests: list[dict] = []
    unavailable: list[dict] = []
    spend_refusals: list[dict] = []
    settled: dict[str, list] = {}
    settle_refused: list[tuple[str, str]] = []
    refused: Counter = Counter()
    settle_retries = 0
    errors: list[str] = []
    started = time.monotonic()
    stop = started + seconds
    give_up = started + settle_deadline
    while time.monotonic() < stop:
        asked = time.monotonic()
        try:
            decision = enforcement.authorize(
                secret, request["model"], request["input_tokens"], request["max_tokens"]
            )
        except Exception as error:
            errors.append(f"authorize: {error!r}")
            connections.close_all()
            time.sleep(pause)
            continue
        answered = time.monotonic()
        if not decision.admitted:
            refused[decision.limiter or str(decision.status)] += 1
            entry = None
            if decision.status == 529:
                entry = {"asked": asked, "answered": answered}
                unavailable.append(entry)
            elif decision.limiter:
                details = decision.body["error"]["details"]  # type: ignore[index]
                spend_refusals.append(
                    {
                        "asked": asked,
                        "answered": answered,
                        "limiter": decision.limiter,
                        "used": _micro(details["used"]),
                        "requested": _micro(details["requested"]),
                        "limit": _micro(details["limit"]),
                    }
                )
            releases.after_call(entry, answered)
            time.sleep(pause)
            continue
        rid = decision.reservation_id
        releases.after_call(None, answered)
        entry = {"id": rid, "authorize": [asked, answered]}
        requests.append(entry)
        while True:
            attempt = time.monotonic()
            try:
                settlement = enforcement.settle(rid, usage)
            except enforcement.SettleUnconfirmed:
                # Stored; retried to learn whether it was a repeat (it answers already).
                settle_retries += 1
                releases.after_call(None, time.monotonic())
                continue
            except enforcement.EnforcementError as error:
                settle_refused.append((rid, error.message))
                break
            except Exception:
                # The database or the store failed: nothing was stored; retry, as a gateway must.
                settle_retries += 1
                connections.close_all()
                if time.monotonic() > give_up:
                    errors.append(f"settle gave up on {rid}")
                    break
                time.sleep(0.05)
                continue
            done = time.monotonic()
            entry["settle"] = [attempt, done]
            entry["cost"] = _micro(settlement.cost_cents)
            releases.after_call(entry, done)
            settled[rid] = [settlement.already_settled, str(settlement.cost_cents)]
            break
        time.sleep(pause)
    # A gateway keeps running after a fault; here it stops, so it sends the counter store
    # what it missed before it goes.
    for _attempt in range(200):
        if enforcement.send_missed_settles():
            releases.after_call(None, time.monotonic())
            break
        time.sleep(0.05)
    enforcement.backend().close()  # type: ignore[attr-defined]
    enforcement.use_backend(None)
    connections.close_all()
    return {
        "admitted": [entry["id"] for entry in requests],
        "requests": requests,
        "unavailable": unavailable,
        "spend_refusals": spend_refusals,
        "settled": settled,
        "settle_refused": settle_refused,
        "refused": dict(refused),
        "settle_retries": settle_retries,
        "errors": errors,
    }


class _HangingAfterTheStoreSettles:
    """The counter store, seen from a settle that stops for good once the store settled."""

    def __init__(self, backend, channel: Connection, reservation_id: str) -> None:
        self._backend = backend
        self._channel = channel
        self._reservation_id = reservation_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def settle(self, request):
        result = self._backend.settle(request)
        self._channel.send({"between_the_steps": self._reservation_id, "status": result.status})
        time.sleep(3_600)  # killed here, its transaction open
        return result


def settle_then_hang(
    channel: Connection,
    environment: dict[str, str],
    *,
    redis_url: str,
    cluster: bool,
    secret: str,
    request: dict[str, Any],
    usage: dict[str, Any],
) -> None:
    """Once told to go, authorize one request, report it, then settle it (without
    USAGE_QUEUE: the record is inserted, the store settles, then the transaction would
    commit) and stop between the store's settle and the commit."""
    _setup(environment)
    from billing import enforcement

    backend = _use_store(redis_url, cluster, queued=False)
    channel.send("ready")
    assert channel.recv() == "go"
    asked = time.monotonic()
    decision = enforcement.authorize(
        secret, request["model"], request["input_tokens"], request["max_tokens"]
    )
    channel.send(
        {
            "admitted": decision.admitted,
            "id": decision.reservation_id,
            "authorize": [asked, time.monotonic()],
        }
    )
    if not decision.admitted:
        return
    enforcement.use_backend(
        _HangingAfterTheStoreSettles(backend, channel, decision.reservation_id)  # type: ignore[arg-type]
    )
    enforcement.settle(decision.reservation_id, usage)
