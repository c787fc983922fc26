"""Benchmark: enforcement (authorize and settle) in process and over HTTP, Redis round trips,
and settles per second into PostgreSQL with rollups.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/console_bench_enforcement \
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/enforcement.py

PostgreSQL and Redis only. The database named in DATABASE_URL is created if missing, migrated
and emptied (`flush`, then the model catalog is loaded again) at every run: it belongs to the
benchmark, so its name must contain "bench". The Redis database of REDIS_URL is emptied
(FLUSHDB, that database only) at the start, so it must not be database 0.

One organization on Tier 4, with its Sonnet rate limits and its spend cap raised so that
nothing refuses, has one workspace with its own (also high) rate and spend limits and four API
keys. Every request asks for claude-sonnet-4-5 with 1,000 input tokens and max_tokens 1,000,
so authorize checks six token buckets and two spend counters. `LIMITER_CACHE_SECONDS` keeps
its setting (5 s by default): in the steady state authorize reads nothing from the database.

Measured in one run: authorize and settle latency and throughput with `LocalBackend` and with
`RedisBackend`, then on a three-master Redis Cluster the benchmark starts itself (redis-server
on free ports, stopped at the end; skipped when redis-server is not installed), then through
the gateway endpoints (a threaded Django WSGI server in this process, called over one
keep-alive http.client connection); Redis commands per authorize and per settle, counted on
the wire by a TCP proxy thread; a bare Redis round trip (EVALSHA of `return 1`, on the
single Redis and on the cluster); settles per second into PostgreSQL with `USAGE_ROLLUP_INLINE` off, each settle
writing its record, then with `USAGE_QUEUE` on, the records queued in Redis and stored by
`store_queued_usage` (what `usage_worker` runs), both with `rollup_pending` over the records
they wrote; where an authorize and a settle spend their time. Targets, printed with PASS/FAIL:
one Redis round trip per authorize and per settle, in-process authorize p99 at most 1 ms on
Redis, an authorize median at most 1.5 times the bare round trip's on the single Redis and on
the cluster, at least 1,000 settles per second into PostgreSQL including rollups, with
`USAGE_QUEUE` on (the production setting). When
the latency or the settle target fails, the operation is profiled (cProfile). If the gateway
URLs do not reach the gateway views (another route matching first), that is printed as a
warning and HTTP is measured with the two routes put first. The exit status is 0 unless
something broke. See docs/performance.md.
"""

import contextlib
import cProfile
import gc
import http.client
import io
import json
import os
import pstats
import re
import socket
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Sets Django up, so it comes before anything that imports a model.
from bench.common import busy, elapsed, load_average, prepare_database, refuse, say

# isort: split

import redis
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.urls import path, resolve, reverse

from accounts.audit import Actor
from accounts.models import Organization, OrganizationMember
from billing import enforcement, limiter, pricing, services, usage
from billing.models import Limiter, Model, UsageRecord, UsageTier
from tests.billing import redis_servers
from workspaces.models import Workspace, WorkspaceColor
from workspaces.services import api_key_create, organization_create, workspace_create

MODEL = "claude-sonnet-4-5"
INPUT_TOKENS = 1_000
MAX_TOKENS = 1_000
USAGE = {"input_tokens": 800, "cache_read_input_tokens": 200, "output_tokens": 150}
API_KEYS = 4
HIGH_RATE = 10**9  # per minute: no bucket empties during the run
HIGH_CAP_CENTS = 10**9  # $10 million a month
WARMUP = 300
LOCAL_SECONDS = 5.0
REDIS_SECONDS = 8.0
SETTLE_SECONDS = 20.0  # at most, for the sustained settle run into PostgreSQL
INLINE_SETTLES = 500  # settles with USAGE_ROLLUP_INLINE on (the default), for comparison
HTTP_SECONDS = 5.0
BARE_CALLS = 10_000
ALTERNATE_CALLS = 5_000
WIRE_CALLS = 1_000
BREAKDOWN_CALLS = 1_000
BATCH_ROWS = 1_000
BATCHES = 5
PROFILE_CALLS = 2_000
TARGET_ROUND_TRIPS = 1
TARGET_AUTHORIZE_P99_MS = 1.0
TARGET_SETTLES_PER_SECOND = 1_000
TARGET_AUTHORIZE_OVER_BARE = 1.5  # authorize median / bare round trip median


# -- the database and Redis ---------------------------------------------------------------


def prepare_redis() -> str:
    url = settings.REDIS_URL
    if not url:
        refuse("this benchmark needs Redis; set REDIS_URL=redis://127.0.0.1:6379/14")
    parts = urlsplit(url)
    db = int((parts.path or "/0").lstrip("/") or 0)
    if db == 0:
        refuse(f"REDIS_URL {url!r} selects database 0; the benchmark empties its database")
    client = redis.Redis.from_url(url)
    try:
        version = client.info("server")["redis_version"]
    except redis.exceptions.ConnectionError as error:
        refuse(f"Redis is not reachable at {url}: {error}")
    client.flushdb()
    client.close()
    parser = "hiredis" if redis.utils.HIREDIS_AVAILABLE else "pure-Python"
    say(
        f"Redis {version} at {parts.hostname}:{parts.port or 6379}, database {db} emptied "
        f"(redis-py {redis.__version__}, {parser} parser)"
    )
    return url


# -- data -----------------------------------------------------------------------------------


@dataclass
class World:
    secrets: list[str]
    gateway_token: str
    organization: Organization
    workspace: Workspace


def build_world() -> World:
    organization = organization_create(
        actor=Actor.system("bench"),
        name="Bench Enforcement",
        admin_email="bench-admin@example.com",
        admin_name="Bench Admin",
    )
    admin = OrganizationMember.objects.get(organization=organization).user
    actor = Actor.for_user(admin)
    group = Model.objects.select_related("group").get(api_name=MODEL).group
    services.organization_limits_change(
        actor=Actor.system("bench"),
        organization=organization,
        tier=UsageTier.objects.get(name="Tier 4"),
        custom_spend_cap_cents=HIGH_CAP_CENTS,
        overrides=[(group, limiter_name, HIGH_RATE) for limiter_name in Limiter.values],
    )
    workspace = workspace_create(
        actor=actor,
        organization=organization,
        name="Bench gateway",
        display_color=WorkspaceColor.TEAL,
    )
    for limiter_name in Limiter.values:
        services.workspace_rate_limit_set(
            actor=actor,
            workspace=workspace,
            model_group=group,
            limiter=limiter_name,
            value=HIGH_RATE // 2,
        )
    services.workspace_spend_limit_set(
        actor=actor, workspace=workspace, amount_cents=HIGH_CAP_CENTS // 2
    )
    secrets_ = [
        api_key_create(actor=actor, workspace=workspace, name=f"Gateway key {n + 1}")[1]
        for n in range(API_KEYS)
    ]
    _token, gateway_secret = services.gateway_token_create(name="Bench gateway")
    say(
        f"organization on Tier 4 ({group.name} limits raised to {HIGH_RATE:,}/min, cap "
        f"${HIGH_CAP_CENTS // 100:,}), a workspace with its own limits, {API_KEYS} API keys, "
        "a gateway token"
    )
    return World(secrets_, gateway_secret, organization, workspace)


# -- measuring ------------------------------------------------------------------------------


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?')


def shape(text: str) -> str:
    """'SELECT billing_model', 'INSERT billing_usagerecord', ...: a statement's kind."""
    table = TABLE.search(text)
    return f"{text.split(None, 1)[0].upper()} {table.group(1) if table else '?'}"


class Watch:
    """Counts and times the database statements (and COMMITs) run in this thread, and counts
    garbage collections, so that a slow call can be told apart: one that queried the database
    (a cache refresh), one during which gc collected, or neither."""

    def __init__(self) -> None:
        self.queries = 0
        self.collections = 0
        self.statements: dict[str, list] = defaultdict(lambda: [0, 0.0])  # shape -> [n, s]

    def _query(self, execute, sql_, params, many, context):
        self.queries += 1
        began = time.perf_counter()
        try:
            return execute(sql_, params, many, context)
        finally:
            entry = self.statements[shape(sql_)]
            entry[0] += 1
            entry[1] += time.perf_counter() - began

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.collections += 1

    def _timed_commit(self) -> None:
        began = time.perf_counter()
        try:
            self._commit()
        finally:
            entry = self.statements["COMMIT"]
            entry[0] += 1
            entry[1] += time.perf_counter() - began

    def __enter__(self) -> "Watch":
        self._wrapper = connection.execute_wrapper(self._query)
        self._wrapper.__enter__()
        self._commit = connection._commit  # COMMIT does not pass through execute wrappers
        connection._commit = self._timed_commit
        gc.callbacks.append(self._gc)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._gc)
        del connection._commit
        self._wrapper.__exit__(*exc)


@dataclass
class Run:
    label: str
    latencies_us: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    queried: set[int] = field(default_factory=set)  # calls that touched the database
    collected: set[int] = field(default_factory=set)  # calls during which gc collected
    statements: dict[str, list] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.latencies_us)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed

    @property
    def median_us(self) -> float:
        return statistics.median(self.latencies_us)

    @property
    def p99_us(self) -> float:
        return pct(self.latencies_us, 99)

    def line(self) -> str:
        return (
            f"{self.label}: median {self.median_us:,.0f} µs, p99 {self.p99_us:,.0f} µs, "
            f"{self.rate:,.0f}/s ({self.count:,} calls in {self.elapsed:.1f}s)"
        )

    def outliers(self) -> str:
        queried = [self.latencies_us[i] for i in sorted(self.queried)]
        clean = [
            us
            for i, us in enumerate(self.latencies_us)
            if i not in self.queried and i not in self.collected
        ]
        text = f"{len(queried)} calls queried the database"
        if queried:
            text += f" (median {statistics.median(queried):,.0f} µs)"
        text += f"; {len(self.collected)} ran a gc collection"
        if len(clean) > 100:
            text += f"; p99 of the other calls {pct(clean, 99):,.0f} µs"
        return text

    def per_call_statements(self) -> str:
        return ", ".join(
            f"{n / self.count:.2f} {name} ({seconds / n * 1e6:,.0f} µs)"
            for name, (n, seconds) in sorted(self.statements.items(), key=lambda kv: -kv[1][0])
        )


def time_loop(label: str, call, items, *, seconds: float | None = None, cycle: bool = False):
    """Call `call(item)` for the items in turn (round and round with `cycle`) until they run
    out or `seconds` are up. Returns the run and the calls' results."""
    run, results = Run(label), []
    gc.collect()
    with Watch() as watch:
        began = time.perf_counter()
        deadline = began + seconds if seconds else float("inf")
        n, size = 0, len(items)
        while (cycle or n < size) and time.perf_counter() < deadline:
            queries, collections = watch.queries, watch.collections
            t = time.perf_counter()
            result = call(items[n % size])
            us = (time.perf_counter() - t) * 1_000_000
            run.latencies_us.append(us)
            if watch.queries != queries:
                run.queried.add(n)
            if watch.collections != collections:
                run.collected.add(n)
            results.append(result)
            n += 1
        run.elapsed = time.perf_counter() - began
    run.statements = dict(watch.statements)
    return run, results


def timed(label: str, call, calls: int) -> Run:
    return time_loop(label, lambda _: call(), [None] * calls)[0]


def authorize_call(secret: str) -> str:
    decision = enforcement.authorize(secret, MODEL, INPUT_TOKENS, MAX_TOKENS)
    if not decision.admitted:
        raise RuntimeError(f"authorize refused: {decision.status} {decision.body}")
    return decision.reservation_id


def settle_call(reservation_id: str) -> None:
    settlement = enforcement.settle(reservation_id, USAGE)
    if settlement.already_settled:
        raise RuntimeError(f"{reservation_id} was already settled")


def warm_up(secrets_: list[str]) -> None:
    ids = [authorize_call(secrets_[n % len(secrets_)]) for n in range(WARMUP)]
    for reservation_id in ids:
        settle_call(reservation_id)


class TimedBackend(limiter.RedisBackend):
    """The Redis backend, timing its round trips (the wire, the Lua script, parsing the
    answer; for a settle packing too) and keeping the last check and its command."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.seconds: list[float] = []
        self.last_check: limiter.CheckRequest | None = None
        self.last_command = b""

    def check(self, request):
        self.last_check = request
        return super().check(request)

    def _send(self, command, org):
        self.last_command = command
        began = time.perf_counter()
        try:
            return super()._send(command, org)
        finally:
            self.seconds.append(time.perf_counter() - began)

    def _run(self, name, script_keys, *arguments):
        began = time.perf_counter()
        try:
            return super()._run(name, script_keys, *arguments)
        finally:
            self.seconds.append(time.perf_counter() - began)


def evalsha_stats(client: redis.Redis) -> tuple[int, int]:
    """Server-wide (calls, microseconds) of EVALSHA so far: the time Redis spent in scripts."""
    stats = client.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def profile(label: str, call, items, function: str) -> None:
    """cProfile `call` over the items: the top functions by own time, then what `function`
    (a regular expression naming the app's entry point) spends its time calling."""
    profiler = cProfile.Profile()
    profiler.enable()
    for item in items:
        call(item)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(16)
    text = out.getvalue()
    print(f"\ncProfile of {len(items):,} {label} calls, by own time (tottime):")
    print(text[text.find("   ncalls") :].rstrip())
    out.seek(0)
    out.truncate()
    stats.sort_stats("cumulative").print_callees(function)
    text = out.getvalue()
    print(f"\ncProfile of {len(items):,} {label} calls, what {function} calls (cumulative):")
    print(text[text.find("Function ") :].rstrip())


# -- the wire -------------------------------------------------------------------------------


class CommandCounter:
    """Parses a client's RESP stream and counts its top-level command arrays, by name."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.args_left = 0  # bulk strings still expected in the current command
        self.bulk_left: int | None = None  # bytes (with CRLF) left of the current bulk string
        self.name = bytearray()
        self.naming = False  # reading the command's first bulk string, its name
        self.commands: Counter = Counter()

    def feed(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while buffer:
            if self.bulk_left is not None:
                take = min(len(buffer), self.bulk_left)
                if self.naming:
                    self.name += buffer[: max(0, min(take, self.bulk_left - 2))]
                del buffer[:take]
                self.bulk_left -= take
                if self.bulk_left:
                    return
                self.bulk_left = None
                if self.naming:
                    self.commands[self.name.decode(errors="replace").upper()] += 1
                    self.naming = False
                self.args_left -= 1
                continue
            end = buffer.find(b"\r\n")
            if end < 0:
                return
            line = bytes(buffer[:end])
            del buffer[: end + 2]
            expected = b"*" if self.args_left == 0 else b"$"
            if not line.startswith(expected):
                raise RuntimeError(f"unexpected bytes from the Redis client: {line[:40]!r}")
            if expected == b"*":
                self.args_left = int(line[1:])
                self.name, self.naming = bytearray(), True
            else:
                self.bulk_left = int(line[1:]) + 2


class CountingProxy:
    """A TCP proxy between a Redis client and Redis that counts what the client sends: RESP
    commands, and round trips (sends that follow a reply, so that a pipeline counts once)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.counters: list[CommandCounter] = []
        self.round_trips = 0
        self.sockets: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            counter, replied = CommandCounter(), threading.Event()
            replied.set()
            with self.lock:
                self.counters.append(counter)
                self.sockets += [client, upstream]
            for target, args in (
                (self._upstream, (client, upstream, counter, replied)),
                (self._downstream, (upstream, client, replied)),
            ):
                thread = threading.Thread(target=target, args=args, daemon=True)
                thread.start()
                self.threads.append(thread)

    def _upstream(self, client, upstream, counter: CommandCounter, replied) -> None:
        while data := self._recv(client):
            with self.lock:
                if replied.is_set():
                    replied.clear()
                    self.round_trips += 1
                counter.feed(data)
            upstream.sendall(data)
        self._shut(upstream)

    def _downstream(self, upstream, client, replied) -> None:
        while data := self._recv(upstream):
            replied.set()  # before forwarding: the client may send again at once
            client.sendall(data)
        self._shut(client)

    @staticmethod
    def _recv(s: socket.socket) -> bytes:
        try:
            return s.recv(65536)
        except OSError:
            return b""

    @staticmethod
    def _shut(s: socket.socket) -> None:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_WR)

    def snapshot(self) -> tuple[Counter, int]:
        with self.lock:
            total: Counter = Counter()
            for counter in self.counters:
                total.update(counter.commands)
            return total, self.round_trips

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                s.close()
        for thread in self.threads:
            thread.join(timeout=2)


def wire_counts(url: str, secrets_: list[str]) -> dict[str, tuple[float, float, Counter]]:
    """Per call: (commands, round trips, commands by name) for authorize, and for settle
    without and with USAGE_QUEUE (half of the reservations each)."""
    parts = urlsplit(url)
    proxy = CountingProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    backend = limiter.RedisBackend(parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl())
    enforcement.use_backend(backend)
    counts = {}

    def count(label: str, call, items: list, *, queue: bool = False) -> list:
        before, trips_before = proxy.snapshot()
        settings.USAGE_QUEUE = queue
        try:
            results = [call(item) for item in items]
        finally:
            settings.USAGE_QUEUE = False
        after, trips_after = proxy.snapshot()
        commands = after - before
        counts[label] = (
            sum(commands.values()) / len(items),
            (trips_after - trips_before) / len(items),
            Counter({name: n / len(items) for name, n in commands.items()}),
        )
        return results

    try:
        warm_up(secrets_)  # connects, loads the scripts if needed, fills the caches
        ids = count(
            "authorize", authorize_call, [secrets_[n % len(secrets_)] for n in range(WIRE_CALLS)]
        )
        half = len(ids) // 2
        count("settle", settle_call, ids[:half])
        count("settle, USAGE_QUEUE on", settle_call, ids[half:], queue=True)
        enforcement.store_queued_usage(rounds=10**6)
    finally:
        backend.client.close()
        proxy.close()
    return counts


# -- HTTP ------------------------------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    # wsgiref writes the headers and the body in two sends; without TCP_NODELAY (which
    # gunicorn sets) Nagle's algorithm and the client's delayed ACK add about 40 ms to each
    # keep-alive response.
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:
        pass


class CountingApp:
    """The WSGI application, counting requests and the SQL statements they run."""

    def __init__(self, application) -> None:
        self.application = application
        self.requests = 0
        self.queries = 0
        self.health_checks = 0

    def _query(self, execute, sql_, params, many, context):
        self.queries += 1
        return execute(sql_, params, many, context)

    def _health_check(self, is_usable):
        def counted() -> bool:
            self.health_checks += 1
            return is_usable()

        return counted

    def __call__(self, environ, start_response):
        self.requests += 1
        wrapper = connections[DEFAULT_DB_ALIAS]  # this server thread's connection
        if "is_usable" not in vars(wrapper):
            # CONN_HEALTH_CHECKS runs `SELECT 1` on a raw cursor, unseen by execute wrappers.
            wrapper.is_usable = self._health_check(wrapper.is_usable)
        with connection.execute_wrapper(self._query):
            return self.application(environ, start_response)


def shadowed_gateway_routes() -> list[str]:
    """The gateway URLs that do not reach the gateway views (another route matches first)."""
    from billing import gateway

    shadowed = []
    for name, view in (
        ("billing:gateway_authorize", gateway.authorize),
        ("billing:gateway_settle", gateway.settle),
    ):
        url = reverse(name)
        match = resolve(url)
        if match.func is not view:
            shadowed.append(
                f"{url} resolves to {match.func.__module__}.{match.func.__name__} "
                f"(route {match.route!r})"
            )
    return shadowed


def gateway_first_urlconf() -> ModuleType:
    """The project's URLconf with the two gateway routes put first (in this process only)."""
    from billing import gateway

    module = ModuleType("bench_enforcement_urls")
    root = import_module(settings.ROOT_URLCONF)
    module.urlpatterns = [
        path(reverse("billing:gateway_authorize").lstrip("/"), gateway.authorize),
        path(reverse("billing:gateway_settle").lstrip("/"), gateway.settle),
        *root.urlpatterns,
    ]
    return module


class Gateway:
    """The gateway endpoints served by a threaded Django WSGI server in this process (started
    and stopped here), called over one keep-alive connection."""

    def __init__(self, token: str) -> None:
        from console.wsgi import application

        self.app = CountingApp(application)
        self.server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
        self.server.set_app(self.app)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self.thread.start()
        self.http = http.client.HTTPConnection("127.0.0.1", self.server.server_address[1])
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.authorize_url = reverse("billing:gateway_authorize")
        self.settle_url = reverse("billing:gateway_settle")
        self.connections = 0

    def post(self, url: str, body: dict) -> dict:
        if self.http.sock is None:
            self.connections += 1
        self.http.request("POST", url, body=json.dumps(body), headers=self.headers)
        response = self.http.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {url} answered {response.status}: {data[:300]!r}")
        return json.loads(data)

    def authorize(self, secret: str) -> str:
        body = {
            "api_key": secret,
            "model": MODEL,
            "input_tokens": INPUT_TOKENS,
            "max_tokens": MAX_TOKENS,
        }
        answer = self.post(self.authorize_url, body)
        if not answer["admitted"]:
            raise RuntimeError(f"authorize refused over HTTP: {answer}")
        return answer["reservation_id"]

    def settle(self, reservation_id: str) -> None:
        self.post(self.settle_url, {"reservation_id": reservation_id, "usage": USAGE})

    def close(self) -> None:
        self.http.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# -- the parts of the benchmark ------------------------------------------------------------


def local_backend(keys: list[str], runs: dict[str, Run]) -> None:
    enforcement.use_backend(limiter.LocalBackend())
    warm_up(keys)
    run, ids = time_loop("local authorize", authorize_call, keys, seconds=LOCAL_SECONDS, cycle=True)
    runs["local authorize"] = run
    say(run.line())
    say(f"  {run.outliers()}")
    first, last = (
        statistics.median(run.latencies_us[:500]),
        statistics.median(run.latencies_us[-500:]),
    )
    say(
        f"  median of the first 500 calls {first:,.0f} µs, of the last 500 {last:,.0f} µs "
        f"(with {len(ids):,} reservations outstanding)"
    )
    runs["local settle"], _ = time_loop("local settle", settle_call, ids, seconds=LOCAL_SECONDS * 2)
    say(runs["local settle"].line())


def redis_backend(url: str, keys: list[str], runs: dict[str, Run]) -> dict[str, float]:
    """Authorize, then settle into PostgreSQL (records only), then roll the records up."""
    enforcement.use_backend(limiter.RedisBackend(url))
    warm_up(keys)
    usage.rollup_pending()  # what earlier parts recorded: not part of this measurement
    run, ids = time_loop("Redis authorize", authorize_call, keys, seconds=REDIS_SECONDS, cycle=True)
    runs["redis authorize"] = run
    say(run.line())
    say(f"  {run.outliers()}")
    inline_ids, ids = ids[:INLINE_SETTLES], ids[INLINE_SETTLES:]
    ids, queued_ids = ids[: len(ids) // 2], ids[len(ids) // 2 :]

    records_before = UsageRecord.objects.count()
    run, _ = time_loop("Redis settle (records only)", settle_call, ids, seconds=SETTLE_SECONDS)
    runs["redis settle"] = run
    say(run.line())
    say(f"  statements per settle: {run.per_call_statements()}")
    records = UsageRecord.objects.count() - records_before
    began = time.perf_counter()
    rolled = usage.rollup_pending()
    rollup_seconds = time.perf_counter() - began
    if rolled != records or records != run.count:
        raise RuntimeError(f"{run.count:,} settles wrote {records:,} records, {rolled:,} rolled up")
    figures = {
        "rollup_rate": rolled / rollup_seconds,
        "amortized": run.count / (run.elapsed + rollup_seconds),
    }
    say(
        f"rollup_pending over those {rolled:,} records: {rollup_seconds:.2f}s, "
        f"{figures['rollup_rate']:,.0f} records/s"
    )
    say(f"settles per second including the rollup: {figures['amortized']:,.0f}")

    settings.USAGE_ROLLUP_INLINE = True
    try:
        run, _ = time_loop(
            "Redis settle, USAGE_ROLLUP_INLINE on", settle_call, inline_ids, seconds=10.0
        )
    finally:
        settings.USAGE_ROLLUP_INLINE = False
    runs["inline settle"] = run
    say(run.line())

    settings.USAGE_QUEUE = True
    try:
        run, _ = time_loop(
            "Redis settle, USAGE_QUEUE on", settle_call, queued_ids, seconds=SETTLE_SECONDS
        )
    finally:
        settings.USAGE_QUEUE = False
    runs["queued settle"] = run
    say(run.line())
    say(f"  statements per settle: {run.per_call_statements() or 'none'}")
    records_before = UsageRecord.objects.count()
    began = time.perf_counter()
    stored = enforcement.store_queued_usage(rounds=10**6)
    store_seconds = time.perf_counter() - began
    began = time.perf_counter()
    rolled = usage.rollup_pending()
    rollup_seconds = time.perf_counter() - began
    records = UsageRecord.objects.count() - records_before
    if not (stored == records == rolled == run.count):
        raise RuntimeError(
            f"{run.count:,} queued settles: {stored:,} stored, {records:,} new records, "
            f"{rolled:,} rolled up"
        )
    figures["store_rate"] = stored / store_seconds
    figures["queued_amortized"] = run.count / (run.elapsed + store_seconds + rollup_seconds)
    say(
        f"store_queued_usage over those {stored:,} records: {store_seconds:.2f}s, "
        f"{figures['store_rate']:,.0f} records/s; rollup_pending {rollup_seconds:.2f}s"
    )
    say(
        "settles per second with USAGE_QUEUE, including storing and rolling up, one after "
        f"the other in this thread: {figures['queued_amortized']:,.0f}"
    )
    return figures


def http_gateway(url: str, world: World, runs: dict[str, Run]) -> list[str]:
    """Returns the gateway routes found shadowed (then measured with them put first)."""
    enforcement.use_backend(limiter.RedisBackend(url))
    keys = world.secrets
    shadowed = shadowed_gateway_routes()
    root_urlconf = settings.ROOT_URLCONF
    if shadowed:
        for problem in shadowed:
            say(f"  WARNING: {problem}: the gateway endpoint answers 404 in this code")
        say("  measuring with the two gateway routes put first in a URLconf of this process")
        settings.ROOT_URLCONF = gateway_first_urlconf()
    gateway = Gateway(world.gateway_token)
    try:
        warm = [gateway.authorize(keys[n % len(keys)]) for n in range(WARMUP)]
        for reservation_id in warm:
            gateway.settle(reservation_id)
        ids: list[str] = []
        for label in ("HTTP authorize", "HTTP settle", "HTTP settle, USAGE_QUEUE on"):
            app = gateway.app
            requests, queries, checks = app.requests, app.queries, app.health_checks
            if label == "HTTP authorize":
                run, ids = time_loop(
                    label, gateway.authorize, keys, seconds=HTTP_SECONDS, cycle=True
                )
                plain, queued = ids[: len(ids) // 2], ids[len(ids) // 2 :]
            else:
                settings.USAGE_QUEUE = label.endswith("USAGE_QUEUE on")
                try:
                    run, _ = time_loop(
                        label,
                        gateway.settle,
                        queued if settings.USAGE_QUEUE else plain,
                        seconds=HTTP_SECONDS,
                    )
                finally:
                    settings.USAGE_QUEUE = False
            served = app.requests - requests
            runs[label.lower()] = run
            say(run.line())
            say(
                f"  per request in the server: {(app.queries - queries) / served:.2f} SQL "
                f"statements, and {(app.health_checks - checks) / served:.2f} connection health "
                "checks (SELECT 1, CONN_HEALTH_CHECKS)"
            )
        say(f"  {gateway.connections} HTTP connection for all requests (keep-alive)")
    finally:
        gateway.close()
        settings.ROOT_URLCONF = root_urlconf
    enforcement.store_queued_usage(rounds=10**6)
    return shadowed


def bare_round_trip(url: str, runs: dict[str, Run], *, cluster: bool = False) -> None:
    """EVALSHA of `return 1` with the client the backend uses; on a cluster with one key of
    the organization's slot, so that it goes where an authorize goes."""
    label = "cluster bare" if cluster else "bare"
    backend = limiter.RedisBackend(url, cluster=cluster)
    client = backend.client
    sha = client.script_load("return 1")
    key = limiter.keys("bench", "", "")[0]

    def call():
        if cluster:
            client.evalsha(sha, 1, key)
        else:
            client.evalsha(sha, 0)

    for _ in range(WARMUP):
        call()
    gc.collect()
    where = "Redis Cluster" if cluster else "Redis"
    runs[label] = timed(f"bare {where} round trip (EVALSHA 'return 1')", call, BARE_CALLS)
    backend.close()
    say(runs[label].line())


@dataclass
class Alternated:
    """Authorize and bare round trips one after the other, so that both see the same load."""

    label: str
    authorize_us: list[float]
    bare_us: list[float]  # EVALSHA of `return 1` through redis-py's client
    direct_us: list[float]  # the same, sent ready-made as authorize sends its check

    @property
    def ratio(self) -> float:
        return statistics.median(self.authorize_us) / statistics.median(self.bare_us)

    @property
    def direct_ratio(self) -> float:
        return statistics.median(self.authorize_us) / statistics.median(self.direct_us)

    def line(self) -> str:
        return (
            f"{self.label}, alternated {len(self.authorize_us):,} times: authorize median "
            f"{statistics.median(self.authorize_us):,.0f} µs, bare round trip "
            f"{statistics.median(self.bare_us):,.0f} µs ({self.ratio:.2f}x), sent ready-made "
            f"{statistics.median(self.direct_us):,.0f} µs ({self.direct_ratio:.2f}x)"
        )


def alternated(label: str, keys: list[str], *, cluster: bool = False) -> Alternated:
    """Authorize, a bare round trip through redis-py (`client.evalsha`) and one sent
    ready-made on a pooled connection (as a check is), in turn, ALTERNATE_CALLS times each, on
    the backend in use: the ratio the target speaks of, each side measured under the same
    load (a busy machine's load changes from one second to the next)."""
    backend = enforcement.backend()
    assert isinstance(backend, limiter.RedisBackend)
    client = backend.client
    sha = client.script_load("return 1")
    org = str(enforcement.parse_reservation_id(authorize_call(keys[0])).organization_id)
    key = limiter.keys(org, "", "")[0]
    direct = b"*%d\r\n%s" % (
        3 + cluster,
        limiter.resp(("EVALSHA", sha, "1", key) if cluster else ("EVALSHA", sha, "0")),
    )

    def bare():
        if cluster:
            client.evalsha(sha, 1, key)
        else:
            client.evalsha(sha, 0)

    result = Alternated(label, [], [], [])
    clock = time.perf_counter
    for n in range(WARMUP):
        authorize_call(keys[n % len(keys)])
        bare()
        backend._send(direct, org)
    gc.collect()
    for n in range(ALTERNATE_CALLS):
        began = clock()
        authorize_call(keys[n % len(keys)])
        authorized = clock()
        bare()
        bared = clock()
        backend._send(direct, org)
        done = clock()
        result.authorize_us.append((authorized - began) * 1e6)
        result.bare_us.append((bared - authorized) * 1e6)
        result.direct_us.append((done - bared) * 1e6)
    say(result.line())
    return result


def cluster_runs(
    keys: list[str], runs: dict[str, Run], alternations: dict[str, Alternated]
) -> bool:
    """Authorize and settle on a three-master Redis Cluster started here (redis-server on
    free ports, stopped at the end), beside a bare round trip to it. False when redis-server
    is not installed."""
    if not redis_servers.available():
        say("  redis-server and redis-cli are not installed: no cluster run")
        return False
    began = time.perf_counter()
    servers = redis_servers.RedisClusterServers()
    try:
        say(
            f"  three masters on ports {', '.join(str(n.port) for n in servers.nodes)}, "
            f"ready in {time.perf_counter() - began:.1f}s"
        )
        enforcement.use_backend(limiter.RedisBackend(servers.url, cluster=True))
        warm_up(keys)
        run, ids = time_loop(
            "Redis Cluster authorize", authorize_call, keys, seconds=REDIS_SECONDS, cycle=True
        )
        runs["cluster authorize"] = run
        say(run.line())
        alternations["cluster"] = alternated("Redis Cluster", keys, cluster=True)
        settings.USAGE_QUEUE = True
        try:
            run, _ = time_loop(
                "Redis Cluster settle, USAGE_QUEUE on", settle_call, ids, seconds=SETTLE_SECONDS
            )
        finally:
            settings.USAGE_QUEUE = False
        runs["cluster settle"] = run
        say(run.line())
        stored = enforcement.store_queued_usage(rounds=10**6)
        if stored != run.count:
            raise RuntimeError(f"{run.count:,} queued settles on the cluster, {stored:,} stored")
        bare_round_trip(servers.url, runs, cluster=True)
    finally:
        enforcement.use_backend(None)
        servers.close()
    return True


def authorize_breakdown(url: str, keys: list[str]) -> dict[str, float]:
    """Where an authorize spends its time: the Redis backend's round trip (and within it the
    client's packing and the server's script), and the rest, in Python."""
    backend = TimedBackend(url)
    enforcement.use_backend(backend)
    warm_up(keys)
    stats = backend.client
    calls_before, usec_before = evalsha_stats(stats)
    backend.seconds.clear()
    run, _ = time_loop(
        "authorize", authorize_call, [keys[n % len(keys)] for n in range(BREAKDOWN_CALLS)]
    )
    calls_after, usec_after = evalsha_stats(stats)
    in_redis = [s * 1e6 for s in backend.seconds]
    outside = [total - r for total, r in zip(run.latencies_us, in_redis, strict=True)]
    request, command = backend.last_check, backend.last_command
    assert request is not None
    noop = backend.client.script_load("return 1")
    noop_command = command.replace(backend._shas["check"].encode(), noop.encode(), 1)
    pack = timed("pack", lambda: backend._check_command(request), 2000)
    same_args = timed("noop", lambda: backend._send(noop_command, request.org), 2000)
    figures = {
        "total": run.median_us,
        "redis": statistics.median(in_redis),
        "python": statistics.median(outside),
        "server": (usec_after - usec_before) / max(1, calls_after - calls_before),
        "noop": same_args.median_us,
        "pack": pack.median_us,
        "args": 3 + limiter.CHECK_KEYS + 9 + len(request.plan.static),
        "bytes": len(command),
    }
    say(
        f"authorize median {figures['total']:,.0f} µs: {figures['redis']:,.0f} µs sending the "
        f"check and reading its answer, {figures['python']:,.0f} µs of Python around it"
    )
    say(
        f"  the command carries {figures['args']} RESP arguments ({figures['bytes']:,} "
        f"bytes), made in {figures['pack']:,.0f} µs; a no-op script with the same arguments "
        f"takes {figures['noop']:,.0f} µs; the check script runs {figures['server']:,.0f} µs "
        "in Redis"
    )
    return figures


def settle_breakdown(url: str, keys: list[str]) -> dict[str, float]:
    """Where a settle spends its time: Redis, each SQL statement and the COMMIT in the
    driver, the rest (the ORM building statements and model instances, Python)."""
    backend = TimedBackend(url)
    enforcement.use_backend(backend)
    warm_up(keys)
    ids = [authorize_call(keys[n % len(keys)]) for n in range(BREAKDOWN_CALLS)]
    backend.seconds.clear()
    run, _ = time_loop("settle", settle_call, ids)
    figures = {
        "total": statistics.mean(run.latencies_us),
        "redis": statistics.mean(backend.seconds) * 1e6,
    }
    for name, (_n, seconds) in run.statements.items():
        figures[name] = seconds / run.count * 1e6
    statements = sum(seconds for _n, seconds in run.statements.values()) / run.count * 1e6
    figures["rest"] = figures["total"] - figures["redis"] - statements
    say(
        f"settle mean {figures['total']:,.0f} µs (median {run.median_us:,.0f}): Redis "
        f"{figures['redis']:,.0f} µs; SQL and COMMIT in the driver {statements:,.0f} µs: "
        f"{run.per_call_statements()}; the rest (the ORM building statements and "
        f"instances, Python) {figures['rest']:,.0f} µs"
    )
    info = enforcement.parse_reservation_id(ids[0])
    lookups = {
        "model lookup": lambda: Model.objects.filter(pk=info.model_id).first(),
        "organization lookup": lambda: Organization.objects.filter(pk=info.organization_id).first(),
    }
    for name, call in lookups.items():
        figures[name] = timed(name, call, 1000).median_us
    say(
        f"  by themselves, through the ORM: Model.objects.filter(pk=…).first() "
        f"{figures['model lookup']:,.0f} µs, Organization.objects.filter(pk=…).first() "
        f"{figures['organization lookup']:,.0f} µs"
    )
    figures["batch"] = batch_insert_rate(info)
    say(
        f"  UsageRecord.objects.bulk_create in batches of {BATCH_ROWS:,}: "
        f"{figures['batch']:,.0f} rows/s (rolled back)"
    )
    return figures


def batch_insert_rate(info) -> float:
    """How fast this database takes usage records when they come in batches (rolled back,
    so without the one COMMIT per batch)."""
    model = Model.objects.get(pk=info.model_id)
    tokens = enforcement.usage_from_messages_api(USAGE).tokens
    cost = pricing.cost_cents(model, tokens)
    at = datetime.now(UTC)
    elapsed = 0.0
    for batch in range(BATCHES):
        began = time.perf_counter()
        with transaction.atomic():
            UsageRecord.objects.bulk_create(
                UsageRecord(
                    organization_id=info.organization_id,
                    workspace_id=info.workspace_id,
                    api_key_id=info.api_key_id,
                    model=model,
                    cost_cents=cost,
                    created_at=at,
                    request_id=f"bench-batch-{batch}-{n}",
                    **tokens,
                )
                for n in range(BATCH_ROWS)
            )
            elapsed += time.perf_counter() - began
            transaction.set_rollback(True)
    return BATCHES * BATCH_ROWS / elapsed


# -- the benchmark ---------------------------------------------------------------------------


def verdict(label: str, passed: bool) -> bool:
    print(f"{label} {'PASS' if passed else 'FAIL'}")
    return passed


def main() -> None:
    say(f"load average at start: {load_average()} ({os.cpu_count()} CPUs)")
    if busy():
        say(f"NOTE: {busy()}")
    version = prepare_database("console_bench_enforcement")
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        sync = cursor.fetchone()[0]
    name = settings.DATABASES["default"]["NAME"]
    say(f"database {name} migrated, emptied, catalog loaded ({version}, synchronous_commit {sync})")
    url = prepare_redis()
    settings.DEBUG = False  # as in production: no query log kept in memory
    settings.USAGE_ROLLUP_INLINE = False  # records only, unless said otherwise
    say(
        f"LIMITER_CACHE_SECONDS {settings.LIMITER_CACHE_SECONDS:g}, RESERVATION_SECONDS "
        f"{settings.RESERVATION_SECONDS}, USAGE_ROLLUP_INLINE off unless said otherwise"
    )
    world = build_world()
    keys = world.secrets
    runs: dict[str, Run] = {}

    say("in process, LocalBackend")
    local_backend(keys, runs)
    say("in process, RedisBackend; settles into PostgreSQL, then rollup_pending")
    settled = redis_backend(url, keys, runs)
    bare_round_trip(url, runs)
    alternations: dict[str, Alternated] = {}
    enforcement.use_backend(limiter.RedisBackend(url))
    alternations["single"] = alternated("Redis", keys)
    say("in process, a Redis Cluster of three masters")
    clustered = cluster_runs(keys, runs, alternations)
    say(f"Redis commands on the wire, over {WIRE_CALLS:,} authorizes and settles (TCP proxy)")
    wire = wire_counts(url, keys)
    for label, (commands, trips, names) in wire.items():
        listed = ", ".join(f"{n:g} {name}" for name, n in names.most_common())
        say(f"  {label}: {commands:g} commands ({listed}), {trips:g} round trips per call")
    say("through HTTP: the gateway endpoints on a threaded WSGI server in this process")
    shadowed = http_gateway(url, world, runs)
    say("where the time goes")
    authorize_parts = authorize_breakdown(url, keys)
    settle_breakdown(url, keys)
    settings.USAGE_ROLLUP_INLINE = True
    usage.rollup_pending()
    settings.USAGE_ROLLUP_INLINE = False

    print()
    print(f"results ({os.cpu_count()} CPUs, load average {load_average()})")
    if busy():
        print(f"NOTE: {busy()}")
    for key in (
        "local authorize",
        "local settle",
        "redis authorize",
        "redis settle",
        "inline settle",
        "queued settle",
        "http authorize",
        "http settle",
        "http settle, usage_queue on",
        "bare",
        *(("cluster authorize", "cluster settle", "cluster bare") if clustered else ()),
    ):
        print(runs[key].line())
    for problem in shadowed:
        print(f"WARNING: {problem}; HTTP figures measured with the gateway routes put first")
    sequential = runs["redis authorize"].median_us / runs["bare"].median_us
    print(f"Redis authorize median / bare round trip median, measured apart: {sequential:.2f}")
    if clustered:
        sequential = runs["cluster authorize"].median_us / runs["cluster bare"].median_us
        print(f"the same on the Redis Cluster: {sequential:.2f}")
    for alternation in alternations.values():
        print(alternation.line())
    ratio = alternations["single"].ratio
    cluster_ratio = alternations["cluster"].ratio if clustered else None
    print(
        f"authorize median split: {authorize_parts['redis']:,.0f} µs Redis round trip "
        f"(script {authorize_parts['server']:,.0f} µs in Redis), "
        f"{authorize_parts['python']:,.0f} µs Python"
    )
    print(f"round trips per authorize: {wire['authorize'][1]:g}")
    print(f"round trips per settle: {max(wire['settle'][1], wire['settle, USAGE_QUEUE on'][1]):g}")
    print(f"rollup_pending: {settled['rollup_rate']:,.0f} records/s")
    print(f"settles per second into PostgreSQL, records only: {runs['redis settle'].rate:,.0f}")
    print(f"settles per second into PostgreSQL with rollups: {settled['amortized']:,.0f}")
    print(
        f"settles per second with USAGE_QUEUE: {runs['queued settle'].rate:,.0f} settling, "
        f"{settled['store_rate']:,.0f} records/s stored by the worker, "
        f"{settled['queued_amortized']:,.0f} settles/s into PostgreSQL with rollups"
    )
    print()
    verdict(
        "one Redis round trip per authorize and per settle:",
        all(wire[label][:2] == (TARGET_ROUND_TRIPS, TARGET_ROUND_TRIPS) for label in wire),
    )
    p99 = runs["redis authorize"].p99_us / 1000
    p99_ok = verdict(
        f"in-process authorize p99 on Redis {p99:.2f} ms (target at most "
        f"{TARGET_AUTHORIZE_P99_MS:g} ms):",
        p99 <= TARGET_AUTHORIZE_P99_MS,
    )
    verdict(
        f"in-process authorize median on Redis {ratio:.2f}x a bare round trip, alternated "
        f"(target at most {TARGET_AUTHORIZE_OVER_BARE:g}x):",
        ratio <= TARGET_AUTHORIZE_OVER_BARE,
    )
    if cluster_ratio is not None:
        verdict(
            f"in-process authorize median on Redis Cluster {cluster_ratio:.2f}x a bare round "
            f"trip, alternated (target at most {TARGET_AUTHORIZE_OVER_BARE:g}x):",
            cluster_ratio <= TARGET_AUTHORIZE_OVER_BARE,
        )
    settle_ok = verdict(
        f"settles per second into PostgreSQL with rollups, USAGE_QUEUE on "
        f"{settled['queued_amortized']:,.0f} (target at least {TARGET_SETTLES_PER_SECOND:,}):",
        settled["queued_amortized"] >= TARGET_SETTLES_PER_SECOND,
    )
    if not p99_ok:
        enforcement.use_backend(limiter.RedisBackend(url))
        warm_up(keys)
        profile(
            "authorize (Redis)",
            authorize_call,
            [keys[n % len(keys)] for n in range(PROFILE_CALLS)],
            r"engine.py:\d+\(authorize\)",
        )
    if not settle_ok:
        enforcement.use_backend(limiter.RedisBackend(url))
        ids = [authorize_call(keys[n % len(keys)]) for n in range(PROFILE_CALLS)]
        profile("settle (Redis, records only)", settle_call, ids, r"engine.py:\d+\(settle\)")
        usage.rollup_pending()
    enforcement.use_backend(None)
    print(f"\nload average at the end: {load_average()}")
    print(f"benchmark took {elapsed():.0f}s")


if __name__ == "__main__":
    main()
