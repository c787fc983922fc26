"""Benchmark: enforcement (authorize and settle) in process and over HTTP, Redis round trips,
and settles per second into PostgreSQL with rollups.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/console_bench_enforcement \
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/enforcement.py

PostgreSQL and Redis only. The database named in DATABASE_URL is created if missing, migrated
and emptied (`flush`, then the model catalog is loaded again) at every run: it belongs to the
benchmark, so its name must contain "bench". The Redis database of REDIS_URL is emptied
(FLUSHDB, that database only) at the start; it must not be database 0.

One organization on Tier 4, with its rate limits for the Sonnet group and its spend cap raised
so nothing refuses, has one workspace with its own (also high) rate and spend limits and four
API keys. Every request asks for claude-sonnet-4-5 with 1,000 input tokens and max_tokens
1,000, so authorize checks six token buckets and two spend counters. `LIMITER_CACHE_SECONDS`
stays at its setting (5 s by default): in the steady state authorize reads no database.

Measured: authorize and settle latency and throughput with `LocalBackend` and `RedisBackend`,
then through the gateway endpoints (a threaded Django WSGI server in this process, one
keep-alive http.client connection); Redis commands per authorize and per settle, counted on
the wire by a TCP proxy thread; a bare Redis round trip (EVALSHA of `return 1`); settles per
second into PostgreSQL with `USAGE_ROLLUP_INLINE` off and the cost of `rollup_pending` over
those records. Targets (PASS/FAIL printed; exit status 0 unless something broke): one Redis
round trip per authorize and per settle, in-process authorize p99 at most 1 ms on Redis, and
at least 1,000 settles per second with rollups. When a latency or throughput target fails,
the operation is profiled. See docs/performance.md.
"""

import contextlib
import cProfile
import gc
import http.client
import io
import json
import os
import pstats
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "console.settings"

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.urls import reverse  # noqa: E402
from psycopg import sql  # noqa: E402

from accounts.audit import Actor  # noqa: E402
from accounts.models import OrganizationMember  # noqa: E402
from accounts.services import organization_create  # noqa: E402
from billing import enforcement, limiter, services, usage  # noqa: E402
from billing.catalog import load_catalog  # noqa: E402
from billing.models import Limiter, Model, UsageRecord, UsageTier  # noqa: E402
from workspaces.models import WorkspaceColor  # noqa: E402
from workspaces.services import api_key_create, workspace_create  # noqa: E402

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
INLINE_SETTLES = 1_000  # settles with USAGE_ROLLUP_INLINE on (the default), for comparison
HTTP_SECONDS = 5.0
BARE_CALLS = 10_000
WIRE_CALLS = 1_000
QUERY_CALLS = 200
PROFILE_CALLS = 3_000
TARGET_ROUND_TRIPS = 1
TARGET_AUTHORIZE_P99_MS = 1.0
TARGET_SETTLES_PER_SECOND = 1_000

STARTED = time.perf_counter()


def say(message: str = "") -> None:
    print(f"[{time.perf_counter() - STARTED:6.1f}s] {message}" if message else "", flush=True)


def refuse(message: str) -> None:
    print(f"bench/enforcement.py: {message}", file=sys.stderr)
    sys.exit(2)


def load() -> str:
    return ", ".join(f"{n:.2f}" for n in os.getloadavg())


# -- the database and Redis ---------------------------------------------------------------


def prepare_database() -> None:
    if connection.vendor != "postgresql":
        refuse(
            f"this benchmark needs PostgreSQL; the database is {connection.vendor}. Set "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/console_bench_enforcement"
        )
    db = settings.DATABASES["default"]
    name = db["NAME"]
    if "bench" not in name.lower():
        refuse(
            f"the database {name!r} would be emptied; use a database of its own whose name "
            "contains 'bench', e.g. console_bench_enforcement"
        )
    params = {
        "dbname": "postgres",
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            say(f"created database {name}")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    load_catalog()  # flush empties the catalog that a data migration loaded
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
        cursor.execute("SHOW synchronous_commit")
        sync = cursor.fetchone()[0]
    say(f"database {name} migrated, emptied, catalog loaded ({version}, synchronous_commit {sync})")


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
    say(f"Redis {version} at {parts.hostname}:{parts.port or 6379}, database {db} emptied")
    return url


# -- data -----------------------------------------------------------------------------------


@dataclass
class World:
    secrets: list[str]
    gateway_token: str
    workspace_public_id: str


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
        f"organization on Tier 4 ({group.name} limits {HIGH_RATE:,}/min, cap "
        f"${HIGH_CAP_CENTS // 100:,}), workspace with its own limits, {API_KEYS} API keys, "
        "a gateway token"
    )
    return World(secrets_, gateway_secret, workspace.public_id)


# -- measuring ------------------------------------------------------------------------------


def pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


class Watch:
    """Counts database queries (in this thread) and garbage collections, so a slow call can
    be told apart: one that queried (a cache refresh), one that collected, or neither."""

    def __init__(self) -> None:
        self.queries = 0
        self.collections = 0

    def _query(self, execute, sql_, params, many, context):
        self.queries += 1
        return execute(sql_, params, many, context)

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.collections += 1

    def __enter__(self) -> "Watch":
        self._wrapper = connection.execute_wrapper(self._query)
        self._wrapper.__enter__()
        gc.callbacks.append(self._gc)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._gc)
        self._wrapper.__exit__(*exc)


@dataclass
class Run:
    label: str
    latencies_us: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    queried: set[int] = field(default_factory=set)  # calls that touched the database
    collected: set[int] = field(default_factory=set)  # calls during which gc collected

    @property
    def count(self) -> int:
        return len(self.latencies_us)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_us) / 1000

    @property
    def p99_ms(self) -> float:
        return pct(self.latencies_us, 99) / 1000

    def line(self) -> str:
        return (
            f"{self.label}: median {self.median_ms * 1000:,.0f} µs, p99 {self.p99_ms * 1000:,.0f}"
            f" µs, {self.rate:,.0f}/s ({self.count:,} calls in {self.elapsed:.1f}s)"
        )

    def outliers(self) -> str:
        queried = [self.latencies_us[i] for i in sorted(self.queried)]
        clean = [
            us
            for i, us in enumerate(self.latencies_us)
            if i not in self.queried and i not in self.collected
        ]
        parts = [f"{len(queried)} calls queried the database (cache refresh)"]
        if queried:
            parts[-1] += f", median {statistics.median(queried):,.0f} µs"
        parts.append(f"{len(self.collected)} ran a gc collection")
        if len(clean) > 100:
            parts.append(f"p99 of the others {pct(clean, 99):,.0f} µs")
        return "; ".join(parts)


def time_loop(label: str, call, items, *, seconds: float | None = None, cycle: bool = False):
    """Call `call(item)` for the items in turn, cycling through them with `cycle`, until they
    run out or `seconds` are up. Returns the run and the calls' results."""
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
    return run, results


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


def queries_per_call(call, items) -> tuple[float, Counter]:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        for item in items:
            call(item)
    shapes = Counter(q["sql"].split(" WHERE ")[0][:90] for q in captured)
    return len(captured) / len(items), shapes


def print_queries(label: str, per_call: float, shapes: Counter, calls: int) -> None:
    say(f"  {label}: {per_call:.2f} database queries per call")
    for text, n in shapes.most_common(8):
        say(f"    {n / calls:5.2f} x {text}")


def profile(label: str, call, items) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for item in items:
        call(item)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(18)
    print(f"\ncProfile of {len(items):,} {label} calls, by own time (tottime):")
    text = out.getvalue()
    print(text[text.find("   ncalls") :].rstrip())
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("cumulative").print_stats(r"billing|workspaces|accounts|console", 14)
    print(f"\ncProfile of {len(items):,} {label} calls, app functions by cumulative time:")
    text = out.getvalue()
    print(text[text.find("   ncalls") :].rstrip())


# -- the wire -------------------------------------------------------------------------------


class CommandCounter:
    """Parses the client-to-server RESP stream and counts top-level command arrays."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.args_left = 0  # bulk strings still expected in the current command
        self.bulk_left: int | None = None  # bytes (with CRLF) left of the current bulk string
        self.name = bytearray()
        self.first = False
        self.commands: Counter = Counter()

    def feed(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while buffer:
            if self.bulk_left is not None:
                take = min(len(buffer), self.bulk_left)
                if self.first:
                    self.name += buffer[: max(0, min(take, self.bulk_left - 2))]
                del buffer[:take]
                self.bulk_left -= take
                if self.bulk_left:
                    return
                self.bulk_left = None
                if self.first:
                    self.commands[self.name.decode(errors="replace").upper()] += 1
                    self.first = False
                self.args_left -= 1
                continue
            end = buffer.find(b"\r\n")
            if end < 0:
                return
            line = bytes(buffer[:end])
            del buffer[: end + 2]
            if self.args_left == 0:
                if not line.startswith(b"*"):
                    raise RuntimeError(f"unexpected client bytes {line[:40]!r}")
                self.args_left = int(line[1:])
                self.name, self.first = bytearray(), True
            else:
                if not line.startswith(b"$"):
                    raise RuntimeError(f"unexpected client bytes {line[:40]!r}")
                self.bulk_left = int(line[1:]) + 2


class CountingProxy:
    """A TCP proxy between a Redis client and Redis that counts what the client sends: RESP
    commands, and round trips (client sends that follow a reply, so a pipeline counts once)."""

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
            counter = CommandCounter()
            replied = threading.Event()
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
            if replied.is_set():
                replied.clear()
                with self.lock:
                    self.round_trips += 1
            with self.lock:
                counter.feed(data)
            upstream.sendall(data)
        self._shut(upstream)

    def _downstream(self, upstream, client, replied) -> None:
        while data := self._recv(upstream):
            client.sendall(data)
            replied.set()
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
    parts = urlsplit(url)
    proxy = CountingProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    proxied = parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
    backend = limiter.RedisBackend(proxied)
    enforcement.use_backend(backend)
    counts = {}
    try:
        warm_up(secrets_)  # connects, loads the scripts if needed, fills the caches
        ids = []
        for label, call, items in (
            ("authorize", authorize_call, [secrets_[n % len(secrets_)] for n in range(WIRE_CALLS)]),
            ("settle", settle_call, ids),
        ):
            before, trips_before = proxy.snapshot()
            results = [call(item) for item in items]
            after, trips_after = proxy.snapshot()
            commands = after - before
            counts[label] = (
                sum(commands.values()) / len(items),
                (trips_after - trips_before) / len(items),
                commands,
            )
            if label == "authorize":
                ids.extend(results)
    finally:
        backend.client.close()
        proxy.close()
    return counts


def bare_round_trip(url: str) -> Run:
    client = redis.Redis.from_url(url)
    sha = client.script_load("return 1")
    for _ in range(WARMUP):
        client.evalsha(sha, 0)
    run, _ = time_loop(
        "bare EVALSHA 'return 1'", lambda _: client.evalsha(sha, 0), [None] * BARE_CALLS
    )
    client.close()
    return run


# -- HTTP ------------------------------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Gateway:
    """The gateway endpoints served by a threaded Django WSGI server in this process, called
    over one keep-alive connection."""

    def __init__(self, token: str) -> None:
        from console.wsgi import application

        self.server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
        self.server.set_app(application)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self.thread.start()
        self.port = self.server.server_address[1]
        self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
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
        if response.getheader("Connection", "").lower() == "close":
            raise RuntimeError("the server closed the keep-alive connection")
        return json.loads(data)

    def authorize(self, secret: str) -> str:
        answer = self.post(
            self.authorize_url,
            {
                "api_key": secret,
                "model": MODEL,
                "input_tokens": INPUT_TOKENS,
                "max_tokens": MAX_TOKENS,
            },
        )
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


# -- the benchmark ---------------------------------------------------------------------------


def verdict(label: str, passed: bool) -> bool:
    print(f"{label} {'PASS' if passed else 'FAIL'}")
    return passed


def main() -> None:
    say(f"load average at start: {load()} ({os.cpu_count()} CPUs)")
    prepare_database()
    url = prepare_redis()
    # As in production: no query log kept in memory.
    settings.DEBUG = False
    settings.USAGE_ROLLUP_INLINE = False
    say(
        f"LIMITER_CACHE_SECONDS {settings.LIMITER_CACHE_SECONDS:g}, RESERVATION_SECONDS "
        f"{settings.RESERVATION_SECONDS}, USAGE_ROLLUP_INLINE off (records only) unless said"
    )
    world = build_world()
    keys = world.secrets
    runs: dict[str, Run] = {}

    # 1. In process, local backend.
    enforcement.use_backend(limiter.LocalBackend())
    warm_up(keys)
    runs["local authorize"], ids = time_loop(
        "local authorize", authorize_call, keys, seconds=LOCAL_SECONDS, cycle=True
    )
    say(runs["local authorize"].line())
    say(f"  {runs['local authorize'].outliers()}")
    runs["local settle"], _ = time_loop("local settle", settle_call, ids[: int(len(ids) * 0.5)])
    say(runs["local settle"].line())
    rolled = usage.rollup_pending()
    say(f"  rolled up the {rolled:,} records of the local run (not timed)")

    # 2. In process, Redis backend.
    redis_backend = limiter.RedisBackend(url)
    enforcement.use_backend(redis_backend)
    warm_up(keys)
    runs["redis authorize"], ids = time_loop(
        "Redis authorize", authorize_call, keys, seconds=REDIS_SECONDS, cycle=True
    )
    say(runs["redis authorize"].line())
    say(f"  {runs['redis authorize'].outliers()}")
    inline_ids, ids = ids[:INLINE_SETTLES], ids[INLINE_SETTLES:]

    # 4. Settles into PostgreSQL: records only, then the rollup of those records.
    pending_before = UsageRecord.objects.count()
    runs["redis settle"], _ = time_loop(
        "Redis settle (records only)", settle_call, ids, seconds=SETTLE_SECONDS
    )
    say(runs["redis settle"].line())
    say(f"  {runs['redis settle'].outliers()}")
    records = UsageRecord.objects.count() - pending_before
    began = time.perf_counter()
    rolled = usage.rollup_pending()
    rollup_elapsed = time.perf_counter() - began
    if rolled != records:
        raise RuntimeError(f"rolled up {rolled:,} records, expected {records:,}")
    rollup_rate = rolled / rollup_elapsed
    amortized = runs["redis settle"].count / (runs["redis settle"].elapsed + rollup_elapsed)
    say(
        f"rollup_pending over {rolled:,} records: {rollup_elapsed:.2f}s, {rollup_rate:,.0f} records/s"
    )
    say(f"settles per second with rollups (amortized): {amortized:,.0f}")
    settings.USAGE_ROLLUP_INLINE = True
    runs["inline settle"], _ = time_loop(
        "Redis settle with USAGE_ROLLUP_INLINE on", settle_call, inline_ids
    )
    settings.USAGE_ROLLUP_INLINE = False
    say(runs["inline settle"].line())

    # Database queries per call, in the steady state.
    say("database queries (Redis backend, steady state):")
    sample = [keys[n % len(keys)] for n in range(QUERY_CALLS)]
    per_authorize, authorize_shapes = queries_per_call(authorize_call, sample)
    print_queries("authorize", per_authorize, authorize_shapes, QUERY_CALLS)
    ids = [authorize_call(secret) for secret in sample]
    per_settle, settle_shapes = queries_per_call(settle_call, ids)
    print_queries("settle", per_settle, settle_shapes, QUERY_CALLS)

    # 3. A bare Redis round trip.
    runs["bare"] = bare_round_trip(url)
    say(runs["bare"].line())

    # 2. Redis commands on the wire.
    say(f"counting Redis commands on the wire over {WIRE_CALLS:,} authorizes and settles")
    wire = wire_counts(url, keys)
    for label, (commands, trips, names) in wire.items():
        listed = ", ".join(f"{name} {n / WIRE_CALLS:g}" for name, n in names.most_common())
        say(f"  {label}: {commands:g} commands ({listed}), {trips:g} round trips per call")

    # 1. Through HTTP.
    enforcement.use_backend(redis_backend)
    gateway = Gateway(world.gateway_token)
    try:
        warm = [gateway.authorize(keys[n % len(keys)]) for n in range(WARMUP)]
        for reservation_id in warm:
            gateway.settle(reservation_id)
        runs["http authorize"], ids = time_loop(
            "HTTP authorize", gateway.authorize, keys, seconds=HTTP_SECONDS, cycle=True
        )
        say(runs["http authorize"].line())
        runs["http settle"], _ = time_loop(
            "HTTP settle", gateway.settle, ids[: max(1, len(ids) // 2)]
        )
        say(runs["http settle"].line())
        say(f"  {gateway.connections} HTTP connection(s) for all requests (keep-alive)")
    finally:
        gateway.close()
    settings.USAGE_ROLLUP_INLINE = True
    usage.rollup_pending()

    # Results.
    print()
    print(f"results ({os.cpu_count()} CPUs, load average {load()})")
    for key in (
        "local authorize",
        "local settle",
        "redis authorize",
        "redis settle",
        "inline settle",
        "http authorize",
        "http settle",
        "bare",
    ):
        print(runs[key].line())
    bare = runs["bare"].median_ms
    ratio = runs["redis authorize"].median_ms / bare
    print(f"Redis authorize median / bare round trip median: {ratio:.1f}")
    print(f"round trips per authorize: {wire['authorize'][0]:g}")
    print(f"round trips per settle: {wire['settle'][0]:g}")
    print(f"rollup_pending: {rollup_rate:,.0f} records/s")
    print(f"settles per second with rollups (amortized): {amortized:,.0f}")
    print()
    verdict(
        f"exactly {TARGET_ROUND_TRIPS} Redis round trip per authorize and per settle:",
        wire["authorize"][0] == TARGET_ROUND_TRIPS
        and wire["settle"][0] == TARGET_ROUND_TRIPS
        and wire["authorize"][1] == TARGET_ROUND_TRIPS
        and wire["settle"][1] == TARGET_ROUND_TRIPS,
    )
    p99 = runs["redis authorize"].p99_ms
    p99_ok = verdict(
        f"in-process authorize p99 (Redis) {p99 * 1000:,.0f} µs, target at most "
        f"{TARGET_AUTHORIZE_P99_MS * 1000:,.0f} µs:",
        p99 <= TARGET_AUTHORIZE_P99_MS,
    )
    settle_ok = verdict(
        f"settles per second into PostgreSQL with rollups {amortized:,.0f}, target at least "
        f"{TARGET_SETTLES_PER_SECOND:,}:",
        amortized >= TARGET_SETTLES_PER_SECOND,
    )
    if not p99_ok:
        enforcement.use_backend(redis_backend)
        profile(
            "authorize (Redis)", authorize_call, [keys[n % len(keys)] for n in range(PROFILE_CALLS)]
        )
    if not settle_ok:
        enforcement.use_backend(redis_backend)
        settings.USAGE_ROLLUP_INLINE = False
        ids = [authorize_call(keys[n % len(keys)]) for n in range(PROFILE_CALLS)]
        profile("settle (Redis, records only)", settle_call, ids)
    enforcement.use_backend(None)
    print(f"\nload average at the end: {load()}")
    print(f"benchmark took {time.perf_counter() - STARTED:.0f}s")


if __name__ == "__main__":
    main()
