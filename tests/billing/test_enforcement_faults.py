"""Faults injected mid-traffic, and what must hold after each.

Four gateway processes (not threads: `fault_traffic.serve`) send authorize and settle
traffic against one organization's spend limit, through Redis servers and Redis Clusters
these tests start on free ports of their own. While they do, the tests kill Redis (SIGKILL)
and start it again with or without its data, stall it (SIGSTOP, SIGCONT), make the database
refuse usage records or fail at COMMIT (after the counter store settled), kill a gateway
between the two steps of a settle, and kill the worker while it holds a claimed batch.
After each fault:

- every admitted request is stored exactly once, and nothing else is, at the cost every
  answer gave;
- no admitted request was refused on settle;
- recorded spend is within the spend limit (every settle here is within its reservation),
  but for what the store lost with its data;
- the counters, read as they are in Redis once the processes are done (no reconcile run by
  the test), equal the database, and no reservation holds anything any more;
- every spend refusal was due: the counter it named was at most what the requests admitted
  by then could hold, each its worst case until its settle (or the process's catching up with
  the store, after a fallback) was done, its cost after.
"""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction

from accounts.audit import Actor
from billing import enforcement, limiter, services, usage
from billing.enforcement import policy, spend
from billing.models import Model, UsageRecord, UsageTier
from tests.billing import fault_traffic, redis_servers
from tests.billing.conftest import skip_or_fail
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="gateway processes share the database, which needs PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True),
]

PROCESSES = 4
LIMIT_CENTS = 120
REQUEST = {"model": "claude-sonnet-4-5", "input_tokens": 1_000, "max_tokens": 200}
USAGE = {"input_tokens": 800, "cache_read_input_tokens": 200, "output_tokens": 150}
WORST_MICRO = 1_000 * 600 + 200 * 1_500  # 1-hour cache writes at $6/M, output at $15/M
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def _redis_server_installed():
    if not redis_servers.available():
        skip_or_fail("redis-server and redis-cli are needed for the fault-injection tests")


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
        "LOG_LEVEL": "CRITICAL",
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
    """Three masters with append-only files, as production runs them."""
    servers = redis_servers.RedisClusterServers(persist=True)
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def plain_cluster():
    """Three masters that persist nothing: a node started again comes back empty."""
    servers = redis_servers.RedisClusterServers(persist=False)
    yield servers
    servers.close()


@pytest.fixture
def spend_limited(personas, catalog):
    """The organization on Tier 4 with a spend limit of `LIMIT_CENTS`, and a key of one of its
    workspaces."""
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


class DatabaseFaults:
    """Two switches on the usage records' table. `refuse_inserts`: a trigger before each
    insert raises. `refuse_commits`: a deferred constraint trigger raises at COMMIT, after
    everything else the transaction did (a settle's counter store settle included), so the
    insert passes and the commit fails. Sequences count what was refused (a sequence
    ignores rollbacks)."""

    def __init__(self) -> None:
        self.table = UsageRecord._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE fault_switch "
                "(refuse_inserts boolean NOT NULL, refuse_commits boolean NOT NULL)"
            )
            cursor.execute("INSERT INTO fault_switch VALUES (false, false)")
            cursor.execute("CREATE SEQUENCE fault_inserts_refused")
            cursor.execute("CREATE SEQUENCE fault_commits_refused")
            cursor.execute(
                "CREATE FUNCTION fault_refuse_inserts() RETURNS trigger AS $$ BEGIN "
                "IF (SELECT refuse_inserts FROM fault_switch) THEN "
                "PERFORM nextval('fault_inserts_refused'); "
                "RAISE EXCEPTION 'injected fault: insert refused'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE FUNCTION fault_refuse_commits() RETURNS trigger AS $$ BEGIN "
                "IF (SELECT refuse_commits FROM fault_switch) THEN "
                "PERFORM nextval('fault_commits_refused'); "
                "RAISE EXCEPTION 'injected fault: commit refused'; "
                "END IF; RETURN NULL; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f'CREATE TRIGGER fault_refuse_inserts BEFORE INSERT ON "{self.table}" '
                "FOR EACH ROW EXECUTE FUNCTION fault_refuse_inserts()"
            )
            cursor.execute(
                f'CREATE CONSTRAINT TRIGGER fault_refuse_commits AFTER INSERT ON "{self.table}" '
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fault_refuse_commits()"
            )

    def switch(self, *, inserts: bool = False, commits: bool = False) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE fault_switch SET refuse_inserts = %s, refuse_commits = %s",
                [inserts, commits],
            )

    def refused(self, what: str) -> int:
        """How many inserts or commits were refused."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT last_value, is_called FROM fault_{what}_refused")
            last_value, is_called = cursor.fetchone()
        return last_value if is_called else 0

    def remove(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TRIGGER fault_refuse_commits ON "{self.table}"')
            cursor.execute(f'DROP TRIGGER fault_refuse_inserts ON "{self.table}"')
            cursor.execute("DROP FUNCTION fault_refuse_commits()")
            cursor.execute("DROP FUNCTION fault_refuse_inserts()")
            cursor.execute("DROP SEQUENCE fault_commits_refused")
            cursor.execute("DROP SEQUENCE fault_inserts_refused")
            cursor.execute("DROP TABLE fault_switch")


@pytest.fixture
def database_faults():
    faults = DatabaseFaults()
    yield faults
    faults.remove()


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.02)


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

    def wait_until_working(self, port: int) -> None:
        """Until it runs its scripts on the Redis (node) on `port`: started, it has claimed
        from the queue at least once. Before traffic, no one else runs a script there."""
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        try:
            _wait_for(
                lambda: any(c["cmd"].startswith("evalsha") for c in client.client_list()),
                "the worker to start",
                timeout=60,
            )
        finally:
            client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


@contextmanager
def traffic(
    gateways, spend_limited, redis_url: str, *, cluster: bool, queued: bool, seconds: float
):
    """Send traffic from every gateway process while the body injects faults; collect what
    they saw when it ends."""
    command = {
        "redis_url": redis_url,
        "cluster": cluster,
        "queued": queued,
        "secret": spend_limited["secret"],
        "seconds": seconds,
        "request": REQUEST,
        "usage": USAGE,
        "pause": 0.02,
        "settle_deadline": seconds + 30,
    }
    for channel in gateways:
        channel.send(command)
    results: list[dict] = []
    try:
        yield results
    finally:
        # Every answer is read, even when the body failed, so none is left for the next test.
        for channel in gateways:
            if not channel.poll(seconds + 60):
                raise AssertionError("a gateway process did not answer")
            results.append(channel.recv())
    for answer in results:
        assert "crashed" not in answer, answer.get("crashed")


@contextmanager
def window(windows: dict[str, tuple[float, float]], name: str):
    """Remember when a fault lasted (monotonic time, the gateways' clock)."""
    started = time.monotonic()
    yield
    windows[name] = (started, time.monotonic())


def unavailable_during(results, span: tuple[float, float]) -> int:
    """The checks answered 529 that were asked for while the fault lasted."""
    start, end = span
    return sum(start <= u["asked"] <= end for r in results for u in r["unavailable"])


def assert_refusals_were_due(results, requests: list[dict]) -> None:
    """No request was refused that the limits allowed: each spend refusal named a counter at
    most what could be held then, so the request did not fit."""
    unavailable = [u for r in results for u in r["unavailable"]]
    refusals = [x for r in results for x in r["spend_refusals"]]
    for refusal in refusals:
        asked, answered = refusal["asked"], refusal["answered"]
        could_hold = 0
        for request in requests:
            if request["authorize"][0] > answered:
                continue  # asked for after the refusal was answered
            released = request.get("released", fault_traffic.NEVER)
            could_hold += refusal["requested"] if released >= asked else request["cost"]
        for check in unavailable:
            if check["asked"] <= answered and check.get("released", fault_traffic.NEVER) >= asked:
                could_hold += refusal["requested"]  # it may have run in the store
        assert refusal["used"] <= could_hold, (refusal, could_hold)
        assert refusal["used"] + refusal["requested"] > refusal["limit"], refusal


def assert_invariants(
    spend_limited,
    results,
    backend,
    *,
    queued: bool,
    worker: Worker | None = None,
    overshoot_micro: int = 0,
    more_requests: tuple[dict, ...] = (),
):
    enforcement.use_backend(backend)
    settings.USAGE_QUEUE = queued
    org = str(spend_limited["org"].pk)
    if queued:
        if worker is not None:
            _wait_for(
                lambda: backend.queued_usage([org]) == 0,  # type: ignore[attr-defined]
                "the worker to store every queued record",
            )
            worker.stop()
        else:  # what the worker would do
            while enforcement.store_queued_usage(rounds=1_000):
                pass
        assert backend.queued_usage([org]) == 0  # type: ignore[attr-defined]
    requests = [request for result in results for request in result["requests"]]
    requests += more_requests
    admitted = [request["id"] for request in requests]
    assert admitted, "no request was admitted: the traffic tested nothing"
    assert [r["settle_refused"] for r in results] == [[]] * len(results)
    assert [e for r in results for e in r["errors"] if e.startswith("settle")] == []
    records = UsageRecord.objects.filter(organization=spend_limited["org"])
    stored = list(records.values_list("request_id", flat=True))
    assert len(stored) == len(set(stored))  # each exactly once
    assert sorted(stored) == sorted(admitted)  # every admitted request, nothing else
    costs = dict(records.values_list("request_id", "cost_cents"))
    answered = {rid: Decimal(cost) for r in results for rid, (_, cost) in r["settled"].items()}
    assert all(costs[rid] == cost for rid, cost in answered.items())
    recorded = usage.to_micro(sum(costs.values(), start=Decimal(0)))
    assert recorded <= LIMIT_CENTS * limiter.MICRO + overshoot_micro
    assert set().union(*(r["refused"] for r in results)) <= {"organization_spend_limit", "529"}
    # The counters as the processes left them: no reconcile run here.
    month = policy.months(time.time()).this
    assert backend.spend(org, month) == {
        "org": recorded,
        f"ws:{spend_limited['workspace'].pk}": recorded,
    }
    assert backend.snapshot(org).hold_ids == []
    assert_refusals_were_due(results, requests)


@pytest.fixture
def single_redis(redis_servers_started):
    return redis_servers_started(persist=True)


@pytest.fixture(autouse=True)
def _parent_backend():
    yield
    enforcement.use_backend(None)


def _node_of(servers, org: str):
    client = limiter.RedisBackend(servers.url, cluster=True).client
    node = client.get_node_from_key(limiter.keys(org, "", "")[0])
    return next(n for n in servers.nodes if n.port == int(node.port))


def _store(request, where: str, *, persistent: bool = True):
    """A Redis of the test's own (single) or a cluster of the module's, emptied; with the
    node the organization's keys live on."""
    if where == "single":
        server = request.getfixturevalue("redis_servers_started")(persist=persistent)
        return limiter.RedisBackend(server.url), server
    servers = request.getfixturevalue("persistent_cluster" if persistent else "plain_cluster")
    backend = limiter.RedisBackend(servers.url, cluster=True)
    backend.reset()
    org = str(request.getfixturevalue("spend_limited")["org"].pk)
    return backend, _node_of(servers, org)


def test_redis_killed_and_restarted_mid_traffic(gateways, spend_limited, single_redis):
    """SIGKILL, then a restart with the data its append-only file kept."""
    windows: dict[str, tuple[float, float]] = {}
    with traffic(
        gateways, spend_limited, single_redis.url, cluster=False, queued=True, seconds=3
    ) as results:
        time.sleep(1.0)
        with window(windows, "down"):
            single_redis.kill()
            time.sleep(0.5)
            single_redis.start()
    assert unavailable_during(results, windows["down"]) > 0  # the outage was seen
    assert_invariants(spend_limited, results, limiter.RedisBackend(single_redis.url), queued=True)


def test_redis_stalled_mid_traffic(gateways, spend_limited, single_redis):
    worker = Worker(single_redis.url)
    worker.start()
    worker.wait_until_working(single_redis.port)
    windows: dict[str, tuple[float, float]] = {}
    try:
        with traffic(
            gateways, spend_limited, single_redis.url, cluster=False, queued=True, seconds=3
        ) as results:
            time.sleep(1.0)
            with window(windows, "stalled"):
                single_redis.stall()
                time.sleep(1.0)
                single_redis.resume()
        assert unavailable_during(results, windows["stalled"]) > 0
        backend = limiter.RedisBackend(single_redis.url)
        assert_invariants(spend_limited, results, backend, queued=True, worker=worker)
    finally:
        worker.stop()


def test_the_worker_killed_while_it_holds_a_claimed_batch(gateways, spend_limited, single_redis):
    """The worker claims a batch, then waits for the table (locked here); killed there, its
    claim stays in Redis, and the next worker stores the batch once."""
    org = str(spend_limited["org"].pk)
    backend = limiter.RedisBackend(single_redis.url)
    claimed_key = limiter.queue_keys(org)[1]
    worker = Worker(single_redis.url)
    worker.start()
    worker.wait_until_working(single_redis.port)

    def inserting_worker_waits() -> bool:
        """Some session waits for the table's lock: only the worker inserts here (the
        gateways queue their records), and it waits before its statement starts."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE NOT l.granted AND c.relname = %s",
                [UsageRecord._meta.db_table],
            )
            return cursor.fetchone()[0] > 0

    try:
        with traffic(
            gateways, spend_limited, single_redis.url, cluster=False, queued=True, seconds=3
        ) as results:
            time.sleep(0.8)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f'LOCK TABLE "{UsageRecord._meta.db_table}" IN SHARE MODE')
                _wait_for(
                    lambda: backend.client.llen(claimed_key) > 0 and inserting_worker_waits(),
                    "the worker to claim a batch and wait to insert it",
                )
                held = backend.client.lrange(claimed_key, 0, -1)
                worker.kill()
            assert held and backend.client.lrange(claimed_key, 0, -1) == held  # still claimed
            worker.start()  # the next worker
        assert_invariants(spend_limited, results, backend, queued=True, worker=worker)
        assert {json.loads(text)["id"] for text in held} <= set(
            UsageRecord.objects.values_list("request_id", flat=True)
        )
    finally:
        worker.stop()


def _settle_as_a_gateway(reservation_id: str) -> tuple[float, float]:
    """Settle (retried until answered), then do what the gateway's next request does first:
    send the store what it missed and reconcile what diverged. When it started and when it
    was done."""
    asked = time.monotonic()
    while True:
        try:
            enforcement.settle(reservation_id, USAGE)
            break
        except enforcement.SettleUnconfirmed:
            continue
        except Exception:
            time.sleep(0.05)
    _wait_for(enforcement.send_missed_settles, "the store to be reached again")
    spend.reconcile_diverged()
    return asked, time.monotonic()


@pytest.mark.parametrize("where", ["single", "cluster"])
def test_redis_restarted_without_its_data(gateways, spend_limited, request, where):
    """Reservations in flight are lost with the data (one is held here across the restart):
    their settles are still recorded, from the ids. Spend can pass the limit by at most
    those in-flight requests (one per gateway process, and this one): the reason production
    runs Redis with appendonly yes."""
    backend, node = _store(request, where, persistent=False)
    settings.USAGE_QUEUE = False
    enforcement.use_backend(backend)
    with traffic(
        gateways, spend_limited, backend.url, cluster=where == "cluster", queued=False, seconds=3.5
    ) as results:
        time.sleep(1.0)
        asked = time.monotonic()
        held = enforcement.authorize(spend_limited["secret"], **REQUEST)
        authorized = [asked, time.monotonic()]
        assert held.admitted
        node.restart(keep_data=False)
        settled = _settle_as_a_gateway(held.reservation_id)
    assert_invariants(
        spend_limited,
        results,
        backend,
        queued=False,
        overshoot_micro=(PROCESSES + 1) * WORST_MICRO,
        more_requests=(
            {
                "id": held.reservation_id,
                "authorize": authorized,
                "settle": list(settled),
                "cost": 471_000,
                "released": settled[1],
            },
        ),
    )


@pytest.mark.parametrize("queued", [False, True], ids=["settles-write", "worker-writes"])
def test_the_database_refusing_records(
    gateways, spend_limited, single_redis, database_faults, queued
):
    worker = Worker(single_redis.url) if queued else None
    if worker:
        worker.start()
        worker.wait_until_working(single_redis.port)
    try:
        with traffic(
            gateways, spend_limited, single_redis.url, cluster=False, queued=queued, seconds=3
        ) as results:
            time.sleep(0.8)
            database_faults.switch(inserts=True)
            time.sleep(1.2)
            database_faults.switch()
        assert database_faults.refused("inserts") > 0
        if not queued:
            assert sum(r["settle_retries"] for r in results) > 0  # the settles saw it fail
        assert_invariants(
            spend_limited,
            results,
            limiter.RedisBackend(single_redis.url),
            queued=queued,
            worker=worker,
        )
    finally:
        if worker:
            worker.stop()


@pytest.mark.parametrize(
    ("where", "queued"),
    [("single", False), ("cluster", False), ("single", True)],
    ids=["settles-write", "settles-write-cluster", "worker-writes"],
)
def test_the_database_failing_at_commit(
    gateways, spend_limited, request, database_faults, where, queued
):
    """The insert passes and the COMMIT fails, after the counter store settled: the retry
    is the record's first settle (the store gives back the first answer), counted once."""
    backend, node = _store(request, where)
    worker = Worker(backend.url, cluster=where == "cluster") if queued else None
    if worker:
        worker.start()
        worker.wait_until_working(node.port)
    try:
        with traffic(
            gateways,
            spend_limited,
            backend.url,
            cluster=where == "cluster",
            queued=queued,
            seconds=3,
        ) as results:
            time.sleep(0.8)
            database_faults.switch(commits=True)
            time.sleep(1.0)
            database_faults.switch()
        assert database_faults.refused("commits") > 0
        if not queued:
            assert sum(r["settle_retries"] for r in results) > 0
            # Retries of settles the store had settled: answered as first settles.
            assert not any(already for r in results for already, _cost in r["settled"].values())
        assert_invariants(spend_limited, results, backend, queued=queued, worker=worker)
    finally:
        if worker:
            worker.stop()


def test_a_gateway_killed_between_the_two_steps_of_a_settle(gateways, spend_limited, single_redis):
    """SIGKILL after the counter store settled and before the database committed: nothing is
    stored; the gateway's retry (from any process) stores it once, counted once."""
    context = multiprocessing.get_context("spawn")
    channel, child = context.Pipe()
    doomed = context.Process(
        target=fault_traffic.settle_then_hang,
        args=(child, _environment()),
        kwargs={
            "redis_url": single_redis.url,
            "cluster": False,
            "secret": spend_limited["secret"],
            "request": REQUEST,
            "usage": USAGE,
        },
        daemon=True,
    )
    doomed.start()
    try:
        assert channel.poll(60) and channel.recv() == "ready"
        with traffic(
            gateways, spend_limited, single_redis.url, cluster=False, queued=False, seconds=3
        ) as results:
            time.sleep(0.5)
            channel.send("go")
            assert channel.poll(30)
            authorized = channel.recv()
            assert authorized["admitted"]
            reservation_id = authorized["id"]
            assert channel.poll(30)
            assert channel.recv() == {"between_the_steps": reservation_id, "status": "settled"}
            doomed.kill()
            doomed.join(10)
            assert not UsageRecord.objects.filter(request_id=reservation_id).exists()
            settings.USAGE_QUEUE = False
            enforcement.use_backend(limiter.RedisBackend(single_redis.url))
            asked = time.monotonic()
            retry = enforcement.settle(reservation_id, USAGE)
            done = time.monotonic()
    finally:
        if doomed.is_alive():
            doomed.kill()
    assert not retry.already_settled and retry.cost_cents == Decimal("0.471")
    assert_invariants(
        spend_limited,
        results,
        limiter.RedisBackend(single_redis.url),
        queued=False,
        more_requests=(
            {
                "id": reservation_id,
                "authorize": authorized["authorize"],
                "settle": [asked, done],
                "cost": usage.to_micro(retry.cost_cents),
                "released": done,
            },
        ),
    )


def test_a_cluster_node_stalled_then_killed_and_restarted(
    gateways, spend_limited, persistent_cluster
):
    """Each answered 529 at once (not waited for), then served again."""
    backend = limiter.RedisBackend(persistent_cluster.url, cluster=True)
    backend.reset()
    node = _node_of(persistent_cluster, str(spend_limited["org"].pk))
    windows: dict[str, tuple[float, float]] = {}
    with traffic(
        gateways, spend_limited, persistent_cluster.url, cluster=True, queued=True, seconds=4
    ) as results:
        time.sleep(0.8)
        with window(windows, "stalled"):
            node.stall()
            time.sleep(0.8)
            node.resume()
        time.sleep(0.6)
        with window(windows, "killed"):
            node.kill()
            time.sleep(0.4)
            node.start()
    assert unavailable_during(results, windows["stalled"]) > 0
    assert unavailable_during(results, windows["killed"]) > 0
    assert_invariants(spend_limited, results, backend, queued=True)
    backend.reset()


def test_the_database_refusing_records_on_the_local_backend(
    spend_limited, database_faults, settings
):
    """The single-process default: the same guarantees without Redis."""
    settings.USAGE_QUEUE = False
    local = limiter.LocalBackend()
    enforcement.use_backend(local)
    requests, settled, refused_settles = [], {}, 0
    for n in range(30):
        if n == 10:
            database_faults.switch(inserts=True)
        asked = time.monotonic()
        decision = enforcement.authorize(spend_limited["secret"], **REQUEST)
        if not decision.admitted:
            continue
        entry = {"id": decision.reservation_id, "authorize": [asked, time.monotonic()]}
        requests.append(entry)
        try:
            settled[entry["id"]] = enforcement.settle(entry["id"], USAGE)
            entry["released"] = time.monotonic()
        except Exception:
            refused_settles += 1
        if n == 15:
            database_faults.switch()
    for entry in requests:
        if entry["id"] not in settled:
            settled[entry["id"]] = enforcement.settle(entry["id"], USAGE)
            entry["released"] = time.monotonic()
        entry["cost"] = usage.to_micro(settled[entry["id"]].cost_cents)
    assert refused_settles > 0
    results = [
        {
            "requests": requests,
            "unavailable": [],
            "spend_refusals": [],
            "settled": {},
            "settle_refused": [],
            "refused": {},
            "errors": [],
        }
    ]
    assert_invariants(spend_limited, results, local, queued=False)
    assert Model.objects.exists()
    assert all(s.cost_cents == Decimal("0.471") for s in settled.values())
