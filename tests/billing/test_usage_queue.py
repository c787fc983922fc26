"""Usage records queued in Redis with the settle (`USAGE_QUEUE`), stored by the worker in
batches; and rollups that never skip a record committed out of order."""

import io
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis
from django.core import checks
from django.core.management import call_command
from django.db import connection, connections, transaction
from redis.crc import key_slot

from billing import enforcement, limiter, usage
from billing.models import Model, UsageDaily, UsageRecord
from tests.billing import redis_servers
from tests.billing.conftest import T0, auth, make_backend, skip_or_fail

SETTLED = {"input_tokens": 1_000, "output_tokens": 500}  # 1.05 cents on Sonnet 4.5


@pytest.fixture(params=["redis", "cluster"])
def queued(request, settings):
    """The queue on a single Redis and on the Redis Cluster."""
    settings.LIMITER_CACHE_SECONDS = 60
    settings.USAGE_QUEUE = True
    settings.USAGE_ROLLUP_INLINE = False
    backend = make_backend(request, request.param)
    backend.reset()
    enforcement.use_backend(backend)
    yield backend
    backend.reset()
    enforcement.use_backend(None)


def _settle(world, *, now=T0):
    decision = auth(world, now=now)
    return decision.reservation_id, enforcement.settle(decision.reservation_id, SETTLED, now=now)


def test_a_queued_settle_runs_no_sql(queued, world, django_assert_num_queries):
    _settle(world)  # the model by id, and the limits, now in the process's cache
    decision = auth(world)
    with django_assert_num_queries(0):
        settlement = enforcement.settle(decision.reservation_id, SETTLED, now=T0)
    assert settlement.cost_cents == Decimal("1.05")
    assert not UsageRecord.objects.exists()
    assert queued.queued_usage([str(world["org"].pk)]) == 2


def test_the_worker_stores_and_rolls_up_queued_records(queued, world):
    ids = [_settle(world, now=T0 + n)[0] for n in range(3)]
    out = io.StringIO()
    call_command("usage_worker", "--once", stdout=out)
    assert "Stored 3 queued usage records." in out.getvalue()
    assert "Rolled up 3 usage records." in out.getvalue()
    records = UsageRecord.objects.order_by("created_at")
    assert [r.request_id for r in records] == ids
    assert [r.created_at for r in records] == [
        datetime.fromtimestamp(T0 + n, UTC) for n in range(3)
    ]
    assert {(r.uncached_input_tokens, r.output_tokens, r.cost_cents) for r in records} == {
        (1_000, 500, Decimal("1.05"))
    }
    assert records[0].workspace_id == world["workspace"].pk
    assert records[0].api_key_id == world["key"].pk
    assert UsageDaily.objects.get().requests == 3
    assert queued.queued_usage([str(world["org"].pk)]) == 0
    # Stored: Redis forgets the second-settle answers; the database gives them now.
    assert queued.client.hlen(limiter.keys(str(world["org"].pk), "", "")[4]) == 0
    again = enforcement.settle(ids[0], SETTLED, now=T0 + 5)
    assert again.already_settled and again.cost_cents == Decimal("1.05")


def test_a_batch_claimed_but_not_acknowledged_is_stored_once(queued, world):
    """A worker that stopped after storing and before acknowledging: the next one gets the
    same batch again, and skips what is stored."""
    org = str(world["org"].pk)
    _settle(world)
    (batch,) = queued.claim_usage([org], 1_000)
    with transaction.atomic():
        usage.store_queued(batch.records)
    _settle(world, now=T0 + 1)  # a newer record waits behind the unacknowledged claim
    assert enforcement.store_queued_usage() == 2
    assert UsageRecord.objects.count() == 2
    assert queued.queued_usage([org]) == 0


def test_an_old_claims_acknowledgement_forgets_nothing_newer(queued, world):
    org = str(world["org"].pk)
    _settle(world)
    (first,) = queued.claim_usage([org], 1_000)
    (same,) = queued.claim_usage([org], 1_000)  # a second worker, same batch
    assert same.token == first.token
    queued.ack_usage([(first, [])])
    _settle(world, now=T0 + 1)
    (newer,) = queued.claim_usage([org], 1_000)
    queued.ack_usage([(same, [])])  # late: that claim is gone already
    assert queued.queued_usage([org]) == 1
    assert newer.token != first.token


def test_batches_larger_than_the_limit(queued, world):
    for n in range(7):
        _settle(world, now=T0 + n)
    assert enforcement.store_queued_usage(limit=3) == 7
    assert UsageRecord.objects.count() == 7


def test_notifications_wait_for_the_stored_record(
    queued, world, django_capture_on_commit_callbacks, mailoutbox
):
    from billing import services

    services.spend_notification_add(
        actor=world["actor"],
        organization=world["org"],
        workspace=world["workspace"],
        amount_cents=1,
    )
    now = datetime.now(UTC).timestamp()
    with django_capture_on_commit_callbacks(execute=True):
        _settle(world, now=now)
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        enforcement.store_queued_usage()
    assert len(mailoutbox) == 1


def test_redis_down_at_settle_writes_the_record_itself(queued, world, settings):
    """Stored, and answered 529 (retry): an earlier settle could wait in the queue. The retry
    answers already_settled with the recorded cost."""
    decision = auth(world)
    enforcement.use_backend(limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.2))
    settings.LIMITER_FAIL_OPEN = True
    with pytest.raises(enforcement.SettleUnconfirmed) as unconfirmed:
        enforcement.settle(decision.reservation_id, SETTLED, now=T0)
    assert unconfirmed.value.settlement.cost_cents == Decimal("1.05")
    assert UsageRecord.objects.get().request_id == decision.reservation_id
    retry = enforcement.settle(decision.reservation_id, SETTLED, now=T0)
    assert retry.already_settled and retry.cost_cents == Decimal("1.05")


def test_a_queued_record_the_database_also_has_is_counted_once(queued, world):
    """A settle queued in Redis, repeated while Redis could not be reached (so written to
    the database too): until the worker drops the queued copy, a reconcile counts it once."""
    now = datetime.now(UTC).timestamp()
    org = str(world["org"].pk)
    decision = auth(world, now=now)
    enforcement.settle(decision.reservation_id, SETTLED, now=now)
    enforcement.use_backend(limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.2))
    with pytest.raises(enforcement.SettleUnconfirmed):
        enforcement.settle(decision.reservation_id, SETTLED, now=now)
    enforcement.use_backend(queued)
    assert UsageRecord.objects.count() == 1 and queued.queued_usage([org]) == 1
    assert enforcement.reconcile(org, now=now) == {
        "org": 1_050_000,
        f"ws:{world['workspace'].pk}": 1_050_000,
    }


def test_the_worker_says_when_redis_is_down(queued, personas):
    enforcement.use_backend(limiter.RedisBackend("redis://127.0.0.1:1/0", timeout=0.2))
    err = io.StringIO()
    call_command("usage_worker", "--once", stdout=io.StringIO(), stderr=err)
    assert "Redis cannot be reached; queued usage waits" in err.getvalue()


def test_settings_checks(settings, redis_servers_started):
    def ids():
        return [m.id for m in checks.run_checks(tags=[checks.Tags.compatibility])]

    persistent = redis_servers_started(persist=True)
    settings.USAGE_QUEUE = False
    assert ids() == []
    settings.USAGE_QUEUE, settings.REDIS_URL = True, ""
    assert ids() == ["billing.W001"]
    settings.REDIS_URL, settings.USAGE_ROLLUP_INLINE = persistent.url, True
    assert ids() == ["billing.W002"]
    settings.USAGE_ROLLUP_INLINE = False
    assert ids() == []


def test_a_usage_queue_in_a_redis_that_persists_nothing_is_refused(settings, redis_servers_started):
    settings.USAGE_QUEUE, settings.USAGE_ROLLUP_INLINE = True, False

    def messages(server):
        settings.REDIS_URL = server.url
        return [(m.id, m.level) for m in checks.run_checks(tags=[checks.Tags.compatibility])]

    assert messages(redis_servers_started()) == [("billing.E001", checks.ERROR)]
    snapshots = redis_servers_started(options=("--save", "3600 1"))
    assert messages(snapshots) == [("billing.W004", checks.WARNING)]
    silent = redis_servers_started(options=("--rename-command", "CONFIG", ""))
    assert messages(silent) == [("billing.W003", checks.WARNING)]
    assert messages(redis_servers_started(persist=True)) == []


def test_every_master_of_a_cluster_must_persist_a_usage_queue(settings):
    """Queued records live on the master of their organization's slot, any of them: each is
    read, and one that persists nothing is named."""
    if not redis_servers.available():
        skip_or_fail("redis-server and redis-cli are needed for the cluster tests")
    settings.USAGE_QUEUE, settings.USAGE_ROLLUP_INLINE = True, False
    settings.REDIS_CLUSTER = True
    servers = redis_servers.RedisClusterServers(persist=True)
    try:
        settings.REDIS_URL = servers.url
        assert checks.run_checks(tags=[checks.Tags.compatibility]) == []
        for node in servers.nodes:
            client = redis.Redis(host="127.0.0.1", port=node.port)
            client.config_set("appendonly", "no")
            try:
                (message,) = checks.run_checks(tags=[checks.Tags.compatibility])
                assert message.id == "billing.E001"
                assert f"127.0.0.1:{node.port} persists nothing" in message.msg
            finally:
                client.config_set("appendonly", "yes")
                client.close()
    finally:
        servers.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_rollup_waits_for_a_smaller_id_committed_later(catalog, world, settings):
    """Writer A takes an id and commits late; writer B takes a larger one and commits first.
    The rollup must not move past A's record."""
    settings.USAGE_ROLLUP_INLINE = False
    model = Model.objects.get(api_name="claude-sonnet-4-5")
    at = datetime(2026, 11, 10, 12, tzinfo=UTC)
    a_inserted, a_may_commit = threading.Event(), threading.Event()

    def writer_a():
        try:
            with transaction.atomic():
                usage.record(api_key=world["key"], model=model, tokens={"output_tokens": 1}, at=at)
                a_inserted.set()
                a_may_commit.wait(10)
        finally:
            connections.close_all()

    thread_a = threading.Thread(target=writer_a)
    thread_a.start()
    assert a_inserted.wait(10)
    usage.record(
        api_key=world["key"], model=model, tokens={"output_tokens": 10}, at=at + timedelta(1)
    )
    rolled = []
    roller = threading.Thread(
        target=lambda: (rolled.append(usage.rollup_pending()), connections.close_all())
    )
    roller.start()
    roller.join(0.5)
    assert roller.is_alive()  # waiting for writer A to commit
    a_may_commit.set()
    thread_a.join(10)
    roller.join(10)
    assert rolled == [2]
    assert sum(UsageDaily.objects.values_list("output_tokens", flat=True)) == 11


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_cannot_be_stored_stays_queued_and_blocks_no_one(
    catalog, queued, world, personas, caplog
):
    other = str(personas.other_org.pk)
    broken = usage.queued_record(
        UsageRecord(
            organization_id=other,
            workspace_id=987_654,
            api_key_id=987_654,
            model=Model.objects.get(api_name="claude-sonnet-4-5"),
            output_tokens=1,
            cost_cents=Decimal("0.0015"),
            created_at=datetime.fromtimestamp(T0, UTC),
            request_id="res_broken",
        ),
        month="2026-11",
        micro_cents=1_500,
    )
    queued.client.rpush(limiter.queue_keys(other)[0], broken)
    _settle(world)
    assert enforcement.store_queued_usage() == 1
    assert UsageRecord.objects.get().workspace_id == world["workspace"].pk
    assert queued.queued_usage([other]) == 1
    assert f"Queued usage of organization {other} could not be stored" in caplog.text


def test_the_worker_reconciles_counters_that_drifted(queued, world, settings):
    """Counters can drift from the records (a settle written to the database alone, a store
    that lost data); the worker sets them back to what the database says."""
    settings.RECONCILE_SECONDS = 0
    now = datetime.now(UTC).timestamp()
    _settle(world, now=now)
    call_command("usage_worker", "--once", stdout=io.StringIO())
    org = str(world["org"].pk)
    month = f"{datetime.now(UTC):%Y-%m}"
    spend_key = limiter.keys(org, month, month)[1]
    queued.client.hset(spend_key, "org", 1)  # drifted far below the truth
    call_command("usage_worker", "--once", stdout=io.StringIO())
    assert queued.spend(org, month)["org"] == 1_050_000  # the 1.05 cents recorded


def test_every_key_of_a_check_is_in_one_cluster_slot():
    org = "9b2b6c6e-5a4e-4f0e-9c55-0d1b0e6f2a11"
    names = [*limiter.keys(org, "2026-11", "2026-10"), *limiter.queue_keys(org)]
    assert len({key_slot(name.encode()) for name in names}) == 1
