"""The counters behind enforcement: token buckets, month-to-date spend and reservations.

Two backends with the same semantics and the same tests:

- `RedisBackend`: one Lua script per call, so a check is one round trip and atomic across
  processes. Every key of an organization carries the hash tag ``{org:<id>}``, so all keys a
  script touches live in one slot and the scripts run unchanged on Redis Cluster.
- `LocalBackend`: the same arithmetic in Python under a lock, for a single process.

A bucket's capacity is its per-minute limit and it refills continuously at capacity/60 per
second, never above capacity. A check either admits and consumes every bucket and spend
counter involved, or changes nothing and names the first one that refused.

Spend is counted in micro-cents (10^-6 cent) as integers, so Lua's doubles stay exact up to
about $90 million a month per counter.
"""

import heapq
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

MICRO = 1_000_000  # micro-cents per cent


@dataclass(frozen=True)
class BucketCheck:
    name: str  # unique within the organization, e.g. "ws:12:sonnet-4:requests_per_minute"
    capacity: int
    amount: int

    @property
    def rate(self) -> float:
        return self.capacity / 60.0


@dataclass(frozen=True)
class SpendCheck:
    name: str  # "org" or "ws:<id>"
    amount: int  # micro-cents to reserve
    limits: tuple[tuple[int, str], ...] = ()  # (limit in micro-cents, tag) pairs


@dataclass(frozen=True)
class Reservation:
    """What a reservation holds, to be given back or replaced when it settles or expires."""

    id: str
    output_buckets: tuple[tuple[str, int], ...]  # (bucket name, capacity) of the output buckets
    output_reserved: int
    spend: tuple[tuple[str, int], ...]  # (spend name, micro-cents reserved)
    month: str
    expires_at: float

    def to_json(self) -> str:
        return json.dumps(
            {
                "ob": [list(b) for b in self.output_buckets],
                "or": self.output_reserved,
                "sp": [list(s) for s in self.spend],
                "mo": self.month,
                "ex": self.expires_at,
            },
            separators=(",", ":"),
        )


@dataclass
class CheckResult:
    admitted: bool
    # After an admission: each bucket's level; after a refusal: the level when it refused.
    levels: dict[str, float] = field(default_factory=dict)
    refused_bucket: str | None = None
    refused_spend: tuple[str, str] | None = None  # (spend name, limit tag)
    retry_after: float = 0.0
    spend: dict[str, int] = field(default_factory=dict)  # spend totals after the check
    missing_spend: list[str] = field(default_factory=list)  # counters to rebuild first


@dataclass
class SettleResult:
    found: bool
    spend: dict[str, int] = field(default_factory=dict)
    # When not found: the cost (cents, as text) of the settle that already queued its record.
    settled_cost: str | None = None


@dataclass(frozen=True)
class QueuedUsage:
    """A settle's usage record, to be queued in the same atomic step as the settle."""

    record: str  # what the worker will store, as text
    cost_text: str  # the request's cost in cents, answered to a second settle meanwhile
    keep_until: float  # when that answer may be forgotten even if no worker stored the record


@dataclass(frozen=True)
class QueuedBatch:
    """Usage records claimed from one organization's queue, to be acknowledged once stored."""

    org: str
    token: str
    records: list[str]


class LimiterUnavailable(Exception):
    """The counter store cannot be reached."""


class Backend(Protocol):
    # Whether settles can queue usage records here (`QueuedUsage`); such a backend also has
    # `claim_usage` and `ack_usage`, which the worker uses to store them.
    queues_usage: bool

    def check(
        self,
        org: str,
        month: str,
        previous_month: str,
        now: float,
        buckets: list[BucketCheck],
        spends: list[SpendCheck],
        reservation: Reservation,
    ) -> CheckResult: ...

    def settle(
        self,
        org: str,
        month: str,
        previous_month: str,
        now: float,
        reservation_id: str,
        actual_output: int,
        actual_cost: int,
        queue: QueuedUsage | None = None,
    ) -> SettleResult: ...

    def seed_spend(self, org: str, month: str, values: dict[str, int]) -> None: ...

    def reset(self) -> None: ...


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
            self._reservations: dict[tuple[str, str], str] = {}  # (org, id) -> json
            self._expiry: dict[str, list[tuple[float, str]]] = {}  # org -> heap of (expires_at, id)

    def _level(self, org: str, name: str, capacity: int, now: float) -> float:
        tokens, at = self._buckets.get((org, name), (float(capacity), now))
        return min(float(capacity), tokens + max(0.0, now - at) * capacity / 60.0)

    def _release_expired(self, org: str, now: float) -> None:
        """Release reservations past their time, soonest first; settled ones are skipped."""
        heap = self._expiry.get(org, [])
        while heap and heap[0][0] <= now:
            _expires_at, reservation_id = heapq.heappop(heap)
            raw = self._reservations.pop((org, reservation_id), None)
            if raw is None:
                continue
            data = json.loads(raw)
            counters = self._spend.get((org, data["mo"]), {})
            for name, amount in data["sp"]:
                counters[name] = counters.get(name, 0) - amount

    def check(self, org, month, previous_month, now, buckets, spends, reservation) -> CheckResult:
        with self._lock:
            self._release_expired(org, now)
            counters = self._spend.get((org, month))
            missing = [s.name for s in spends if counters is None or s.name not in counters]
            if missing:
                return CheckResult(admitted=False, missing_spend=missing)
            levels = {b.name: self._level(org, b.name, b.capacity, now) for b in buckets}
            for bucket in buckets:
                if levels[bucket.name] < bucket.amount:
                    return CheckResult(
                        admitted=False,
                        levels=levels,
                        refused_bucket=bucket.name,
                        retry_after=_retry_after(bucket, levels[bucket.name]),
                    )
            for spend in spends:
                total = counters[spend.name] + spend.amount
                for limit, tag in spend.limits:
                    if total > limit:
                        return CheckResult(
                            admitted=False, levels=levels, refused_spend=(spend.name, tag)
                        )
            for bucket in buckets:
                levels[bucket.name] -= bucket.amount
                self._buckets[(org, bucket.name)] = (levels[bucket.name], now)
            for spend in spends:
                counters[spend.name] += spend.amount
            self._reservations[(org, reservation.id)] = reservation.to_json()
            heapq.heappush(
                self._expiry.setdefault(org, []), (reservation.expires_at, reservation.id)
            )
            return CheckResult(
                admitted=True, levels=levels, spend={s.name: counters[s.name] for s in spends}
            )

    def settle(
        self,
        org,
        month,
        previous_month,
        now,
        reservation_id,
        actual_output,
        actual_cost,
        queue=None,
    ) -> SettleResult:
        if queue is not None:
            raise ValueError("LocalBackend does not queue usage records.")
        with self._lock:
            raw = self._reservations.pop((org, reservation_id), None)
            if raw is None:
                return SettleResult(found=False)
            data = json.loads(raw)
            unused = max(0, data["or"] - actual_output)
            for name, capacity in data["ob"]:
                level = self._level(org, name, capacity, now)
                self._buckets[(org, name)] = (min(float(capacity), level + unused), now)
            counters = self._spend.setdefault((org, data["mo"]), {})
            for name, reserved in data["sp"]:
                counters[name] = counters.get(name, 0) - reserved + actual_cost
            return SettleResult(found=True, spend={name: counters[name] for name, _ in data["sp"]})

    def seed_spend(self, org: str, month: str, values: dict[str, int]) -> None:
        with self._lock:
            counters = self._spend.setdefault((org, month), {})
            for name, value in values.items():
                counters.setdefault(name, value)


def _retry_after(bucket: BucketCheck, level: float) -> float:
    if bucket.amount > bucket.capacity:
        return 60.0  # can never fit; a minute is the honest answer
    return max(0.0, (bucket.amount - level) / bucket.rate)


# -- Redis ------------------------------------------------------------------------------------

# KEYS: 1 buckets hash, 2 spend hash (this month), 3 spend hash (last month),
#       4 reservations hash, 5 reservation expiry zset
# ARGV: now, n_buckets, n_spends, reservation id, reservation json, expires_at,
#       then per bucket: name, capacity, amount;
#       then per spend: name, amount, n_limits, (limit, tag) * n_limits; last: last month
_CHECK_SCRIPT = """
local now = tonumber(ARGV[1])
local nb = tonumber(ARGV[2])
local ns = tonumber(ARGV[3])

local function release_expired()
  local ids = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 50)
  for _, id in ipairs(ids) do
    local raw = redis.call('HGET', KEYS[4], id)
    if raw and string.sub(raw, 1, 1) ~= '=' then
      local data = cjson.decode(raw)
      local key = (data.mo == ARGV[#ARGV]) and KEYS[3] or KEYS[2]
      for _, s in ipairs(data.sp) do
        redis.call('HINCRBY', key, s[1], -s[2])
      end
    end
    redis.call('HDEL', KEYS[4], id)
    redis.call('ZREM', KEYS[5], id)
  end
end

release_expired()

-- Every spend counter must exist (rebuilt from the database when Redis lost it).
local missing = {}
local i = 7 + 3 * nb
local spend_now = {}
for s = 1, ns do
  local name = ARGV[i]
  local value = redis.call('HGET', KEYS[2], name)
  if not value then
    table.insert(missing, name)
  else
    spend_now[s] = tonumber(value)
  end
  i = i + 3 + 2 * tonumber(ARGV[i + 2])
end
if #missing > 0 then
  return cjson.encode({a = 0, missing = missing})
end

local levels = {}
local names = {}
for b = 1, nb do
  local base = 7 + 3 * (b - 1)
  local name, capacity, amount = ARGV[base], tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local state = redis.call('HMGET', KEYS[1], name, name .. ':t')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  local level = capacity
  if tokens and at then
    level = math.min(capacity, tokens + math.max(0, now - at) * capacity / 60)
  end
  levels[name] = level
  names[b] = name
end
for b = 1, nb do
  local base = 7 + 3 * (b - 1)
  local name, capacity, amount = ARGV[base], tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  if levels[name] < amount then
    local retry = 60
    if amount <= capacity then retry = (amount - levels[name]) / (capacity / 60) end
    return cjson.encode({a = 0, bucket = name, retry = retry, levels = levels})
  end
end

i = 7 + 3 * nb
for s = 1, ns do
  local name, amount, nl = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  for l = 1, nl do
    local limit, tag = tonumber(ARGV[i + 1 + 2 * l]), ARGV[i + 2 + 2 * l]
    if spend_now[s] + amount > limit then
      return cjson.encode({a = 0, spend = name, tag = tag, levels = levels})
    end
  end
  i = i + 3 + 2 * nl
end

for b = 1, nb do
  local base = 7 + 3 * (b - 1)
  local name, amount = ARGV[base], tonumber(ARGV[base + 2])
  levels[name] = levels[name] - amount
  redis.call('HSET', KEYS[1], name, levels[name], name .. ':t', now)
end
local totals = {}
i = 7 + 3 * nb
for s = 1, ns do
  local name, amount, nl = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  totals[name] = redis.call('HINCRBY', KEYS[2], name, amount)
  i = i + 3 + 2 * nl
end
redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[4])
redis.call('EXPIRE', KEYS[2], 5184000)
return cjson.encode({a = 1, levels = levels, spend = totals})
"""

# KEYS as for the check, then 6 the usage queue. ARGV: now, reservation id, actual output,
# actual cost, last month, then to queue the record ('' for none): record, cost text, keep until
_SETTLE_SCRIPT = """
local now = tonumber(ARGV[1])
local raw = redis.call('HGET', KEYS[4], ARGV[2])
if not raw then
  redis.call('ZREM', KEYS[5], ARGV[2])
  return cjson.encode({found = 0})
end
if string.sub(raw, 1, 1) == '=' then
  return cjson.encode({found = 0, settled = string.sub(raw, 2)})
end
if ARGV[6] ~= '' then
  redis.call('RPUSH', KEYS[6], ARGV[6])
  -- Until a worker stores the record, the reservation answers a second settle with its cost.
  redis.call('HSET', KEYS[4], ARGV[2], '=' .. ARGV[7])
  redis.call('ZADD', KEYS[5], ARGV[8], ARGV[2])
else
  redis.call('HDEL', KEYS[4], ARGV[2])
  redis.call('ZREM', KEYS[5], ARGV[2])
end
local data = cjson.decode(raw)
local unused = math.max(0, data['or'] - tonumber(ARGV[3]))
for _, b in ipairs(data.ob) do
  local name, capacity = b[1], b[2]
  local state = redis.call('HMGET', KEYS[1], name, name .. ':t')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  local level = capacity
  if tokens and at then
    level = math.min(capacity, tokens + math.max(0, now - at) * capacity / 60)
  end
  redis.call('HSET', KEYS[1], name, math.min(capacity, level + unused), name .. ':t', now)
end
local key = (data.mo == ARGV[5]) and KEYS[3] or KEYS[2]
local totals = {}
for _, s in ipairs(data.sp) do
  totals[s[1]] = redis.call('HINCRBY', key, s[1], tonumber(ARGV[4]) - s[2])
end
return cjson.encode({found = 1, spend = totals})
"""

# Moves up to ARGV[1] records from the queue to the claimed list under a new token (ARGV[2]).
# A claim left by a worker that stopped before acknowledging is handed out again first.
# KEYS: 1 queue, 2 claimed list, 3 claim token
_CLAIM_SCRIPT = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {redis.call('GET', KEYS[3]) or '', redis.call('LRANGE', KEYS[2], 0, -1)}
end
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then
  return {'', {}}
end
redis.call('LTRIM', KEYS[1], #items, -1)
redis.call('RPUSH', KEYS[2], unpack(items))
redis.call('SET', KEYS[3], ARGV[2])
return {ARGV[2], items}
"""

# Forgets a claim once its records are stored, if it is still the claim of that token, and the
# second-settle answers of those records (the database has them now).
# KEYS: 1 claimed list, 2 claim token, 3 reservations hash, 4 reservation expiry zset
# ARGV: token, then the reservation ids
_ACK_SCRIPT = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
for i = 2, #ARGV do
  redis.call('HDEL', KEYS[3], ARGV[i])
  redis.call('ZREM', KEYS[4], ARGV[i])
end
return 1
"""


def _keys(org: str, month: str, previous_month: str) -> list[str]:
    tag = "{org:" + org + "}"
    return [
        f"limiter:{tag}:buckets",
        f"limiter:{tag}:spend:{month}",
        f"limiter:{tag}:spend:{previous_month}",
        f"limiter:{tag}:reservations",
        f"limiter:{tag}:expiry",
        f"limiter:{tag}:usage",
    ]


def _queue_keys(org: str) -> list[str]:
    tag = "{org:" + org + "}"
    return [f"limiter:{tag}:usage", f"limiter:{tag}:usage:claimed", f"limiter:{tag}:usage:token"]


class RedisBackend:
    """Counters in Redis. It can also carry settled usage records (`queue`) until a worker
    stores them in batches, so that a settle costs one Redis round trip and no SQL."""

    queues_usage = True

    def __init__(self, url: str, *, timeout: float = 0.5) -> None:
        import redis

        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._check = self.client.register_script(_CHECK_SCRIPT)
        self._settle = self.client.register_script(_SETTLE_SCRIPT)
        self._claim = self.client.register_script(_CLAIM_SCRIPT)
        self._ack = self.client.register_script(_ACK_SCRIPT)

    def _run(self, script, keys: list[str], args: list) -> dict:
        try:
            return json.loads(script(keys=keys, args=args))
        except self._errors as error:
            raise LimiterUnavailable(str(error)) from error

    def check(self, org, month, previous_month, now, buckets, spends, reservation) -> CheckResult:
        args: list = [
            repr(now),
            len(buckets),
            len(spends),
            reservation.id,
            reservation.to_json(),
            repr(reservation.expires_at),
        ]
        for bucket in buckets:
            args += [bucket.name, bucket.capacity, bucket.amount]
        for spend in spends:
            args += [spend.name, spend.amount, len(spend.limits)]
            for limit, tag in spend.limits:
                args += [limit, tag]
        args.append(previous_month)
        data = self._run(self._check, _keys(org, month, previous_month), args)
        levels = {name: float(level) for name, level in (data.get("levels") or {}).items()}
        if data.get("missing"):
            return CheckResult(admitted=False, missing_spend=list(data["missing"]))
        if not data["a"]:
            refused_spend = (data["spend"], data["tag"]) if data.get("spend") else None
            return CheckResult(
                admitted=False,
                levels=levels,
                refused_bucket=data.get("bucket"),
                refused_spend=refused_spend,
                retry_after=float(data.get("retry") or 0),
            )
        return CheckResult(
            admitted=True, levels=levels, spend={k: int(v) for k, v in data["spend"].items()}
        )

    def settle(
        self,
        org,
        month,
        previous_month,
        now,
        reservation_id,
        actual_output,
        actual_cost,
        queue=None,
    ) -> SettleResult:
        args = [repr(now), reservation_id, actual_output, actual_cost, previous_month]
        if queue is not None:
            args += [queue.record, queue.cost_text, repr(queue.keep_until)]
        else:
            args += ["", "", ""]
        data = self._run(self._settle, _keys(org, month, previous_month), args)
        if not data["found"]:
            return SettleResult(found=False, settled_cost=data.get("settled"))
        spend = data.get("spend") or {}
        return SettleResult(
            found=True,
            spend={k: int(v) for k, v in (spend.items() if isinstance(spend, dict) else [])},
        )

    def seed_spend(self, org: str, month: str, values: dict[str, int]) -> None:
        key = _keys(org, month, month)[1]
        try:
            pipe = self.client.pipeline(transaction=False)
            for name, value in values.items():
                pipe.hsetnx(key, name, value)
            pipe.expire(key, 5184000)
            pipe.execute()
        except self._errors as error:
            raise LimiterUnavailable(str(error)) from error

    def claim_usage(self, orgs: list[str], limit: int) -> list[QueuedBatch]:
        """Up to `limit` queued records of each organization, in one round trip."""
        try:
            pipe = self.client.pipeline(transaction=False)
            for org in orgs:
                self._claim(keys=_queue_keys(org), args=[limit, secrets.token_hex(8)], client=pipe)
            answers = pipe.execute()
        except self._errors as error:
            raise LimiterUnavailable(str(error)) from error
        return [
            QueuedBatch(org, token.decode(), [item.decode() for item in items])
            for org, (token, items) in zip(orgs, answers, strict=True)
            if items
        ]

    def ack_usage(self, acks: list[tuple[QueuedBatch, list[str]]]) -> None:
        """Forget claims whose records are stored; with each, the reservation ids they settled."""
        try:
            pipe = self.client.pipeline(transaction=False)
            for batch, reservation_ids in acks:
                claimed, token = _queue_keys(batch.org)[1:]
                reservations, expiry = _keys(batch.org, "", "")[3:5]
                self._ack(
                    keys=[claimed, token, reservations, expiry],
                    args=[batch.token, *reservation_ids],
                    client=pipe,
                )
            pipe.execute()
        except self._errors as error:
            raise LimiterUnavailable(str(error)) from error

    def queued_usage(self, orgs: list[str]) -> int:
        """How many records wait in these organizations' queues, claimed or not."""
        pipe = self.client.pipeline(transaction=False)
        for org in orgs:
            queue, claimed, _token = _queue_keys(org)
            pipe.llen(queue)
            pipe.llen(claimed)
        return sum(pipe.execute())

    def reset(self) -> None:
        """Forget every counter (tests only: flushes the selected database)."""
        self.client.flushdb()


def now() -> float:
    return time.time()
