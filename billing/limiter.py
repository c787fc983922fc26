"""The counters behind enforcement: token buckets, month-to-date spend and reservations.

Two backends with the same semantics and the same tests:

- `RedisBackend`: one Lua script per call (`billing/lua/*.lua`, each taking one JSON object
  of named arguments), so a check is one round trip and atomic across processes. Every key
  of an organization carries the hash tag ``{org:<id>}``, so all keys a script touches live
  in one slot and the scripts run unchanged on Redis Cluster (`cluster=True`). It has
  asynchronous twins of `check` and `settle` (`acheck`, `asettle`) on `redis.asyncio`,
  running the same scripts.
- `LocalBackend`: the same arithmetic in Python under a lock, for a single process.

A bucket's capacity is its per-minute limit and it refills continuously at capacity/60 per
second, never above capacity. A check either admits and consumes every bucket and spend
counter involved, or changes nothing and names the first one that refused.

A reservation is held until it settles or expires. Settling replaces the hold by the real
cost and gives back unused input and output capacity, once: the settled reservation is
remembered (with what its settle answered) until `keep_until`, so a second settle changes
nothing and answers the same. A settle of a reservation the store does not hold (expired, or
lost with the store's data) counts its cost when asked to (`late`). Spend counters that do not exist are never created by a settle or an
expiry: `reconcile` sets them from the database.

Spend is counted in micro-cents (10^-6 cent) as integers, so Lua's doubles stay exact up to
about $90 million a month per counter.
"""

import asyncio
import hashlib
import heapq
import json
import secrets
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.backoff
import redis.cluster
import redis.retry
from redis.crc import key_slot

MICRO = 1_000_000  # micro-cents per cent
LUA = Path(__file__).resolve().parent / "lua"


@dataclass(frozen=True, slots=True)
class BucketCheck:
    name: str  # unique within the organization, e.g. "ws:12:sonnet-4:requests_per_minute"
    capacity: int
    amount: int

    @property
    def rate(self) -> float:
        return self.capacity / 60.0


@dataclass(frozen=True, slots=True)
class SpendLimit:
    limit: int  # micro-cents
    tag: str  # "workspace", "organization" or "tier_cap"


@dataclass(frozen=True, slots=True)
class SpendCheck:
    name: str  # "org" or "ws:<id>"
    amount: int  # micro-cents to reserve
    limits: tuple[SpendLimit, ...] = ()


@dataclass(frozen=True, slots=True)
class Hold:
    """What a reservation holds, to be given back or replaced when it settles or expires."""

    month: str
    output_buckets: tuple[tuple[str, int], ...]  # (bucket name, capacity)
    output_reserved: int
    input_buckets: tuple[tuple[str, int], ...]
    input_reserved: int
    spend: tuple[tuple[str, int], ...]  # (spend name, micro-cents reserved)

    def to_json(self) -> str:
        return json.dumps(
            {
                "month": self.month,
                "output_buckets": self.output_buckets,
                "output_reserved": self.output_reserved,
                "input_buckets": self.input_buckets,
                "input_reserved": self.input_reserved,
                "spend": self.spend,
            },
            separators=(",", ":"),
        )


REQUESTS, INPUT, OUTPUT = "requests", "input", "output"  # what a bucket counts


@dataclass(frozen=True, slots=True)
class PlannedBucket:
    name: str
    capacity: int
    kind: str  # REQUESTS (one per request), INPUT or OUTPUT (tokens)


@dataclass(frozen=True, slots=True)
class PlannedSpend:
    name: str
    limits: tuple[SpendLimit, ...]


def resp(parts: tuple[str, ...] | list[str]) -> bytes:
    """Arguments as Redis reads them on the wire (RESP bulk strings)."""
    text = "".join([f"${len(part)}\r\n{part}\r\n" for part in parts])
    data = text.encode()
    if len(data) == len(text):
        return data
    # Not all ASCII: the lengths are the bytes'.
    return b"".join(b"$%d\r\n%s\r\n" % (len(b), b) for b in (part.encode() for part in parts))


class CheckPlan:
    """What the checks of one workspace's requests for one model group touch: the buckets
    and the spend counters with their limits. It is built once (the engine caches it with the
    limits), with the check script's arguments that are the same for every request (see
    billing/lua/check.lua), already in Redis's wire format, and the template of the hold, so
    that a check only fills in its amounts."""

    __slots__ = ("_hold", "bucket_names", "buckets", "packed", "spends", "static")

    def __init__(self, buckets: tuple[PlannedBucket, ...], spends: tuple[PlannedSpend, ...]):
        self.buckets = buckets
        self.spends = spends
        self.bucket_names = tuple(b.name for b in buckets)
        static = [str(len(buckets)), str(len(spends))]
        static += [name for b in buckets for name in (b.name, f"{b.name}:t")]
        static += [str(b.capacity) for b in buckets]
        static += [b.kind for b in buckets]
        static += [s.name for s in spends]
        for spend in spends:
            static.append(str(len(spend.limits)))
            static += [text for x in spend.limits for text in (str(x.limit), x.tag)]
        self.static = tuple(static)
        self.packed = resp(self.static)

        def named(kind: str) -> str:
            return json.dumps([[b.name, b.capacity] for b in buckets if b.kind == kind])

        counted = ",".join(f"[{json.dumps(s.name)},%(cost)s]" for s in spends)
        self._hold = (
            '{"month":"%(month)s","output_buckets":'
            + named(OUTPUT).replace("%", "%%")
            + ',"output_reserved":%(output)s,"input_buckets":'
            + named(INPUT).replace("%", "%%")
            + f',"input_reserved":%(input)s,"spend":[{counted}]}}'
        )


@dataclass(slots=True)
class CheckRequest:
    org: str
    plan: CheckPlan
    now: float
    month: str
    previous_month: str
    reservation_id: str
    expires_at: float
    input_tokens: int
    output_tokens: int  # the request's max_tokens
    cost: int  # its worst case, micro-cents

    def amount(self, kind: str) -> int:
        return 1 if kind == REQUESTS else self.input_tokens if kind == INPUT else self.output_tokens

    def bucket_checks(self) -> list[BucketCheck]:
        return [BucketCheck(b.name, b.capacity, self.amount(b.kind)) for b in self.plan.buckets]

    def hold(self) -> Hold:
        buckets = self.plan.buckets
        return Hold(
            month=self.month,
            output_buckets=tuple((b.name, b.capacity) for b in buckets if b.kind == OUTPUT),
            output_reserved=self.output_tokens,
            input_buckets=tuple((b.name, b.capacity) for b in buckets if b.kind == INPUT),
            input_reserved=self.input_tokens,
            spend=tuple((s.name, self.cost) for s in self.plan.spends),
        )

    def variables(self) -> tuple[str, ...]:
        """The check script's arguments that are this request's own (the plan's follow)."""
        hold = self.plan._hold % {
            "month": self.month,
            "output": self.output_tokens,
            "input": self.input_tokens,
            "cost": self.cost,
        }
        return (
            repr(self.now),
            self.month,
            self.previous_month,
            self.reservation_id,
            repr(self.expires_at),
            str(self.input_tokens),
            str(self.output_tokens),
            str(self.cost),
            hold,
        )

    def packed_variables(self) -> bytes:
        """`variables()` in Redis's wire format, made in one step (this is on every request's
        path)."""
        now, expires_at = repr(self.now), repr(self.expires_at)
        inputs, output, cost = str(self.input_tokens), str(self.output_tokens), str(self.cost)
        month, previous, rid = self.month, self.previous_month, self.reservation_id
        hold = self.plan._hold % {"month": month, "output": output, "input": inputs, "cost": cost}
        text = (
            f"${len(now)}\r\n{now}\r\n${len(month)}\r\n{month}\r\n"
            f"${len(previous)}\r\n{previous}\r\n${len(rid)}\r\n{rid}\r\n"
            f"${len(expires_at)}\r\n{expires_at}\r\n${len(inputs)}\r\n{inputs}\r\n"
            f"${len(output)}\r\n{output}\r\n${len(cost)}\r\n{cost}\r\n"
            f"${len(hold)}\r\n{hold}\r\n"
        )
        data = text.encode()
        return data if len(data) == len(text) else resp(self.variables())

    def arguments(self) -> tuple[str, ...]:
        """The check script's arguments (see billing/lua/check.lua)."""
        return (*self.variables(), *self.plan.static)


@dataclass(slots=True)
class CheckResult:
    admitted: bool
    # After an admission: each bucket's level, in the plan's order; after a refusal by a
    # bucket: the levels when it refused.
    levels: list[float] = field(default_factory=list)
    refused_bucket: str | None = None
    refused_spend: tuple[str, str] | None = None  # (spend name, limit tag)
    spend_used: int = 0  # the refused spend counter's value, micro-cents
    missing_spend: list[str] = field(default_factory=list)  # counters to rebuild first


@dataclass(frozen=True, slots=True)
class SettleRequest:
    org: str
    now: float
    month: str
    previous_month: str
    reservation_id: str
    output_tokens: int
    input_tokens: int  # those that count toward the input-tokens-per-minute limit
    cost: int  # micro-cents
    cost_text: str  # cents, answered to a second settle
    keep_until: float  # until when the settled reservation is remembered
    record_month: str  # the month the reservation was made in
    spend_names: tuple[str, ...]  # the counters a late settle adds its cost to
    record: str = ""  # the usage record to queue with the settle ("" for none)
    late: bool = True  # whether to count a reservation this store no longer holds
    # Cancelling a check whose answer was lost: remembered as settled even when no hold is
    # found, so that the check, should it reach the store later, changes nothing.
    cancel: bool = False

    def arguments(self) -> str:
        return json.dumps(
            {
                "now": self.now,
                "month": self.month,
                "previous_month": self.previous_month,
                "id": self.reservation_id,
                "output_tokens": self.output_tokens,
                "input_tokens": self.input_tokens,
                "cost": self.cost,
                "cost_text": self.cost_text,
                "keep_until": self.keep_until,
                "record_month": self.record_month,
                "spend_names": self.spend_names,
                "record": self.record,
                "late": self.late,
                "cancel": self.cancel,
            },
            separators=(",", ":"),
        )


SETTLED = "settled"  # by this call
ALREADY = "already"  # by an earlier call, whose answer is given again
ABSENT = "absent"  # not held, not remembered, and not counted (`late` was false)


@dataclass(slots=True)
class SettleResult:
    """What a settle did to the counters. With ALREADY, what the earlier settle did (`spend`
    and `reserved` are empty for one remembered before settles kept them)."""

    status: str
    spend: dict[str, int] = field(default_factory=dict)  # counters after the settle
    reserved: int | None = None  # micro-cents the hold had reserved (None: no hold)
    settled_cost: str | None = None  # the cost in cents, as text


@dataclass(frozen=True, slots=True)
class QueuedBatch:
    """Usage records claimed from one organization's queue, to be acknowledged once stored."""

    org: str
    token: str
    records: list[str]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What an organization has in flight: the ids of its holds and of its queued records,
    claimed or not (any of which the database may have already: a claim stored and not yet
    acknowledged, or a settle whose answer was lost and that was also written to the
    database)."""

    hold_ids: list[str]
    queued_ids: list[str]


class LimiterUnavailable(Exception):
    """The counter store cannot be reached."""


class Backend(Protocol):
    # Whether settles can queue usage records here (`SettleRequest.record`); such a backend
    # also has `claim_usage`, `ack_usage` and `queued_usage`, which the worker uses.
    queues_usage: bool

    def check(self, request: CheckRequest) -> CheckResult: ...

    async def acheck(self, request: CheckRequest) -> CheckResult: ...

    def settle(self, request: SettleRequest) -> SettleResult: ...

    async def asettle(self, request: SettleRequest) -> SettleResult: ...

    def snapshot(self, org: str) -> Snapshot: ...

    def reconcile(
        self, org: str, month: str, recorded: dict[str, int], stored: list[str]
    ) -> dict[str, int] | None: ...

    def spend(self, org: str, month: str) -> dict[str, int]: ...

    def reset(self) -> None: ...


def retry_after(bucket: BucketCheck, level: float) -> float:
    """Seconds until `bucket` holds this request's amount (a minute if it never can)."""
    if bucket.amount > bucket.capacity:
        return 60.0
    return max(0.0, (bucket.amount - level) / bucket.rate)


def refilled(tokens: float | None, at: float | None, capacity: int, now: float) -> float:
    """A token bucket's level: it refills continuously at capacity/60 per second, never
    above capacity; a bucket never written is full."""
    if tokens is None or at is None:
        return float(capacity)
    return min(float(capacity), tokens + max(0.0, now - at) * capacity / 60.0)


# -- Local ----------------------------------------------------------------------------------


class LocalBackend:
    """All counters in this process's memory, guarded by one lock. Usage records are not
    queued here: a single process writes them to the database as it settles."""

    queues_usage = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # -> (tokens, at)
            self._spend: dict[tuple[str, str], dict[str, int]] = {}  # (org, month) -> counters
            self._holds: dict[tuple[str, str], Hold] = {}  # (org, id) -> hold
            self._settled: dict[tuple[str, str], SettleResult] = {}  # (org, id) -> answer
            self._expiry: dict[str, list[tuple[float, str]]] = {}  # org -> heap (time, id)

    def _level(self, org: str, name: str, capacity: int, now: float) -> float:
        tokens, at = self._buckets.get((org, name), (None, None))
        return refilled(tokens, at, capacity, now)

    def _give_back(self, org: str, name: str, capacity: int, amount: int, now: float) -> None:
        if amount > 0:
            level = self._level(org, name, capacity, now)
            self._buckets[(org, name)] = (min(float(capacity), level + amount), now)

    def _spend_key(self, org: str, month: str, request) -> tuple[str, str] | None:
        return (org, month) if month in (request.month, request.previous_month) else None

    def _spend_add(self, key: tuple[str, str] | None, name: str, amount: int) -> int | None:
        counters = self._spend.get(key) if key else None
        if counters is None or name not in counters:
            return None
        counters[name] += amount
        return counters[name]

    def _release_expired(self, request) -> None:
        heap = self._expiry.get(request.org, [])
        while heap and heap[0][0] <= request.now:
            _at, reservation_id = heapq.heappop(heap)
            hold = self._holds.pop((request.org, reservation_id), None)
            if hold is None:
                self._settled.pop((request.org, reservation_id), None)
                continue
            key = self._spend_key(request.org, hold.month, request)
            for name, amount in hold.spend:
                self._spend_add(key, name, -amount)

    def check(self, request: CheckRequest) -> CheckResult:
        org, now = request.org, request.now
        with self._lock:
            self._release_expired(request)
            if (org, request.reservation_id) in self._settled:
                raise LimiterUnavailable("This check was cancelled.")
            counters = self._spend.get((org, request.month), {})
            spends = request.plan.spends
            missing = [s.name for s in spends if s.name not in counters]
            if missing:
                return CheckResult(admitted=False, missing_spend=missing)
            buckets = request.bucket_checks()
            levels = [self._level(org, b.name, b.capacity, now) for b in buckets]
            for bucket, level in zip(buckets, levels, strict=True):
                if level < bucket.amount:
                    return CheckResult(admitted=False, levels=levels, refused_bucket=bucket.name)
            for spend in spends:
                for limit in spend.limits:
                    if counters[spend.name] + request.cost > limit.limit:
                        return CheckResult(
                            admitted=False,
                            refused_spend=(spend.name, limit.tag),
                            spend_used=counters[spend.name],
                        )
            for index, bucket in enumerate(buckets):
                levels[index] -= bucket.amount
                self._buckets[(org, bucket.name)] = (levels[index], now)
            for spend in spends:
                counters[spend.name] += request.cost
            self._holds[(org, request.reservation_id)] = request.hold()
            heapq.heappush(
                self._expiry.setdefault(org, []), (request.expires_at, request.reservation_id)
            )
            return CheckResult(admitted=True, levels=levels)

    async def acheck(self, request: CheckRequest) -> CheckResult:
        return self.check(request)

    def settle(self, request: SettleRequest) -> SettleResult:
        if request.record:
            raise ValueError("LocalBackend does not queue usage records.")
        org, now = request.org, request.now
        with self._lock:
            settled = self._settled.get((org, request.reservation_id))
            if settled is not None:
                return replace(settled, spend=dict(settled.spend))
            hold = self._holds.pop((org, request.reservation_id), None)
            totals: dict[str, int | None] = {}
            reserved = None
            if hold is not None:
                for name, capacity in hold.output_buckets:
                    self._give_back(
                        org, name, capacity, hold.output_reserved - request.output_tokens, now
                    )
                for name, capacity in hold.input_buckets:
                    self._give_back(
                        org, name, capacity, hold.input_reserved - request.input_tokens, now
                    )
                key = self._spend_key(org, hold.month, request)
                reserved = max((amount for _name, amount in hold.spend), default=0)
                for name, amount in hold.spend:
                    totals[name] = self._spend_add(key, name, request.cost - amount)
            elif request.late:
                key = self._spend_key(org, request.record_month, request)
                for name in request.spend_names:
                    totals[name] = self._spend_add(key, name, request.cost)
            elif not request.cancel:
                return SettleResult(ABSENT)
            spend = {name: value for name, value in totals.items() if value is not None}
            self._settled[(org, request.reservation_id)] = SettleResult(
                ALREADY, dict(spend), reserved, request.cost_text
            )
            heapq.heappush(
                self._expiry.setdefault(org, []), (request.keep_until, request.reservation_id)
            )
            return SettleResult(SETTLED, spend, reserved, request.cost_text)

    async def asettle(self, request: SettleRequest) -> SettleResult:
        return self.settle(request)

    def snapshot(self, org: str) -> Snapshot:
        with self._lock:
            return Snapshot([rid for (o, rid) in self._holds if o == org], [])

    def reconcile(
        self, org: str, month: str, recorded: dict[str, int], stored: list[str]
    ) -> dict[str, int] | None:
        stored_ids = set(stored)
        with self._lock:
            totals = dict(recorded)
            for (o, reservation_id), hold in list(self._holds.items()):
                if o != org:
                    continue
                if reservation_id in stored_ids:
                    del self._holds[(o, reservation_id)]
                elif hold.month == month:
                    for name, amount in hold.spend:
                        totals[name] = totals.get(name, 0) + amount
            counters = self._spend.setdefault((org, month), {})
            for name in counters:
                totals.setdefault(name, 0)
            counters.update(totals)
            return dict(counters)

    def spend(self, org: str, month: str) -> dict[str, int]:
        with self._lock:
            return dict(self._spend.get((org, month), {}))


# -- Redis ------------------------------------------------------------------------------------


def _script(name: str) -> str:
    return (LUA / "common.lua").read_text() + "\n" + (LUA / f"{name}.lua").read_text()


SCRIPTS = {name: _script(name) for name in ("check", "settle", "claim", "ack", "reconcile")}


_keys_cache: dict[tuple[str, str, str], list[str]] = {}


def keys(org: str, month: str, previous_month: str) -> list[str]:
    """The keys every script of one organization is given (see billing/lua/common.lua)."""
    cached = _keys_cache.get((org, month, previous_month))
    if cached is not None:
        return cached
    if len(_keys_cache) > 100_000:
        _keys_cache.clear()
    tag = "limiter:{org:" + org + "}"
    _keys_cache[(org, month, previous_month)] = result = [
        f"{tag}:buckets",
        f"{tag}:spend:{month}",
        f"{tag}:spend:{previous_month}",
        f"{tag}:holds",
        f"{tag}:settled",
        f"{tag}:expiry",
        f"{tag}:usage",
    ]
    return result


def queue_keys(org: str) -> list[str]:
    tag = "limiter:{org:" + org + "}"
    return [f"{tag}:usage", f"{tag}:usage:claimed", f"{tag}:usage:token"]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


CHECK_KEYS = 6  # the check script uses the first six of `keys`


def _check_result(request: CheckRequest, answer: list) -> CheckResult:
    outcome = _text(answer[0])
    names = request.plan.bucket_names
    if outcome == "admitted":
        return CheckResult(admitted=True, levels=[level / 1000 for level in answer[1:]])
    if outcome == "bucket":
        return CheckResult(
            admitted=False,
            levels=[level / 1000 for level in answer[2:]],
            refused_bucket=names[int(answer[1]) - 1],
        )
    if outcome == "spend":
        return CheckResult(
            admitted=False,
            refused_spend=(request.plan.spends[int(answer[1]) - 1].name, _text(answer[2])),
            spend_used=int(answer[3]),
        )
    if outcome == "cancelled":
        # Only a check whose caller gave up on it (and answered 529) can be cancelled.
        raise LimiterUnavailable("This check was cancelled.")
    return CheckResult(admitted=False, missing_spend=[_text(name) for name in answer[1:]])


def _settle_result(data: dict) -> SettleResult:
    status = data["status"]
    if status == ALREADY:
        outcome = data["outcome"]
        # Remembered as the earlier settle's answer, or (before answers were kept) its cost.
        data = json.loads(outcome) if outcome.startswith("{") else {"cost": outcome}
    spend = data.get("spend") or {}
    return SettleResult(
        status,
        # cjson writes an empty table as an empty array
        spend={name: int(value) for name, value in spend.items()} if spend else {},
        reserved=data.get("reserved"),
        settled_cost=data.get("cost"),
    )


class RedisBackend:
    """Counters in Redis (or Redis Cluster, with `cluster=True`). It can also carry settled
    usage records (`SettleRequest.record`) until a worker stores them in batches, so that a
    settle costs one Redis round trip and no SQL."""

    queues_usage = True
    MAX_RECONCILE_QUEUED = 20_000  # beyond that a reconcile waits for the worker to catch up

    def __init__(self, url: str, *, timeout: float = 0.5, cluster: bool = False) -> None:
        self.url = url
        self.cluster = cluster
        self._timeout = timeout
        # What an unreachable, stalled, restarting or failing-over store answers.
        self._errors = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.ClusterError,
            redis.exceptions.RedisClusterException,
            redis.exceptions.TryAgainError,
            redis.exceptions.ReadOnlyError,
            OSError,
        )
        # A cluster client connects when it is made (to learn the slots), so it is made on
        # first use, where a cluster that cannot be reached is LimiterUnavailable.
        self._client: redis.Redis | redis.cluster.RedisCluster | None = (
            None if cluster else redis.Redis.from_url(url, **self._options(asynchronous=False))
        )
        self._shas = {
            name: hashlib.sha1(text.encode()).hexdigest() for name, text in SCRIPTS.items()
        }
        self._async_clients: dict[asyncio.AbstractEventLoop, Any] = {}
        # Checks are sent ready-made on a connection of redis-py's pool (see `_send`); on a
        # cluster, after a failure, through redis-py's client until one succeeds, so that it
        # learns where the slots went.
        self._direct = True
        self._check_prefixes: dict[tuple[str, str, str], bytes] = {}
        self._slots: dict[str, int] = {}

    def _options(self, *, asynchronous: bool) -> dict[str, Any]:
        """Every client of the store, single or cluster, waits at most `timeout` for a
        connection and for each answer, and never tries a call again: a store that is
        stalled or gone is LimiterUnavailable after one timeout, so a request is answered 529
        (or admitted unchecked, with LIMITER_FAIL_OPEN) at once rather than after redis-py's
        default of ten attempts with backoff (seconds, on a cluster). A call made twice could
        also count one check twice. Connections a restart left dead are found when they are
        taken from the pool, and replaced, before anything is sent on them."""
        retry_class = redis.asyncio.retry.Retry if asynchronous else redis.retry.Retry
        return {
            "socket_timeout": self._timeout,
            "socket_connect_timeout": self._timeout,
            "retry": retry_class(redis.backoff.NoBackoff(), 0),
        }

    @property
    def client(self) -> redis.Redis | redis.cluster.RedisCluster:
        if self._client is None:
            self._client = redis.cluster.RedisCluster.from_url(
                self.url, **self._options(asynchronous=False)
            )
        return self._client

    # -- running scripts

    def _run(self, name: str, script_keys: list[str], *arguments: str) -> Any:
        try:
            try:
                return self.client.evalsha(
                    self._shas[name], len(script_keys), *script_keys, *arguments
                )
            except redis.exceptions.NoScriptError:
                self.client.script_load(SCRIPTS[name])
                return self.client.evalsha(
                    self._shas[name], len(script_keys), *script_keys, *arguments
                )
        except self._errors as error:
            raise LimiterUnavailable(str(error)) from error

    def _async_client(self):
        """A client for the running event loop (an asyncio client belongs to one loop)."""
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            options = self._options(asynchronous=True)
            client = (
                redis.asyncio.cluster.RedisCluster.from_url(self.url, **options)
                if self.cluster
                else redis.asyncio.Redis.from_url(self.url, **options)
            )
            for closed in [other for other in self._async_clients if other.is_closed()]:
                del self._async_clients[closed]
            self._async_clients[loop] = client
        return client

    async def _arun(self, name: str, script_keys: list[str], *arguments: str) -> Any:
        client = self._async_client()
        try:
            try:
                return await client.evalsha(
                    self._shas[name], len(script_keys), *script_keys, *arguments
                )
            except redis.exceptions.NoScriptError:
                await client.script_load(SCRIPTS[name])
                return await client.evalsha(
                    self._shas[name], len(script_keys), *script_keys, *arguments
                )
        except self._errors as error:
            raise LimiterUnavailable(str(error)) from error

    def _check_command(self, request: CheckRequest) -> bytes:
        """EVALSHA of the check script with the request's keys and arguments, in Redis's wire
        format: the keys packed once per organization and month, the plan's arguments once
        per plan (`CheckPlan.packed`), only the request's own each time."""
        months = (request.org, request.month, request.previous_month)
        prefix = self._check_prefixes.get(months)
        if prefix is None:
            if len(self._check_prefixes) > 100_000:
                self._check_prefixes.clear()
            script_keys = keys(*months)[:CHECK_KEYS]
            prefix = resp(("EVALSHA", self._shas["check"], str(CHECK_KEYS), *script_keys))
            self._check_prefixes[months] = prefix
        plan = request.plan
        count = 3 + CHECK_KEYS + 9 + len(plan.static)
        return b"*%d\r\n%s%s%s" % (count, prefix, request.packed_variables(), plan.packed)

    def _node_client(self, org: str) -> redis.Redis:
        """The client of the cluster node that holds the organization's slot."""
        cluster = self.client
        assert isinstance(cluster, redis.cluster.RedisCluster)
        slot = self._slots.get(org)
        if slot is None:
            if len(self._slots) > 100_000:
                self._slots.clear()
            slot = self._slots[org] = key_slot(keys(org, "", "")[0].encode())
        nodes = cluster.nodes_manager.slots_cache.get(slot)
        if not nodes:
            raise redis.exceptions.SlotNotCoveredError(f"Slot {slot} is not covered.")
        return cluster.get_redis_connection(nodes[0])

    def _send(self, command: bytes, org: str) -> Any:
        """One command, already in Redis's wire format, sent on a connection of the client's
        pool (the pool of the node of the organization's slot, on a cluster), its answer read
        by the client's parser. redis-py's way to a command (encoding each argument, routing,
        its hooks) took a third of a check's round trip; what it would do about a failure is
        done by the caller: nothing is tried again, a redirection is left to redis-py."""
        client = self._node_client(org) if self.cluster else self.client
        assert isinstance(client, redis.Redis)
        pool = client.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_packed_command([command])
            return connection.read_response()
        except redis.exceptions.ResponseError:
            raise  # an answer, read whole: the connection is fine
        except BaseException:
            connection.disconnect()  # what is left of the answer must not be read as the next
            raise
        finally:
            pool.release(connection)

    def _check_directly(self, request: CheckRequest) -> Any:
        command = self._check_command(request)
        try:
            try:
                return self._send(command, request.org)
            except redis.exceptions.NoScriptError:
                self.client.script_load(SCRIPTS["check"])
                return self._send(command, request.org)
        except redis.exceptions.AskError:  # MOVED or ASK: not run; redis-py follows it
            return self._check_through_client(request)
        except self._errors as error:
            if self.cluster:
                self._direct = False
            raise LimiterUnavailable(str(error)) from error

    def _check_through_client(self, request: CheckRequest) -> Any:
        script_keys = keys(request.org, request.month, request.previous_month)[:CHECK_KEYS]
        answer = self._run("check", script_keys, *request.arguments())
        self._direct = True
        return answer

    # -- the operations

    def check(self, request: CheckRequest) -> CheckResult:
        if self._direct:
            return _check_result(request, self._check_directly(request))
        return _check_result(request, self._check_through_client(request))

    async def acheck(self, request: CheckRequest) -> CheckResult:
        script_keys = keys(request.org, request.month, request.previous_month)[:CHECK_KEYS]
        answer = await self._arun("check", script_keys, *request.arguments())
        return _check_result(request, answer)

    def settle(self, request: SettleRequest) -> SettleResult:
        script_keys = keys(request.org, request.month, request.previous_month)
        return _settle_result(json.loads(self._run("settle", script_keys, request.arguments())))

    async def asettle(self, request: SettleRequest) -> SettleResult:
        script_keys = keys(request.org, request.month, request.previous_month)
        answer = await self._arun("settle", script_keys, request.arguments())
        return _settle_result(json.loads(answer))

    def snapshot(self, org: str) -> Snapshot:
        holds_key = keys(org, "", "")[3]
        queue_key, claimed_key, _token = queue_keys(org)
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hkeys(holds_key)
            pipe.lrange(claimed_key, 0, -1)
            # A longer queue is not reconciled (see `reconcile`): no need to read it all.
            pipe.lrange(queue_key, 0, self.MAX_RECONCILE_QUEUED)
            hold_ids, claimed, queued = pipe.execute()
        except self._errors as error:
            raise LimiterUnavailable(str(error)) from error
        return Snapshot(
            [hold_id.decode() for hold_id in hold_ids],
            [json.loads(text)["id"] for text in (*claimed, *queued)],
        )

    def reconcile(
        self, org: str, month: str, recorded: dict[str, int], stored: list[str]
    ) -> dict[str, int] | None:
        """Set the month's counters to `recorded` plus what is in flight (see
        billing/lua/reconcile.lua). None when the queue is too long to count in one step."""
        script_keys = [*keys(org, month, month), queue_keys(org)[1]]
        argument = json.dumps(
            {
                "month": month,
                "recorded": recorded,
                "stored": stored,
                "max_queued": self.MAX_RECONCILE_QUEUED,
            }
        )
        data = json.loads(self._run("reconcile", script_keys, argument))
        if not data["done"]:
            return None
        return {name: int(value) for name, value in (data.get("spend") or {}).items()}

    def spend(self, org: str, month: str) -> dict[str, int]:
        try:
            values = self.client.hgetall(keys(org, month, month)[1])
        except self._errors as error:
            raise LimiterUnavailable(str(error)) from error
        return {_text(name): int(value) for name, value in values.items()}

    def claim_usage(self, orgs: list[str], limit: int) -> list[QueuedBatch]:
        """Up to `limit` queued records of each organization."""
        answers = self._each(
            "claim",
            [
                (queue_keys(org), json.dumps({"limit": limit, "token": secrets.token_hex(8)}))
                for org in orgs
            ],
        )
        return [
            QueuedBatch(org, token.decode(), [item.decode() for item in items])
            for org, (token, items) in zip(orgs, answers, strict=True)
            if items
        ]

    def ack_usage(self, acks: list[tuple[QueuedBatch, list[str]]]) -> None:
        """Forget claims whose records are stored; with each, the reservation ids they settled."""
        calls = []
        for batch, reservation_ids in acks:
            claimed, token = queue_keys(batch.org)[1:]
            settled, expiry = keys(batch.org, "", "")[4:6]
            calls.append(
                (
                    [claimed, token, settled, expiry],
                    json.dumps({"token": batch.token, "ids": reservation_ids}),
                )
            )
        self._each("ack", calls)

    def _each(self, name: str, calls: list[tuple[list[str], str]]) -> list:
        """Run a script once per organization: in one pipelined round trip on a single Redis,
        one call after the other on a cluster (where each may live on another node)."""
        if not calls:
            return []
        try:
            if self.cluster:
                return [self._run(name, script_keys, argument) for script_keys, argument in calls]
            for attempt in range(2):
                pipe = self.client.pipeline(transaction=False)
                for script_keys, argument in calls:
                    pipe.evalsha(self._shas[name], len(script_keys), *script_keys, argument)
                try:
                    return pipe.execute()
                except redis.exceptions.NoScriptError:
                    if attempt:
                        raise
                    self.client.script_load(SCRIPTS[name])
            raise AssertionError("unreachable")
        except self._errors as error:
            raise LimiterUnavailable(str(error)) from error

    def queued_usage(self, orgs: list[str]) -> int:
        """How many records wait in these organizations' queues, claimed or not."""
        total = 0
        for org in orgs:
            queue, claimed, _token = queue_keys(org)
            total += self.client.llen(queue) + self.client.llen(claimed)
        return total

    def reset(self) -> None:
        """Forget every counter (tests only: flushes the selected database, or every node)."""
        if self.cluster:
            self.client.flushdb(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
        else:
            self.client.flushdb()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
