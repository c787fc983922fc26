"""The enforcement engine as the gateway calls it: the one place that does.

The engine's `authorize` and `settle` are synchronous (they may touch the database on a
cache miss), so they run in the event loop's thread pool, never in the loop itself, and
not pinned to one shared thread (`thread_sensitive=False`): requests in flight do not
queue behind each other's counter round trips.
"""

from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from billing import enforcement

Decision = enforcement.Decision
Settlement = enforcement.Settlement
EnforcementError = enforcement.EnforcementError


def _authorize(secret: str, model: str, input_tokens: int, max_tokens: int) -> Decision:
    # What Django does at the start of each request: drop a connection that broke or aged.
    close_old_connections()
    return enforcement.authorize(secret, model, input_tokens, max_tokens)


def _settle(reservation_id: str, usage: dict[str, Any]) -> Settlement:
    close_old_connections()
    return enforcement.settle(reservation_id, usage)


authorize = sync_to_async(_authorize, thread_sensitive=False)
settle = sync_to_async(_settle, thread_sensitive=False)
