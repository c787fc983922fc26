"""The gateway's cached routes and keys are reloaded ahead of their expiry, in the
background: a busy gateway never makes a request wait for the database to refresh them."""

import asyncio
import time

import pytest

from billing.messages_api import lookups


@pytest.fixture
def slow_loads(monkeypatch, settings):
    settings.LIMITER_CACHE_SECONDS = 10
    lookups.clear()
    gate: dict = {}
    loads: list[str] = []

    async def load_table():
        loads.append("table")
        await gate["open"].wait()
        return lookups._Table({}, [], time.monotonic() + 10)

    async def load_caller(secret):
        loads.append(secret)
        await gate["open"].wait()
        return lookups.Caller(api_key_id=1, workspace_id=2, organization_id="o", expires_at=None)

    monkeypatch.setattr(lookups, "_load_table_in_pool", load_table)
    monkeypatch.setattr(lookups, "_load_caller_in_pool", load_caller)
    yield gate, loads
    lookups.clear()


def _age(seconds_left: float) -> None:
    """Make every cached entry expire in `seconds_left`."""
    until = time.monotonic() + seconds_left
    assert lookups._table is not None
    lookups._table.fresh_until = until
    for digest, (_until, caller) in list(lookups._callers.items()):
        lookups._callers[digest] = (until, caller)


def test_an_entry_near_its_end_is_served_while_it_reloads(slow_loads):
    gate, loads = slow_loads

    async def scenario():
        gate["open"] = asyncio.Event()
        gate["open"].set()
        first = await lookups.routing_table()
        assert await lookups.authenticate("sk-secret") is not None
        assert loads == ["table", "sk-secret"]
        gate["open"] = asyncio.Event()  # loads now wait until told
        _age(1.0)  # in the last fifth of its ten seconds
        # Answered at once from the cache, the reloads started behind.
        table = await asyncio.wait_for(lookups.routing_table(), 0.5)
        caller = await asyncio.wait_for(lookups.authenticate("sk-secret"), 0.5)
        assert table is first and caller is not None
        await asyncio.sleep(0)
        assert loads == ["table", "sk-secret", "table", "sk-secret"]
        # Only one reload each, however many requests come meanwhile.
        await lookups.routing_table()
        await lookups.authenticate("sk-secret")
        assert len(loads) == 4
        gate["open"].set()
        while lookups._reloads:
            await asyncio.sleep(0.01)
        assert lookups._table.fresh_until > time.monotonic() + 5

    asyncio.run(scenario())


def test_an_expired_entry_is_loaded_before_the_request_goes_on(slow_loads):
    gate, _loads = slow_loads

    async def scenario():
        gate["open"] = asyncio.Event()
        gate["open"].set()
        await lookups.routing_table()
        _age(-1.0)
        gate["open"] = asyncio.Event()
        waiting = asyncio.ensure_future(lookups.routing_table())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        gate["open"].set()
        await waiting

    asyncio.run(scenario())


def test_a_reload_that_began_before_clear_is_not_kept(slow_loads):
    gate, _loads = slow_loads

    async def scenario():
        gate["open"] = asyncio.Event()
        gate["open"].set()
        await lookups.routing_table()
        gate["open"] = asyncio.Event()
        _age(1.0)
        await lookups.routing_table()  # starts a reload
        lookups.clear()  # staff changed a route
        gate["open"].set()
        while lookups._reloads:
            await asyncio.sleep(0.01)
        assert lookups._table is None

    asyncio.run(scenario())
