"""The gateway under test: Console's ASGI application served by uvicorn in a thread of the
test process (so it reads the test database), in front of the fake upstream, a process of
its own (`fake_upstream.py`). Both start once per session and stop at its end.

`gateway` gives a test a workspace key, an upstream pointing at the fake one with
`claude-sonnet-4-5` routed to it, and the official SDK pointed at Console. It runs each test
with each counter store: this process's memory (`local`), Redis as production runs it
(`redis`), and Redis carrying the settles' records to the usage worker (`redis-queued`,
`USAGE_QUEUE`: a settle is one round trip on `redis.asyncio`).
"""

import asyncio
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import anthropic
import httpx2
import pytest
import uvicorn
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.db import connections

from accounts.audit import Actor
from billing import enforcement, limiter, upstreams, usage
from billing.messages_api import forwarding, lookups, refusals, settling
from billing.models import Model, UsageRecord
from tests.billing.conftest import redis_backend
from tests.factories import WorkspaceFactory
from workspaces import services as workspace_services

ROOT = Path(__file__).resolve().parents[2]
SERVER_THREADS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def fake_upstream_url():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.gateway.fake_upstream", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            pytest.fail(f"The fake upstream did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[-1])}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _close_connections_in(executor: ThreadPoolExecutor) -> None:
    """Close the database connection of every thread of `executor`: one task per thread,
    held at a barrier so that no thread takes two."""
    barrier = threading.Barrier(SERVER_THREADS)

    def close() -> None:
        barrier.wait(timeout=10)
        connections.close_all()

    for future in [executor.submit(close) for _ in range(SERVER_THREADS)]:
        future.result()


@dataclass
class Server:
    url: str
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine, timeout: float = 30):
        """Run `coroutine` in the server's event loop; its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@pytest.fixture(scope="session")
def console_server(django_db_setup, django_db_blocker):
    from console.asgi import application

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    executor = ThreadPoolExecutor(SERVER_THREADS)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(executor)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve())

    with django_db_blocker.unblock():
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("Console's ASGI server did not start.")
            time.sleep(0.02)
        try:
            yield Server(f"http://127.0.0.1:{port}", loop)
        finally:
            # The engine's asynchronous twins reach the database in one shared thread of
            # their own (sync_to_async's default): its connection is closed too.
            asyncio.run_coroutine_threadsafe(sync_to_async(connections.close_all)(), loop).result(
                timeout=10
            )
            server.should_exit = True
            thread.join(timeout=30)
            _close_connections_in(executor)
            executor.shutdown()
            loop.close()


@pytest.fixture(scope="session")
def console_url(console_server) -> str:
    return console_server.url


@dataclass
class Gateway:
    url: str
    upstream_url: str
    secret: str
    key: object
    workspace: object
    org: object
    actor: Actor
    upstream: object
    server: Server
    backend: object

    @property
    def queued(self) -> bool:
        return self.backend.queues_usage and django_settings.USAGE_QUEUE

    def sdk(self, **options) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            api_key=options.pop("api_key", self.secret),
            base_url=self.url,
            max_retries=0,
            **options,
        )

    def upstream_log(self) -> list[dict]:
        return httpx2.get(f"{self.upstream_url}/_log").json()

    def settled(self, count: int = 1, timeout: float = 10) -> list[UsageRecord]:
        """The usage records once `count` requests have settled (settles run just after the
        answer's last byte), checking that no more than `count` appear."""
        # Waits without reading the database meanwhile: on SQLite's shared in-memory test
        # database a read here would make the settle's write fail ("table is locked").
        self.idle(timeout)
        if self.queued:
            # What the usage worker does: the records queued in Redis, into the database.
            enforcement.store_queued_usage()
            if django_settings.USAGE_ROLLUP_INLINE:
                usage.rollup_pending()
        records = list(UsageRecord.objects.order_by("id"))
        assert len(records) == count, f"{len(records)} usage records, expected {count}"
        for record in records:
            # Settled already: the reservation is not left to expire.
            assert enforcement.settle(record.request_id, {}).already_settled
        return records

    def idle(self, timeout: float = 10) -> None:
        """Wait until no request is in flight, settling, or waiting in the settle spool."""
        deadline = time.monotonic() + timeout
        while (forwarding.busy() or settling.draining()) and time.monotonic() < deadline:
            time.sleep(0.01)

    def flush_refusals(self) -> None:
        self.idle()
        self.server.run(refusals.flush())


_redis: list = []


def _backend(name: str):
    if name == "local":
        return limiter.LocalBackend()
    if not _redis:
        _redis.append(redis_backend())
    backend = _redis[0]
    backend.reset()
    return backend


# Each test runs on the counters of a single process (`make run`) and on Redis with queued
# settles (production's setting); tests of what differs with settles that write at once ask
# for "redis" themselves.
BACKENDS = ["local", "redis-queued"]


@pytest.fixture(params=BACKENDS)
def gateway(
    request,
    transactional_db,
    catalog,
    personas,
    console_server,
    fake_upstream_url,
    settings,
    tmp_path,
    monkeypatch,
):
    settings.USAGE_ROLLUP_INLINE = True
    settings.USAGE_QUEUE = request.param == "redis-queued"
    settings.GATEWAY_SETTLE_SPOOL_DIR = tmp_path / "settle-spool"
    # Refusals are written when a test says so (a write in the background would meet the
    # test's own reads on SQLite's shared in-memory database).
    monkeypatch.setattr(refusals, "FLUSH_SECONDS", 3600)
    backend = _backend(request.param)
    enforcement.use_backend(backend)
    lookups.clear()
    httpx2.delete(f"{fake_upstream_url}/_log")
    actor = Actor.for_user(personas.admin)
    workspace = WorkspaceFactory(organization=personas.org, name="Production")
    key, secret = workspace_services.api_key_create(actor=actor, workspace=workspace, name="sdk")
    upstream = upstreams.upstream_configure(
        name="fake",
        base_url=fake_upstream_url,
        credential="upstream-secret",
        read_timeout_seconds=2,
        connect_timeout_seconds=2,
    )
    upstreams.model_route_set(
        model=Model.objects.get(api_name="claude-sonnet-4-5"),
        upstream=upstream,
        upstream_model="fake-model",
        display_name="Claude Sonnet 4.5",
    )
    gateway = Gateway(
        url=console_server.url,
        upstream_url=fake_upstream_url,
        secret=secret,
        key=key,
        workspace=workspace,
        org=personas.org,
        actor=actor,
        upstream=upstream,
        server=console_server,
        backend=backend,
    )
    yield gateway
    gateway.idle()
    console_server.run(_forget_refusals())
    enforcement.use_backend(None)
    lookups.clear()
    if request.param != "local":
        backend.reset()


async def _forget_refusals() -> None:
    refusals._tally.clear()
    if refusals._flusher is not None:
        refusals._flusher.cancel()
