"""Gateway processes for the fault-injection tests.

Each process sets Django up on the tests' database and then, on command, sends traffic as
a gateway does: authorize, and for every admitted request a settle, retried until it is
answered (a gateway must retry a settle that failed). It reports what it saw.
"""

import os
import time
import traceback
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any


def serve(channel: Connection, environment: dict[str, str]) -> None:
    os.environ.update(environment)
    import django

    django.setup()
    channel.send("ready")
    while True:
        command = channel.recv()
        if command is None:
            return
        try:
            channel.send(traffic(**command))
        except Exception:
            channel.send({"crashed": traceback.format_exc()})


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
    from django.conf import settings
    from django.db import connections

    from billing import enforcement, limiter

    settings.USAGE_QUEUE = queued
    settings.USAGE_ROLLUP_INLINE = False
    settings.LIMITER_FAIL_OPEN = False
    enforcement.use_backend(limiter.RedisBackend(redis_url, cluster=cluster, timeout=0.25))
    admitted: list[str] = []
    settled: dict[str, list] = {}
    settle_refused: list[tuple[str, str]] = []
    refused: Counter = Counter()
    settle_retries = 0
    errors: list[str] = []
    started = time.monotonic()
    stop = started + seconds
    give_up = started + settle_deadline
    while time.monotonic() < stop:
        try:
            decision = enforcement.authorize(
                secret, request["model"], request["input_tokens"], request["max_tokens"]
            )
        except Exception as error:
            errors.append(f"authorize: {error!r}")
            connections.close_all()
            time.sleep(pause)
            continue
        if not decision.admitted:
            refused[decision.limiter or str(decision.status)] += 1
            time.sleep(pause)
            continue
        admitted.append(decision.reservation_id)
        while True:
            try:
                settlement = enforcement.settle(decision.reservation_id, usage)
            except enforcement.EnforcementError as error:
                settle_refused.append((decision.reservation_id, error.message))
                break
            except Exception:
                # The database or the store failed: nothing was stored; retry, as a gateway must.
                settle_retries += 1
                connections.close_all()
                if time.monotonic() > give_up:
                    errors.append(f"settle gave up on {decision.reservation_id}")
                    break
                time.sleep(0.05)
                continue
            settled[decision.reservation_id] = [
                settlement.already_settled,
                str(settlement.cost_cents),
            ]
            break
        time.sleep(pause)
    # A gateway keeps running after a fault; here it stops, so it sends the counter store
    # what it missed before it goes.
    for _attempt in range(100):
        if enforcement.send_missed_settles():
            break
        time.sleep(0.05)
    enforcement.backend().close()  # type: ignore[attr-defined]
    enforcement.use_backend(None)
    connections.close_all()
    return {
        "admitted": admitted,
        "settled": settled,
        "settle_refused": settle_refused,
        "refused": dict(refused),
        "settle_retries": settle_retries,
        "errors": errors,
    }
