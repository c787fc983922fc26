"""Enforcement: every request checked against all applicable limiters, usage recorded once.

The public interface, for the gateway endpoints and for a gateway running in this process
(which needs no gateway token: it is trusted, and passes no `scope`):

    authorize(secret, model, input_tokens, max_tokens, *, now=None, scope=None) -> Decision
    settle(reservation_id, usage, *, now=None, scope=None) -> Settlement
    async aauthorize(...) -> Decision      the same arguments, on redis.asyncio
    async asettle(...) -> Settlement

`authorize` takes an API key's secret and a request's model, an upper bound of its input
tokens and its `max_tokens`. It checks, in one atomic step of the limiter backend (one
round trip to Redis), the workspace's and the organization's token buckets (requests, input
tokens and output tokens per minute of the model's group), the workspace's and the
organization's monthly spend limits and the usage tier's cap. Either everything admits and is
consumed (one request, the input tokens, `max_tokens` of output capacity, and the request's
worst-case cost as a spend reservation), or nothing is consumed and the refusal names the
limit in `error.details` (scope, limiter, limit, used, reset) and in the rate-limit headers.
`scope`, when given, is the one organization the caller acts for (a gateway token's): a key
of another organization is refused as unknown.

`settle` takes the reservation id and the Messages API `usage` object. It records the usage
exactly once, whatever fails (see `engine`), gives back the unused input and output
capacity (cache reads count toward input tokens only where the model group says so) and
replaces the reservation by the real cost. Settling again changes nothing and answers
`already_settled` with the recorded cost; a reservation that expired
(`RESERVATION_SECONDS`) or that the counter store lost is still recorded. A settle that
reports more than was reserved is recorded and counted in full, and the answer's `overage`
says by how much, how far above the spend limits it took spend, and which limits it pushed
past; those refuse every request until the month ends. Bad input raises `EnforcementError`; a
database that cannot store the record raises `DatabaseError`, after which the same settle can
be made again; `SettleUnconfirmed` (with `USAGE_QUEUE`, the store unreachable) says the record
is stored and the settle is to be made again to learn whether it was a repeat.

Answers are shaped as the Anthropic API answers its clients, so a gateway passes them on.

Modules, each importing only those below it: `engine` (authorize and settle) and `worker`
(what `usage_worker` runs), `spend` (reconciling counters, notifications), `policy` (cached
keys, models, limits; the backend) and `reservations` (signed ids), `wire` (the answers).
"""

from billing.enforcement.engine import (
    aauthorize,
    asettle,
    authorize,
    missed_settles_pending,
    send_missed_settles,
    settle,
)
from billing.enforcement.policy import TTLCache, backend, clear_caches, use_backend
from billing.enforcement.reservations import ReservationInfo
from billing.enforcement.reservations import verify as parse_reservation_id
from billing.enforcement.spend import reconcile
from billing.enforcement.wire import (
    Decision,
    EnforcementError,
    Overage,
    Settlement,
    SettleUnconfirmed,
    usage_from_messages_api,
)
from billing.enforcement.worker import reconcile_spend, store_queued_usage

__all__ = [
    "Decision",
    "EnforcementError",
    "Overage",
    "ReservationInfo",
    "SettleUnconfirmed",
    "Settlement",
    "TTLCache",
    "aauthorize",
    "asettle",
    "authorize",
    "backend",
    "clear_caches",
    "missed_settles_pending",
    "parse_reservation_id",
    "reconcile",
    "reconcile_spend",
    "send_missed_settles",
    "settle",
    "store_queued_usage",
    "usage_from_messages_api",
    "use_backend",
]
