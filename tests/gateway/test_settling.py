"""No admitted request goes unrecorded: a settle that fails (the database down, Redis down
with it) is tried again, kept in the spool until it succeeds, drained by the next process,
and a usage report the engine refuses is still recorded, with its counts."""

import asyncio
import logging
import time

import pytest
import redis
from django.core.management import call_command
from django.db import OperationalError

from billing import enforcement, usage
from billing.limiter import LimiterUnavailable
from billing.messages_api import app, engine, forwarding, settling

TOKENS = ("uncached_input_tokens", "cache_read_tokens", "output_tokens")


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def tokens(record) -> tuple[int, ...]:
    return tuple(getattr(record, name) for name in TOKENS)


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(settling, "RETRY_PAUSES", (0.01, 0.02, 0.05))
    monkeypatch.setattr(settling, "DRAIN_SECONDS", 0.05)
    monkeypatch.setattr(settling, "MAX_DRAIN_SECONDS", 0.1)


class Faults:
    """The next `failures` settles fail, as `kind` says:

    - `database`: the database refuses the record (a settle queued in Redis writes none,
      so it does not notice);
    - `redis_down`: Redis cannot be reached, and the database, where the engine then
      records the usage alone, refuses it too;
    - `redis_error`: Redis answers an error (out of memory), which is no outage the engine
      knows to fall back from."""

    def __init__(self, gateway, monkeypatch, kind: str) -> None:
        self.failures = 0
        self.seen = 0
        backend = gateway.backend
        if kind in ("database", "redis_down"):
            real_insert = usage.insert_once

            def insert_once(record):
                if self.failures > 0:
                    self.failures -= 1
                    self.seen += 1
                    raise OperationalError("the database is down")
                return real_insert(record)

            monkeypatch.setattr(usage, "insert_once", insert_once)
        if kind == "database" or not backend.queues_usage:
            return
        error = LimiterUnavailable("Redis is down") if kind == "redis_down" else None
        real_asettle, real_settle = backend.asettle, backend.settle

        def fault() -> None:
            if self.failures > 0:
                if error is not None:
                    raise error
                self.failures -= 1
                self.seen += 1
                raise redis.exceptions.ResponseError("OOM command not allowed")

        async def asettle(request):
            fault()
            return await real_asettle(request)

        def settle(request):
            fault()
            return real_settle(request)

        monkeypatch.setattr(backend, "asettle", asettle)
        monkeypatch.setattr(backend, "settle", settle)


FAULTS = ["database", "redis_down", "redis_error"]


def _applies(gateway, kind: str) -> bool:
    return kind == "database" or gateway.backend.queues_usage


def create(gateway, text: str = "fake: reply input=120 cache_read=30 output=6"):
    return gateway.sdk().messages.create(
        model="claude-sonnet-4-5", max_tokens=20, messages=ask(text)
    )


# Settles that write at once as well as queued ones: a failing store matters to both.
EVERY_STORE = pytest.mark.parametrize("gateway", ["local", "redis", "redis-queued"], indirect=True)


@EVERY_STORE
@pytest.mark.parametrize("failures", [1, 3])
@pytest.mark.parametrize("kind", FAULTS)
def test_a_settle_that_fails_is_retried_and_recorded_once(
    gateway, monkeypatch, quick_retries, failures, kind
):
    if not _applies(gateway, kind):
        pytest.skip("this counter store has no Redis to fail")
    faults = Faults(gateway, monkeypatch, kind)
    faults.failures = failures
    message = create(gateway)
    assert message.usage.output_tokens == 6
    (record,) = gateway.settled()
    assert tokens(record) == (120, 30, 6)
    queued_past_the_database = kind == "database" and gateway.queued
    assert faults.seen == (0 if queued_past_the_database else failures)
    assert not settling.spooled()


@EVERY_STORE
@pytest.mark.parametrize("kind", FAULTS)
def test_a_settle_that_keeps_failing_waits_in_the_spool_then_is_recorded_once(
    gateway, monkeypatch, quick_retries, kind
):
    if not _applies(gateway, kind) or (kind == "database" and gateway.queued):
        pytest.skip("this fault does not reach this counter store's settles")
    faults = Faults(gateway, monkeypatch, kind)
    faults.failures = 10_000
    with gateway.sdk().messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=20,
        messages=ask("fake: reply input=75 output=9"),
    ) as stream:
        stream.until_done()
    deadline = time.monotonic() + 10
    while forwarding.busy() and time.monotonic() < deadline:
        time.sleep(0.01)
    (waiting,) = settling.spooled()
    assert waiting.usage["input_tokens"] == 75 and waiting.usage["output_tokens"] == 9
    assert settling.draining()
    # The database (and Redis) answer again: the spool is drained.
    faults.failures = 0
    (record,) = gateway.settled()
    assert tokens(record) == (75, 0, 9)
    assert not settling.spooled()


def _admitted_and_spooled(gateway) -> str:
    """A request checked and answered by a process that died before it could settle: its
    settle is in the spool, nothing recorded."""
    decision = enforcement.authorize(gateway.secret, "claude-sonnet-4-5", 500, 50)
    assert decision.admitted
    assert settling.spool(decision.reservation_id, {"input_tokens": 410, "output_tokens": 33})
    return decision.reservation_id


def test_the_next_process_records_what_a_dead_one_left_in_the_spool(gateway, quick_retries):
    reservation_id = _admitted_and_spooled(gateway)

    async def start_a_process() -> None:
        started = asyncio.Event()
        messages = asyncio.Queue()
        await messages.put({"type": "lifespan.startup"})

        async def send(message):
            if message["type"] == "lifespan.startup.complete":
                started.set()

        lifespan = asyncio.ensure_future(app._lifespan(messages.get, send))
        await started.wait()
        lifespan.cancel()

    gateway.server.run(start_a_process())
    (record,) = gateway.settled()
    assert record.request_id == reservation_id
    assert (record.uncached_input_tokens, record.output_tokens) == (410, 33)
    assert not settling.spooled()


def test_the_spool_is_drained_from_code_that_runs_a_loop(gateway):
    _admitted_and_spooled(gateway)

    async def from_asynchronous_code():
        return settling.drain_now()

    assert asyncio.run(from_asynchronous_code()) == (1, 0)
    gateway.settled()


def test_the_spool_is_drained_by_hand(gateway, capsys):
    _admitted_and_spooled(gateway)
    call_command("gateway_settle_spool")
    assert "1 settle waits in the spool" in capsys.readouterr().out
    call_command("gateway_settle_spool", "--drain")
    assert "1 recorded, 0 left" in capsys.readouterr().out
    (record,) = gateway.settled()
    assert record.output_tokens == 33
    # Drained twice, recorded once.
    settling.spool(record.request_id, {"input_tokens": 410, "output_tokens": 33})
    call_command("gateway_settle_spool", "--drain")
    gateway.settled()


def test_a_usage_report_no_settle_takes_is_recorded_with_its_counts(gateway, caplog):
    caplog.set_level(logging.WARNING, logger="billing.messages_api.settling")
    create(gateway, "fake: reply input=60 output=4 tier=default bad_usage=1")
    (record,) = gateway.settled()
    assert tokens(record) == (60, 0, 4)
    assert "recorded with its counts only" in caplog.text
    assert not settling.spooled()


def test_a_settle_the_engine_cannot_take_at_all_is_kept_for_staff(gateway, caplog, monkeypatch):
    async def refused(reservation_id, usage):
        raise enforcement.EnforcementError("reservation_id: unknown reservation.")

    monkeypatch.setattr(engine, "settle", refused)
    create(gateway)
    gateway.idle()
    (kept,) = settling.rejected()
    assert "unknown reservation" in kept.read_text()
    assert "cannot be recorded" in caplog.text


def test_a_settle_stored_but_unconfirmed_is_done(gateway, caplog, monkeypatch):
    """With `USAGE_QUEUE` and the counter store unreachable the engine stores the record and
    says so with `SettleUnconfirmed`: the gateway settles each request once, so that is done,
    neither retried, spooled nor kept as refused."""
    real = engine.settle

    async def stored_but_unconfirmed(reservation_id, usage):
        settlement = await real(reservation_id, usage)
        raise enforcement.SettleUnconfirmed(settlement)

    monkeypatch.setattr(engine, "settle", stored_but_unconfirmed)
    create(gateway)
    gateway.idle()
    assert not settling.spooled() and not settling.rejected()
    assert "failed" not in caplog.text and "cannot be recorded" not in caplog.text
    monkeypatch.setattr(engine, "settle", real)
    gateway.settled()


@pytest.mark.parametrize("data_only", [False, True])
@pytest.mark.parametrize("stream", [False, True])
def test_the_settle_gets_everything_the_upstream_reported(gateway, monkeypatch, stream, data_only):
    given = []
    real = engine.settle

    async def spy(reservation_id, usage):
        given.append(usage)
        return await real(reservation_id, usage)

    monkeypatch.setattr(engine, "settle", spy)
    text = "fake: reply input=90 output=5 web_search=2 web_fetch=3 tier=priority geo=us speed=fast"
    if data_only:
        text += " data_only=1"
    if stream:
        with gateway.sdk().messages.stream(
            model="claude-sonnet-4-5", max_tokens=20, messages=ask(text)
        ) as events:
            events.until_done()
    else:
        create(gateway, text)
    gateway.settled()
    (reported,) = given
    assert reported["input_tokens"] == 90 and reported["output_tokens"] == 5
    assert reported["server_tool_use"] == {"web_search_requests": 2, "web_fetch_requests": 3}
    assert reported["service_tier"] == "priority"
    assert reported["inference_geo"] == "us"
    assert reported["speed"] == "fast"


def test_sanitized_usage_keeps_the_counts_in_range():
    assert settling.sanitized(
        {
            "input_tokens": -5,
            "output_tokens": 10**15,
            "cache_read_input_tokens": "many",
            "cache_creation": {"ephemeral_5m_input_tokens": 3.7, "weird": 1},
            "server_tool_use": {"web_search_requests": True},
            "service_tier": "default",
        }
    ) == {
        "input_tokens": 0,
        "output_tokens": settling.MAX_COUNT,
        "cache_creation": {"ephemeral_5m_input_tokens": 3},
    }
