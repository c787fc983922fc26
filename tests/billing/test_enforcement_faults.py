"""Faults injected mid-traffic, and what must hold after each.

Four gateway processes (not threads: `fault_traffic.serve`) send authorize and settle
traffic against one organization's spend limit, through Redis servers and a Redis Cluster
these tests start on free ports of their own. While they do, the tests kill Redis (SIGKILL)
and start it again, stall it (SIGSTOP, SIGCONT), restart it without its data, make the
database refuse usage records (a trigger), and kill the worker that stores queued records.
After each fault:

- every admitted request is stored exactly once, and nothing else is;
- no admitted request was refused on settle;
- recorded spend is within the spend limit (every settle here is within its reservation);
- after reconciliation, the counters equal the database;
- refusals came only once recorded spend was near the limit.
"""

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from accounts.audit import Actor
from billing import enforcement, limiter, services, usage
from billing.models import Model, UsageRecord, UsageTier
from tests.billing import fault_traffic, redis_servers
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="processes share the database on PostgreSQL"
    ),
    pytest.mark.skipif(not redis_servers.available(), reason="needs redis-server"),
    pytest.mark.django_db(transaction=True),
]

PROCESSES = 4
LIMIT_CENTS = 120
REQUEST = {"model": "claude-sonnet-4-5", "input_tokens": 1_000, "max_tokens": 200}
USAGE = {"input_tokens": 800, "cache_read_input_tokens": 200, "output_tokens": 150}
WORST_MICRO = 1_000 * 600 + 200 * 1_500  # 1-hour cache writes at $6/M, output at $15/M
ROOT = Path(__file__).resolve().parents[2]


def _environment() -> dict[str, str]:
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    return {
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
        "DEBUG": "true",
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "ERROR",
    }


@pytest.fixture(scope="module")
def gateways(django_db_setup, django_db_blocker):
    """Four gateway processes, started once for the module."""
    context = multiprocessing.get_context("spawn")
    with django_db_blocker.unblock():
        environment = _environment()
    channels, processes = [], []
    for _ in range(PROCESSES):
        parent, child = context.Pipe()
        process = context.Process(
            target=fault_traffic.serve, args=(child, environment), daemon=True
        )
        process.start()
        channels.append(parent)
        processes.append(process)
    for channel in channels:
        assert channel.poll(60) and channel.recv() == "ready"
    yield channels
    for channel in channels:
        channel.send(None)
    for process in processes:
        process.join(10)
        if process.is_alive():
            process.kill()


@pytest.fixture(scope="module")
def persistent_cluster():
    servers = redis_servers.RedisClusterServers(persist=True)
    yield servers
    servers.close()


@pytest.fixture
def world(personas, catalog):
    actor = Actor.for_user(personas.admin)
    services.organization_limits_change(
        actor=actor, organization=personas.org, tier=UsageTier.objects.get(name="Tier 4")
    )
    services.organization_spend_limit_set(
        actor=actor, organization=personas.org, amount_cents=LIMIT_CENTS
    )
    workspace = WorkspaceFactory(organization=personas.org)
    _key, secret = workspace_services.api_key_create(actor=actor, workspace=workspace, name="k")
    return {"org": personas.org, "secret": secret, "workspace": workspace}


@pytest.fixture
def db_refusing_records():
    """A trigger that makes the database refuse usage records while switched on."""
    table = UsageRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE fault_switch (refusing boolean NOT NULL)")
        cursor.execute("INSERT INTO fault_switch VALUES (false)")
        cursor.execute(
            "CREATE FUNCTION fault_refuse_records() RETURNS trigger AS $$ BEGIN "
            "IF (SELECT refusing FROM fault_switch) THEN RAISE EXCEPTION 'injected fault'; "
            "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f'CREATE TRIGGER fault_refuse_records BEFORE INSERT ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION fault_refuse_records()"
        )

    def switch(refusing: bool) -> None:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE fault_switch SET refusing = %s", [refusing])

    yield switch
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TRIGGER fault_refuse_records ON "{table}"')
        cursor.execute("DROP FUNCTION fault_refuse_records()")
        cursor.execute("DROP TABLE fault_switch")


class Worker:
    """`manage.py usage_worker` in a process of its own, to be killed mid-batch."""

    def __init__(self, redis_url: str, *, cluster: bool = False) -> None:
        self.environment = {
            **os.environ,
            **_environment(),
            "REDIS_URL": redis_url,
            "REDIS_CLUSTER": "true" if cluster else "false",
            "USAGE_QUEUE": "true",
            "USAGE_ROLLUP_INLINE": "false",
            "RECONCILE_SECONDS": "0.5",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "usage_worker", "--interval", "0.05"],
            cwd=ROOT,
            env=self.environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


@contextmanager
def traffic(gateways, world, redis_url: str, *, cluster: bool, queued: bool, seconds: float):
    """Send traffic from every gateway process while the body injects faults; collect what
    they saw when it ends."""
    command = {
        "redis_url": redis_url,
        "cluster": cluster,
        "queued": queued,
        "secret": world["secret"],
        "seconds": seconds,
        "request": REQUEST,
        "usage": USAGE,
        "pause": 0.02,
        "settle_deadline": seconds + 30,
    }
    for channel in gateways:
        channel.send(command)
    results: list[dict] = []
    yield results
    for channel in gateways:
        if not channel.poll(seconds + 60):
            raise AssertionError("a gateway process did not answer")
        answer = channel.recv()
        assert "crashed" not in answer, answer.get("crashed")
        results.append(answer)


def _later(seconds: float, action) -> threading.Thread:
    def run():
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def assert_invariants(world, results, backend, *, queued: bool, overshoot_micro: int = 0):
    enforcement.use_backend(backend)
    settings.USAGE_QUEUE = queued
    org = str(world["org"].pk)
    if queued:
        while enforcement.store_queued_usage(rounds=1_000):
            pass
        assert backend.queued_usage([org]) == 0  # type: ignore[attr-defined]
    admitted = [rid for result in results for rid in result["admitted"]]
    assert admitted, "no request was admitted: the traffic tested nothing"
    assert [r["settle_refused"] for r in results] == [[]] * len(results)
    assert [e for r in results for e in r["errors"] if e.startswith("settle")] == []
    stored = list(
        UsageRecord.objects.filter(organization=world["org"]).values_list("request_id", flat=True)
    )
    assert len(stored) == len(set(stored))  # each exactly once
    assert sorted(stored) == sorted(admitted)  # every admitted request, nothing else
    recorded = UsageRecord.objects.filter(organization=world["org"]).aggregate(
        total=Sum("cost_cents")
    )["total"]
    assert usage.to_micro(recorded) <= LIMIT_CENTS * limiter.MICRO + overshoot_micro
    spend_refusals = sum(r["refused"].get("organization_spend_limit", 0) for r in results)
    if spend_refusals:  # refused only when the limit was near
        assert usage.to_micro(recorded) + WORST_MICRO > LIMIT_CENTS * limiter.MICRO
    assert set().union(*(r["refused"] for r in results)) <= {"organization_spend_limit", "529"}
    counters = enforcement.reconcile(org)
    assert counters is not None
    assert counters["org"] == usage.to_micro(recorded)
    assert counters[f"ws:{world['workspace'].pk}"] == usage.to_micro(recorded)
    # Reconciling again changes nothing: the counters were already exact.
    assert enforcement.reconcile(org) == counters


@pytest.fixture
def single_redis(redis_servers_started):
    return redis_servers_started(persist=True)


@pytest.fixture(autouse=True)
def _parent_backend():
    yield
    enforcement.use_backend(None)


def test_redis_killed_and_restarted_mid_traffic(gateways, world, single_redis):
    """SIGKILL, then a restart with the data its append-only file kept."""
    with traffic(
        gateways, world, single_redis.url, cluster=False, queued=True, seconds=3
    ) as results:
        _later(1.0, single_redis.kill).join()
        _later(0.5, single_redis.start).join()
    assert sum(r["refused"].get("529", 0) for r in results) > 0  # the outage was seen
    assert_invariants(world, results, limiter.RedisBackend(single_redis.url), queued=True)


def test_redis_stalled_mid_traffic_and_the_worker_killed(gateways, world, single_redis):
    worker = Worker(single_redis.url)
    worker.start()
    try:
        with traffic(
            gateways, world, single_redis.url, cluster=False, queued=True, seconds=3.5
        ) as results:
            _later(1.0, single_redis.stall).join()
            _later(1.0, single_redis.resume).join()
            _later(0.3, worker.kill).join()
            worker.start()
    finally:
        worker.stop()
    assert (
        sum(r["settle_retries"] for r in results) + sum(r["refused"].get("529", 0) for r in results)
        > 0
    )
    assert_invariants(world, results, limiter.RedisBackend(single_redis.url), queued=True)


def test_redis_restarted_without_its_data(gateways, world, redis_servers_started):
    """Reservations in flight are lost with the data: their settles are still recorded, from
    the ids. Spend can pass the limit by at most those in-flight requests (one per gateway
    process here): the reason production runs Redis with appendonly yes."""
    server = redis_servers_started(persist=False)
    with traffic(gateways, world, server.url, cluster=False, queued=False, seconds=3) as results:
        _later(1.2, lambda: server.restart(keep_data=False)).join()
    assert_invariants(
        world,
        results,
        limiter.RedisBackend(server.url),
        queued=False,
        overshoot_micro=PROCESSES * WORST_MICRO,
    )


@pytest.mark.parametrize("queued", [False, True], ids=["settles-write", "worker-writes"])
def test_the_database_refusing_records(gateways, world, single_redis, db_refusing_records, queued):
    worker = Worker(single_redis.url) if queued else None
    if worker:
        worker.start()
    try:
        with traffic(
            gateways, world, single_redis.url, cluster=False, queued=queued, seconds=3
        ) as results:
            _later(0.8, lambda: db_refusing_records(True)).join()
            _later(1.2, lambda: db_refusing_records(False)).join()
    finally:
        if worker:
            worker.stop()
    if not queued:
        assert sum(r["settle_retries"] for r in results) > 0  # the settles saw it fail
    assert_invariants(world, results, limiter.RedisBackend(single_redis.url), queued=queued)


def _node_of(servers, org: str):
    client = limiter.RedisBackend(servers.url, cluster=True).client
    node = client.get_node_from_key(limiter.keys(org, "", "")[0])
    return next(n for n in servers.nodes if n.port == int(node.port))


def test_a_cluster_node_stalled_then_killed_and_restarted(gateways, world, persistent_cluster):
    backend = limiter.RedisBackend(persistent_cluster.url, cluster=True)
    backend.reset()
    node = _node_of(persistent_cluster, str(world["org"].pk))
    with traffic(
        gateways, world, persistent_cluster.url, cluster=True, queued=True, seconds=4
    ) as results:
        _later(0.8, node.stall).join()
        _later(0.8, node.resume).join()
        _later(0.6, node.kill).join()
        _later(0.4, node.start).join()
    assert sum(r["refused"].get("529", 0) + r["settle_retries"] for r in results) > 0
    assert_invariants(world, results, backend, queued=True)
    backend.reset()


def test_the_database_refusing_records_on_the_local_backend(world, db_refusing_records, settings):
    """The single-process default: the same guarantees without Redis."""
    settings.USAGE_QUEUE = False
    local = limiter.LocalBackend()
    enforcement.use_backend(local)
    admitted, settled, refused_settles = [], {}, 0
    for n in range(30):
        if n == 10:
            db_refusing_records(True)
        decision = enforcement.authorize(world["secret"], **REQUEST)
        if not decision.admitted:
            continue
        admitted.append(decision.reservation_id)
        try:
            settled[decision.reservation_id] = enforcement.settle(decision.reservation_id, USAGE)
        except Exception:
            refused_settles += 1
        if n == 15:
            db_refusing_records(False)
    for reservation_id in admitted:
        if reservation_id not in settled:
            settled[reservation_id] = enforcement.settle(reservation_id, USAGE)
    assert refused_settles > 0
    results = [
        {
            "admitted": admitted,
            "settled": {},
            "settle_refused": [],
            "refused": {},
            "errors": [],
        }
    ]
    assert_invariants(world, results, local, queued=False)
    assert Model.objects.exists()
    assert all(s.cost_cents == Decimal("0.471") for s in settled.values())
