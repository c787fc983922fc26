"""The enforcement engine as the gateway calls it: the one place that does.

The engine's `authorize` and `settle` are synchronous (they may touch the database on a
cache miss), so they run in the event loop's thread pool, never in the loop itself, and
not pinned to one shared thread (`thread_sensitive=False`): requests in flight do not
queue behind each other's counter round trips.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from billing import enforcement

Decision = enforcement.Decision
Settlement = enforcement.Settlement
EnforcementError = enforcement.EnforcementError


def in_pool[**P, R](function: Callable[P, R]) -> Callable[P, Any]:
    """`function` as a coroutine run in the loop's thread pool, on a database connection
    checked as Django checks it at the start of each request (dropped if broken or aged)."""

    @wraps(function)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        close_old_connections()
        return function(*args, **kwargs)

    return sync_to_async(checked, thread_sensitive=False)


def _authorize(secret: str, model: str, input_tokens: int, max_tokens: int) -> Decision:
    return enforcement.authorize(secret, model, input_tokens, max_tokens)


def _settle(reservation_id: str, usage: dict[str, Any]) -> Settlement:
    return enforcement.settle(reservation_id, usage)


authorize = in_pool(_authorize)
settle = in_pool(_settle)
